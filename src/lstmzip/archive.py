"""Reading archives as users see them: every member in order (pipes too), one mate of a paired archive
and any range of records or one block (seekable archives: only the blocks that hold them are decoded,
found from the indexes by members.py). The CLI and the Python API both read through these functions.

Records are numbered from 0 across all members; in a paired member, a range counts pairs (mate 1 and
mate 2 together). Blocks are numbered from 1 across all members, as in lstmzip's messages.
"""

from __future__ import annotations

import contextlib
from typing import BinaryIO, Callable, Iterator

import numpy as np

from . import members, pipeline
from .errors import LstmzipError
from .fastq import format_block, select_records


def _not_paired(member: members.Member) -> LstmzipError:
    where = f"member {member.number} of the archive" if member.number > 1 else "the archive"
    return LstmzipError(f"{where} is not paired, so it has no mates to choose from")


def block_bytes(decoded: pipeline.Decoded, mate: int | None = None, start: int = 0, stop: int | None = None) -> bytes:
    """The exact bytes of records (pairs in a paired member) start..stop-1 of a decoded block: all of them
    (interleaved in a paired member), or mate 1's or mate 2's alone."""
    block, member = decoded.block, decoded.member
    count = members.units(member, block.records)
    stop = count if stop is None else stop
    if mate is None:
        if start == 0 and stop == count:
            return decoded.raw
        step = 2 if member.paired else 1
        index = np.arange(start * step, stop * step)
        return format_block(select_records(block, index, block.final_newline or stop < count))
    if not member.paired:
        raise _not_paired(member)
    # whether mate 1's or mate 2's last record here ends with a newline (only the last one of its file may not)
    ends = block.mate1_newline if mate == 1 else block.final_newline
    return format_block(select_records(block, np.arange(2 * start + mate - 1, 2 * stop, 2), ends or stop < count))


def read(src: BinaryIO, threads: int = 0, mate: int | None = None, progress: Callable[[int], None] | None = None,
         stats: pipeline.Stats | None = None) -> Iterator[bytes]:
    """The bytes of every member in order, as stored (interleaved in paired members) or one mate's."""
    opened: list[members.Member] = []
    with contextlib.closing(pipeline.decode_members(src, threads, progress, stats, opened)) as decoded_blocks:
        for decoded in decoded_blocks:  # closed (its workers stopped) when a reader stops early
            yield block_bytes(decoded, mate)
    if mate is not None:  # a member without blocks has not been looked at
        for member in opened:
            if not member.paired:
                raise _not_paired(member)


def read_mates(src: BinaryIO, threads: int = 0, progress: Callable[[int], None] | None = None,
               stats: pipeline.Stats | None = None) -> Iterator[tuple[bytes, bytes]]:
    """Mate 1's and mate 2's bytes of each block in turn, of an archive whose members are all paired."""
    opened: list[members.Member] = []
    with contextlib.closing(pipeline.decode_members(src, threads, progress, stats, opened)) as decoded_blocks:
        for decoded in decoded_blocks:
            yield block_bytes(decoded, 1), block_bytes(decoded, 2)
    for member in opened:
        if not member.paired:
            raise _not_paired(member)


def _seekable(f: BinaryIO) -> None:
    try:
        seekable = f.seekable()
    except (AttributeError, ValueError):
        seekable = False
    if not seekable:
        raise LstmzipError("reading a range of records or a block needs a seekable archive (a file, not a pipe)")


def read_range(f: BinaryIO, records: slice | None = None, block: int | None = None, mate: int | None = None,
               threads: int = 0, stats: pipeline.Stats | None = None) -> Iterator[bytes]:
    """Records records.start..records.stop-1 (a Python slice over the whole archive; pairs in paired
    members), or block number `block` (from 1), decoding only the blocks that hold them. The archive's
    index is read at once (errors too); the blocks as the bytes are taken."""
    _seekable(f)
    rows = members.block_rows(members.read(f))
    if block is not None:
        if not 1 <= block <= len(rows):
            raise LstmzipError(f"there is no block {block}: the archive has {len(rows)}")
        chosen = [(rows[block - 1], 0, rows[block - 1].count)]
    else:
        total = rows[-1].first + rows[-1].count if rows else 0
        start, stop, step = (records or slice(None)).indices(total)
        if step != 1:
            raise ValueError("a range of records has no step")
        chosen = [(row, max(start - row.first, 0), min(stop - row.first, row.count)) for row in rows
                  if row.first < stop and start < row.first + row.count]
    if mate is not None:
        for row, _, _ in chosen:
            if not row.member.paired:
                raise _not_paired(row.member)
    where = [(row.member, row.number, row.stored.offset, row.info) for row, _, _ in chosen]
    decoded = pipeline.decode_at(f, where, threads, stats)

    def chunks() -> Iterator[bytes]:
        with contextlib.closing(decoded):  # stops the workers when the reader stops early
            for one, (_, start, stop) in zip(decoded, chosen):
                yield block_bytes(one, mate, start, stop)

    return chunks()
