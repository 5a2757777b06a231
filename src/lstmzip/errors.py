"""Exceptions that the CLI turns into one-line messages and exit status 1, and the Python API raises."""

from __future__ import annotations


class LstmzipError(Exception):
    """Base class: any error a user can cause (bad input, corrupt archive, I/O)."""

    file: str | None = None  # the file it is about, where that is not the one the command was given (a pair)

    def __str__(self) -> str:
        return f"{self.file}: {self.message}" if self.file else self.message

    @property
    def message(self) -> str:
        """The message without the file's name."""
        return super().__str__()


class FastqError(LstmzipError):
    """The input is not FASTQ. The message names the line: 'line 4123: ...'."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.detail = message

    def __reduce__(self):  # so that it crosses from a worker process intact
        return FastqError, (self.line, self.detail)


class CorruptArchiveError(LstmzipError):
    """The archive is damaged, truncated, or was not written by lstmzip."""


class UsageError(LstmzipError):
    """The options do not fit the input (exit status 2, as for any usage error): -o once for a paired
    archive, two files with no common name and no -o."""


class ModelFileError(LstmzipError):
    """A model file (`lstmzip train`) is damaged, truncated, foreign, or for another format version."""
