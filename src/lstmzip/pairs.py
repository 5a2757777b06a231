"""Paired-end input: two FASTQ files with the same reads in the same order, stored as one interleaved stream
(R1 record, R2 record, R1, R2, ...) in blocks cut at pair boundaries.

So the names coder codes each R2 name against its R1 name, `lstmzip cat` writes the interleaved form
aligners read, and each file comes back by taking every other record. Mate 1's file may end without a
newline: the stream then has one (the pair after it must follow), and the block holding mate 1's last
record says so (Block.mate1_newline), so mate 1 alone comes back without it.
"""

from __future__ import annotations

from typing import BinaryIO, Callable, Iterator

import numpy as np

from . import pipeline
from .errors import FastqError, LstmzipError
from .fastq import (MAX_RECORD_BYTES, READ_CHUNK, Block, open_input, read_blocks, record_too_long,
                    refuse_incomplete_record)
from .networks import Learned


class _Records:
    """One input, cut into whole records (four lines each, with their line ends)."""

    def __init__(self, stream: BinaryIO, name: str):
        self.stream, self.name = stream, name
        self.records: list[bytes] = []  # complete records not yet taken
        self.taken = 0  # records handed out so far
        self.rest = b""  # the start of the next record
        self.ended = False
        self.final_newline = True

    def fill(self) -> None:
        """Read on until at least one record is complete or the input ends."""
        while not self.records and not self.ended:
            chunk = self.stream.read(READ_CHUNK)
            if not chunk:
                self._end()
                return
            data = self.rest + chunk
            ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)[3::4] + 1
            starts = np.concatenate(([0], ends[:-1]))
            self.records = [data[a:b] for a, b in zip(starts.tolist(), ends.tolist())]
            self.rest = data[ends[-1]:] if len(ends) else data
            if len(self.rest) > MAX_RECORD_BYTES:
                raise self._error(record_too_long(self._next_line()))

    def _next_line(self) -> int:
        return 4 * (self.taken + len(self.records)) + 1

    def _end(self) -> None:
        self.ended = True
        if not self.rest:
            return
        lines = self.rest.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        if len(lines) < 4:
            try:
                refuse_incomplete_record(lines, self._next_line())
            except FastqError as error:
                raise self._error(error) from None
        self.records, self.rest, self.final_newline = [self.rest], b"", False  # a last record with no newline

    def take(self, count: int) -> list[bytes]:
        taken, self.records = self.records[:count], self.records[count:]
        self.taken += count
        return taken

    def _error(self, error: LstmzipError) -> LstmzipError:
        error.file = self.name
        return error


class PairedInput:
    """Two FASTQ inputs read as one interleaved stream, and the blocks of a paired archive cut from it.
    Errors name the file and its line."""

    def __init__(self, first: BinaryIO, second: BinaryIO, names: tuple[str, str]):
        self.mates = (_Records(open_input(first), names[0]), _Records(open_input(second), names[1]))
        self.unequal: LstmzipError | None = None  # one file ended before the other

    def read(self, size: int = -1) -> bytes:
        """The next pairs, interleaved; b"" at the end of both inputs."""
        first, second = self.mates
        while True:
            for mate in self.mates:
                mate.fill()
            count = min(len(first.records), len(second.records))
            if count:
                ones, twos = first.take(count), second.take(count)
                if not first.final_newline and not first.records:
                    ones[-1] += b"\n"  # mate 1's last record: the stream needs its newline before mate 2's
                return b"".join(part for pair in zip(ones, twos) for part in pair)
            if first.records or second.records:
                short, other = (first, second) if not first.records else (second, first)
                error = LstmzipError(f"ends after {short.taken:,} records (line {4 * short.taken:,}), but "
                                     f"{other.name} has more: the files of a pair must hold the same reads")
                self.unequal = short._error(error)
            return b""

    def blocks(self, params: dict) -> Iterator[Block]:
        """Blocks of whole pairs, cut by params' sizes."""
        pairs = 0
        try:
            for block in read_blocks(self, params["block_records"], params["block_bytes"], group=2):
                pairs += block.records // 2
                first = self.mates[0]
                # mate 1's last record is complete only once its file has ended, so this is known in time
                if first.ended and not first.final_newline and pairs == first.taken:
                    block.mate1_newline = False
                if self.unequal is None:  # else the rest is only parsed: a broken last record is named first
                    yield block
        except FastqError as error:
            raise self._locate(error) from None
        if self.unequal is not None:
            raise self.unequal

    def _locate(self, error: FastqError) -> FastqError:
        """An error at a line of the interleaved stream, at the line of the file it came from."""
        if error.file is not None:
            return error
        record, line = divmod(error.line - 1, 4)
        located = FastqError(4 * (record // 2) + line + 1, error.detail)
        located.file = self.mates[record % 2].name
        return located


def compress_pair(first: BinaryIO, second: BinaryIO, dst: BinaryIO, level: int, threads: int,
                  mates: tuple[dict, dict], progress: Callable[[int], None] | None = None,
                  learned: Learned | None = None, block_bytes: int | None = None,
                  mate1_names: bool = False, model=None) -> pipeline.Stats:
    """Write a paired archive of two FASTQ streams; mates: each file's stored name and mtime; model: a
    modelfile.Model to use (as pipeline.compress_stream)."""
    level, params, learned, about = pipeline.setup(level, block_bytes, learned, model)
    source = PairedInput(first, second, (mates[0]["name"] or "mate 1", mates[1]["name"] or "mate 2"))
    about = {"name": None, "mtime": None, "pair": [{"name": m["name"], "mtime": m["mtime"]} for m in mates], **about}
    return pipeline.compress_blocks(source.blocks(params), dst, level, params, threads, about, progress, learned,
                                    mate1_names)
