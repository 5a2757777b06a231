"""Exceptions that the CLI turns into one-line messages and exit status 1."""


class LstmzipError(Exception):
    """Base class: any error a user can cause (bad input, corrupt archive, I/O)."""


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
