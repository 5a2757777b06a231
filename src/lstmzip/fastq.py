"""Byte-exact FASTQ reading and writing.

Biopython normalises records (it drops the text after '+' and the line endings), so the lossless path
has its own reader. A record is exactly four lines; wrapped (multi-line) FASTQ is refused. Everything
needed to rebuild the input byte for byte is kept: per-line CR flags, the form of the '+' line, and
whether the file ended with a newline.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

import numpy as np

from .errors import FastqError

# '+' line forms, stored per record.
PLUS_BARE, PLUS_NAME, PLUS_OTHER = 0, 1, 2

READ_CHUNK = 1 << 22
# The longest record (four lines with their line ends) lstmzip stores: 128 Mbp, 30 times the longest
# reads sequenced. Archives rely on it (a block exceeds its size by at most one record), and it bounds
# the memory that input without line ends can take.
MAX_RECORD_BYTES = 1 << 28


@dataclass
class Block:
    """The records of one block, as columns."""

    names: list[bytes]  # header lines without '@' and without the line ending
    seq: np.ndarray  # uint8, all sequences concatenated
    qual: np.ndarray  # uint8, all qualities concatenated
    lengths: np.ndarray  # int64, one per record
    layout: np.ndarray  # uint8 per record: bits 0-3 = CR before the LF of lines 1-4, bits 4-5 = '+' form
    plus_texts: list[bytes] = field(default_factory=list)  # '+' line texts of PLUS_OTHER records
    final_newline: bool = True  # False only for a last record with no newline at the end of the file
    # Paired archives (records R1, R2, R1, ...): False where mate 1's last record here ended its file without
    # a newline. The block's bytes have that newline (so the pair after it can follow); mate 1 alone has not.
    mate1_newline: bool = True

    @property
    def records(self) -> int:
        return len(self.names)


def open_input(raw: BinaryIO) -> BinaryIO:
    """Wrap a byte stream so gzip input (found by its magic bytes) is read transparently."""
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered, mode="rb")
    return buffered


def _describe_byte(value: int) -> str:
    return f"byte 0x{value:02x}" if value < 33 or value > 126 else f"character {chr(value)!r}"


def _parse_records(lines: list[bytes], first_line: int, final_newline: bool) -> Block:
    """Turn 4*n lines (LF removed) into a Block; first_line is the 1-based number of lines[0]."""
    n = len(lines) // 4
    heads, seqs, pluses, quals = lines[0::4], lines[1::4], lines[2::4], lines[3::4]
    layout = np.zeros(n, dtype=np.uint8)
    if any(line.endswith(b"\r") for line in lines):
        for k, column in enumerate((heads, seqs, pluses, quals)):
            for i, line in enumerate(column):
                if line.endswith(b"\r"):
                    column[i] = line[:-1]
                    layout[i] |= 1 << k

    for i, head in enumerate(heads):
        if not head.startswith(b"@"):
            if head.startswith(b">"):
                what = "a FASTA header"
            else:
                what = repr(head[:20].decode("latin-1")) if head else "an empty line"
            raise FastqError(first_line + 4 * i, f"expected a name line starting with '@', found {what}")
    names = [head[1:] for head in heads]

    plus_texts = []
    for i, plus in enumerate(pluses):
        if plus == b"+":
            continue
        if not plus.startswith(b"+"):
            raise FastqError(
                first_line + 4 * i + 2,
                "expected a '+' line (wrapped multi-line FASTQ is not supported)",
            )
        if plus[1:] == names[i]:
            layout[i] |= PLUS_NAME << 4
        else:
            layout[i] |= PLUS_OTHER << 4
            plus_texts.append(plus[1:])

    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=n)
    qual_lengths = np.fromiter(map(len, quals), dtype=np.int64, count=n)
    bad = np.flatnonzero(lengths != qual_lengths)
    if bad.size:
        i = int(bad[0])
        raise FastqError(
            first_line + 4 * i + 3,
            f"quality line has {qual_lengths[i]} characters, sequence has {lengths[i]}",
        )

    seq = np.frombuffer(b"".join(seqs), dtype=np.uint8)
    qual = np.frombuffer(b"".join(quals), dtype=np.uint8)
    for column, what, offset in ((seq, "sequence", 1), (qual, "quality", 3)):
        bad = np.flatnonzero((column < 33) | (column > 126))
        if bad.size:
            pos = int(bad[0])
            i = int(np.searchsorted(np.cumsum(lengths), pos, side="right"))
            raise FastqError(
                first_line + 4 * i + offset,
                f"{what} line contains {_describe_byte(int(column[pos]))}",
            )
    return Block(names, seq, qual, lengths, layout, plus_texts, final_newline)


def read_blocks(stream: BinaryIO, max_records: int, max_bytes: int, group: int = 1) -> Iterator[Block]:
    """Yield blocks of at most max_records records, each closed at the first record that brings it to
    max_bytes input bytes or more. The cuts depend only on the content, never on how reads split it.
    group: blocks hold whole groups of this many records (2: the pairs of an interleaved stream)."""
    if max_records < group:
        raise ValueError("a block must hold at least one group of records")
    max_records -= max_records % group
    pending = b""  # an incomplete last line, carried to the next chunk
    lines: list[bytes] = []  # complete lines (LF removed) not yet in a block
    first_line = 1
    eof = False
    final_newline = True
    while not eof:
        chunk = stream.read(READ_CHUNK)
        eof = not chunk
        lines += (pending + chunk).split(b"\n")
        pending = b"" if eof else lines.pop()
        tail = len(lines) - len(lines) % 4  # the record still incomplete, checked before it grows further
        if sum(map(len, lines[tail:])) + len(lines) - tail + len(pending) > MAX_RECORD_BYTES:
            raise record_too_long(first_line + tail)
        if eof:
            final_newline = lines[-1] == b""
            if final_newline:
                lines.pop()
        while len(lines) >= 4:
            complete = len(lines) // 4
            line_sizes = np.fromiter(map(len, lines[: 4 * complete]), dtype=np.int64, count=4 * complete)
            record_sizes = line_sizes.reshape(-1, 4).sum(axis=1) + 4
            too_long = np.flatnonzero(record_sizes > MAX_RECORD_BYTES)
            if too_long.size:
                raise record_too_long(first_line + 4 * int(too_long[0]))
            reached = np.flatnonzero(np.cumsum(record_sizes) >= max_bytes)
            take = min(max_records, int(reached[0]) + 1 if reached.size else complete + 1)
            take += -take % group
            if take > complete:
                if not eof:
                    break  # no limit reached yet: wait for more input
                take = complete
            last = eof and take == complete and len(lines) == 4 * take
            yield _parse_records(lines[: 4 * take], first_line, final_newline or not last)
            del lines[: 4 * take]
            first_line += 4 * take
    if lines:
        refuse_incomplete_record(lines, first_line)


def record_too_long(line: int) -> FastqError:
    return FastqError(line, f"record is longer than {MAX_RECORD_BYTES} bytes, the most lstmzip can store")


def refuse_incomplete_record(lines: list[bytes], first_line: int) -> None:
    """Raise for 1-3 lines left at the end of the input, naming the first real fault."""
    if not lines[0].startswith(b"@"):
        _parse_records(lines + [b""] * (4 - len(lines)), first_line, True)  # raises for the name line
    if len(lines) == 3 and not lines[2].startswith(b"+"):
        _parse_records(lines + [b""], first_line, True)  # raises for the '+' line
    missing = ("sequence", "'+'", "quality")[len(lines) - 1]
    raise FastqError(first_line + len(lines), f"unexpected end of file: the record has no {missing} line")


def format_block(block: Block) -> bytes:
    """The exact input bytes of a block."""
    out = []
    offsets = np.concatenate(([0], np.cumsum(block.lengths)))
    seq = block.seq.tobytes()
    qual = block.qual.tobytes()
    ends = [b"\n", b"\r\n"]
    plus_texts = iter(block.plus_texts)
    for i, name in enumerate(block.names):
        flags = int(block.layout[i])
        start, stop = offsets[i], offsets[i + 1]
        form = flags >> 4
        plus = b"+" if form == PLUS_BARE else b"+" + (name if form == PLUS_NAME else next(plus_texts))
        out += (
            b"@", name, ends[flags & 1],
            seq[start:stop], ends[(flags >> 1) & 1],
            plus, ends[(flags >> 2) & 1],
            qual[start:stop], ends[(flags >> 3) & 1],
        )
    if not block.final_newline and out:
        out[-1] = out[-1][:-1]
    return b"".join(out)


def select_records(block: Block, index: np.ndarray, final_newline: bool = True) -> Block:
    """The records at `index` (increasing) as a block of their own; final_newline: whether its last
    record ends with a newline."""
    index = np.asarray(index, dtype=np.int64)
    lengths = block.lengths[index]
    starts = (np.cumsum(block.lengths) - block.lengths)[index]
    ends = np.cumsum(lengths)
    # the chosen reads' symbols: position k of the output comes from its read's start plus k - (where it starts here)
    positions = np.arange(ends[-1] if len(ends) else 0) + np.repeat(starts - (ends - lengths), lengths)
    other = block.layout >> 4 == PLUS_OTHER
    text_of = np.cumsum(other) - 1  # a PLUS_OTHER record's place among the block's '+' texts
    plus_texts = [block.plus_texts[text_of[i]] for i in index if other[i]]
    return Block([block.names[i] for i in index], block.seq[positions], block.qual[positions], lengths,
                 block.layout[index], plus_texts, final_newline)
