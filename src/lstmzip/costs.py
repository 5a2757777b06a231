"""What the coded symbols cost, by read position and by base letter: the archive's statistics section.

Gathered while encoding, from the very probabilities the range coder is given (a symbol of probability p
costs -log2 p bits), so the report shows what the models achieved, not an estimate. Costs are counted in
integers (1/4096 bit, from an exact frexp and a table of -log2 of the mantissa), so the sums, and the
archive, depend neither on the order in which blocks or workers add them nor on the machine's log2.

Stored (docs/FORMAT.md, "Statistics section") as mean millibits per symbol: per position bucket and per
base letter, for bases and for qualities. The buckets are as fine as a budget allows: at most 1/1000 of
the archive's bytes (or MIN_BUDGET bytes for tiny archives); a long-read or a small archive gets wider
buckets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np

from .errors import CorruptArchiveError
from .rows import Rows

VERSION = 1  # of the section's payload; a reader skips a version it does not know
SCALE = 1 << 12  # costs are summed in 1/4096 bit
MAX_BUCKETS = 1024  # position buckets gathered per stream (positions per bucket: a power of two)
MIN_BUDGET = 64  # bytes a section may always take, however small the archive
MAX_PAYLOAD = 1 << 16  # bytes of a payload (MAX_BUCKETS x 2 streams x at most 3 bytes, and a few more)
MAX_MILLIBITS = 40_000  # no symbol costs more than 32 bits (probabilities are clipped at 2^-32)
LETTERS = {"bases": "ACGT", "qualities": "ACGTN"}  # N: any base that is not A, C, G or T
_MIN_P = 2.0 ** -32
# -log2(m) for a mantissa m in [0.5, 1), from its top 12 bits (error under 0.0004 bit)
_MANTISSA_COST = np.array([round(-math.log2((4096 + i + 0.5) / 8192) * SCALE) for i in range(4096)], dtype=np.int64)


@numba.njit(cache=True)
def _add(p, symbols, letters, rows, row_offset, row_start, step, shift, sums, counts, letter_sums, letter_counts):
    """Add one coded chunk: symbol j (of row rows[j]) had probability p[j, symbols[j]]; its base letter is
    letters[row_start[rows[j]] + step] (letters empty: the symbol itself)."""
    for j in range(len(symbols)):
        mantissa, exponent = math.frexp(max(p[j, symbols[j]], _MIN_P))
        cost = _MANTISSA_COST[int(mantissa * 8192) - 4096] - exponent * SCALE
        letter = letters[row_start[rows[j]] + step] if len(letters) else symbols[j]
        bucket = (row_offset[rows[j]] + step) >> shift
        sums[bucket] += cost
        counts[bucket] += 1
        letter_sums[letter] += cost
        letter_counts[letter] += 1


def bucket_shift(max_length: int) -> int:
    """log2 of the positions per bucket that keeps a read of max_length within MAX_BUCKETS buckets."""
    shift = 0
    while -(-max_length >> shift) > MAX_BUCKETS:
        shift += 1
    return shift


@dataclass
class Costs:
    """Bits (1/4096) and symbol counts of one stream: per position bucket and per letter."""

    shift: int = 0
    sums: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    letter_sums: np.ndarray = field(default_factory=lambda: np.zeros(5, dtype=np.int64))
    letter_counts: np.ndarray = field(default_factory=lambda: np.zeros(5, dtype=np.int64))

    @classmethod
    def for_reads(cls, lengths: np.ndarray) -> "Costs":
        max_length = int(lengths.max()) if len(lengths) else 0
        shift = bucket_shift(max_length)
        buckets = -(-max_length >> shift)
        return cls(shift, np.zeros(buckets, dtype=np.int64), np.zeros(buckets, dtype=np.int64))

    def observer(self, rows: Rows, letters: np.ndarray | None = None):
        """A callback for coder.encode: (step, rows, symbols, probabilities) of each coded chunk.
        letters: the block's base codes (0-3 A C G T, 4 other) in read order, whose letter each symbol is
        counted under, or None when the symbols are the bases themselves."""
        letters = np.zeros(0, dtype=np.uint8) if letters is None else letters

        def observe(step: int, chunk_rows: np.ndarray, symbols: np.ndarray, p: np.ndarray):
            _add(p, symbols, letters, chunk_rows, rows.row_offset, rows.row_start, step, self.shift, self.sums,
                 self.counts, self.letter_sums, self.letter_counts)

        return observe

    def coarsened(self, shift: int, size: int = 0) -> "Costs":
        """The same costs in buckets of 2^shift positions (shift >= self.shift), at least size buckets."""
        factor = 1 << (shift - self.shift)
        size = max(size, -(-len(self.sums) // factor))
        fold = lambda a: np.pad(a, (0, size * factor - len(a))).reshape(size, factor).sum(axis=1)  # noqa: E731
        return Costs(shift, fold(self.sums), fold(self.counts), self.letter_sums, self.letter_counts)

    def merged(self, other: "Costs") -> "Costs":
        shift = max(self.shift, other.shift)
        a, b = _aligned(self, other, shift)
        return Costs(shift, a.sums + b.sums, a.counts + b.counts,
                     a.letter_sums + b.letter_sums, a.letter_counts + b.letter_counts)


def _aligned(a: Costs, b: Costs, shift: int) -> tuple[Costs, Costs]:
    """Both in buckets of 2^shift positions, and as many buckets."""
    size = max(-(-len(c.sums) // (1 << (shift - c.shift))) for c in (a, b))
    return a.coarsened(shift, size), b.coarsened(shift, size)


def _millibits(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean millibits per symbol, rounded; -1 where nothing was coded. In Python integers: sums x 1000
    could pass 2^63 on a huge archive."""
    return np.array([(s * 1000 + c * (SCALE // 2)) // (c * SCALE) if c else -1
                     for s, c in zip(sums.tolist(), counts.tolist())], dtype=np.int64)


def _uvarints(values) -> bytes:
    out = bytearray()
    for value in values:
        value = int(value)
        while value >= 0x80:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def _deltas(values: np.ndarray) -> np.ndarray:
    """Zigzag-coded differences, so smooth curves become small numbers."""
    d = np.diff(values.astype(np.int64), prepend=0)
    return np.where(d >= 0, 2 * d, -2 * d - 1)


def _payload(bases: Costs, qualities: Costs) -> bytes:
    """uvarints: log2 of the positions per bucket, the bucket count, 4 + 5 letter means (bases of A C G T,
    qualities of A C G T N), then the bucket means of bases and of qualities as zigzag differences. A
    mean is stored as millibits + 1, 0 for nothing coded. Not LZMA-compressed: on these numbers it saved
    under 7 % (17 % at the finest buckets of nanopore reads) and costs 30 ms a call."""
    fields = [bases.shift, len(bases.sums)]
    fields += list(_millibits(bases.letter_sums[:4], bases.letter_counts[:4]) + 1)
    fields += list(_millibits(qualities.letter_sums, qualities.letter_counts) + 1)
    for costs in (bases, qualities):
        fields += list(_deltas(_millibits(costs.sums, costs.counts) + 1))
    return _uvarints(fields)


def pack(bases: Costs, qualities: Costs, budget: int) -> bytes:
    """The section's payload, with the finest position buckets that fit in max(budget, MIN_BUDGET) bytes
    (the coarsest, one bucket, if none does)."""
    shift = max(bases.shift, qualities.shift)
    while True:
        b, q = _aligned(bases, qualities, shift)
        payload = _payload(b, q)
        if len(payload) <= max(budget, MIN_BUDGET) or len(b.sums) <= 1:
            return payload
        shift += 1


@dataclass
class Statistics:
    """What a statistics section says: mean bits per symbol (None where nothing was coded)."""

    positions_per_bucket: int
    bases_by_position: list
    qualities_by_position: list
    bases_by_letter: dict
    qualities_by_letter: dict


def unpack(payload: bytes) -> Statistics:
    """Parse a version-1 payload, checking every field (a crafted section must be refused cleanly)."""
    if len(payload) > MAX_PAYLOAD:
        raise CorruptArchiveError("statistics section is corrupt (too long)")
    values, value, shift_bits = [], 0, 0
    for byte in payload:
        value |= (byte & 0x7F) << shift_bits
        shift_bits += 7
        if shift_bits > 63:
            raise CorruptArchiveError("statistics section is corrupt (bad number)")
        if byte < 0x80:
            values.append(value)
            value, shift_bits = 0, 0
    if shift_bits or len(values) < 2 + 9:
        raise CorruptArchiveError("statistics section is corrupt (truncated)")
    shift, buckets = values[0], values[1]
    if shift > 40 or buckets > MAX_BUCKETS or len(values) != 2 + 9 + 2 * buckets:
        raise CorruptArchiveError("statistics section is corrupt (impossible sizes)")

    def bits(stored: list[int]) -> list:
        if any(v > MAX_MILLIBITS + 1 for v in stored):
            raise CorruptArchiveError("statistics section is corrupt (impossible costs)")
        return [None if v == 0 else round((v - 1) / 1000, 3) for v in stored]

    def undelta(zigzag: list[int]) -> list[int]:
        if any(v > 2 * (MAX_MILLIBITS + 1) for v in zigzag):  # no difference of two valid means is larger
            raise CorruptArchiveError("statistics section is corrupt (impossible costs)")
        d = np.array(zigzag, dtype=np.int64)
        d = np.where(d % 2 == 0, d // 2, -(d + 1) // 2)
        out = np.cumsum(d)
        if len(out) and (out.min() < 0 or out.max() > MAX_MILLIBITS + 1):
            raise CorruptArchiveError("statistics section is corrupt (impossible costs)")
        return out.tolist()

    rest = values[2:]
    return Statistics(
        positions_per_bucket=1 << shift,
        bases_by_letter=dict(zip(LETTERS["bases"], bits(rest[:4]))),
        qualities_by_letter=dict(zip(LETTERS["qualities"], bits(rest[4:9]))),
        bases_by_position=bits(undelta(rest[9 : 9 + buckets])),
        qualities_by_position=bits(undelta(rest[9 + buckets :])),
    )
