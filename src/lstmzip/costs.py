"""What the coded symbols cost, by read position and by base letter: the archive's statistics section.

Gathered while encoding, from the very probabilities the range coder is given (a symbol of probability p
costs -log2 p bits), so the report shows what the models achieved, not an estimate. Costs are counted in
integers (1/4096 bit, from an exact frexp and a table of -log2 of the mantissa), so the sums, and the
archive, depend neither on the order in which blocks or workers add them nor on the machine's log2.

Stored (docs/FORMAT.md, "Statistics section") as exact integer sums, so that the sections of archives
can be merged into the one their concatenated input would have had (`lstmzip join`): per position
bucket and per base letter, bits and symbol counts, for bases and for qualities. Each block chooses its
bucket width alone, as fine as its budget allows (1/1000 of the block's stored bytes, at least MIN_BUDGET);
consecutive blocks form runs: a block whose buckets are no finer than the last run's is added to it (at
that run's width), a finer one starts a new run. That rule is associative, so the runs of two archives
put together are the runs of both inputs' blocks coded in one go, and runs widen strictly, so a section
holds at most MAX_SHIFT + 1 of them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from .container import SECTION_OVERHEAD
from .errors import CorruptArchiveError
from .rows import Rows

VERSION = 2  # of the section's payload (1, the means of lstmzip before joins, was never released); a reader skips a version it does not know
SCALE = 1 << 12  # costs are summed in 1/4096 bit
MAX_BUCKETS = 1024  # position buckets gathered per stream (positions per bucket: a power of two)
MIN_BUDGET = 64  # bytes a section may always take, however small the archive
MAX_SHIFT = 40  # positions per bucket at most 2^40
MAX_PAYLOAD = 1 << 20  # bytes of a payload (the container's limit of a section)
MAX_NUMBER_BITS = 70  # a stored number (uvarint) is at most 10 bytes: sums and their zigzag differences
MAX_COST = 32 * SCALE  # no symbol costs more than 32 bits (probabilities are clipped at 2^-32)
LETTERS = {"bases": "ACGT", "qualities": "ACGTN"}  # N: any base that is not A, C, G or T
_MIN_P = 2.0 ** -32
# -log2(m) for a mantissa m in [0.5, 1), from its top 12 bits (error under 0.0004 bit)
_MANTISSA_COST = np.array([round(-math.log2((4096 + i + 0.5) / 8192) * SCALE) for i in range(4096)], dtype=np.int64)


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


@functools.cache
def _compiled_add():
    """_add compiled by numba, on first use: only encoding adds costs, and `list`, `report` and the decoder
    read the section without loading numba."""
    import numba

    return numba.njit(cache=True)(_add)


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

        add = _compiled_add()

        def observe(step: int, chunk_rows: np.ndarray, symbols: np.ndarray, p: np.ndarray):
            add(p, symbols, letters, chunk_rows, rows.row_offset, rows.row_start, step, self.shift, self.sums,
                 self.counts, self.letter_sums, self.letter_counts)

        return observe

    def coarsened(self, shift: int, size: int = 0) -> "Costs":
        """The same costs in buckets of 2^shift positions (shift >= self.shift), at least size buckets."""
        factor = 1 << (shift - self.shift)
        size = max(size, -(-len(self.sums) // factor))
        fold = lambda a: np.pad(a, (0, size * factor - len(a))).reshape(size, factor).sum(axis=1)  # noqa: E731
        return Costs(shift, fold(self.sums), fold(self.counts), self.letter_sums, self.letter_counts)


def _aligned(a: Costs, b: Costs, shift: int) -> tuple[Costs, Costs]:
    """Both in buckets of 2^shift positions, and as many buckets."""
    size = max(-(-len(c.sums) // (1 << (shift - c.shift))) for c in (a, b))
    return a.coarsened(shift, size), b.coarsened(shift, size)


def _uvarints(values) -> bytes:
    out = bytearray()
    for value in values:
        value = int(value)
        while value >= 0x80:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def _zigzag(d: int) -> int:
    return 2 * d if d >= 0 else -2 * d - 1


def _unzigzag(z: int) -> int:
    return z // 2 if z % 2 == 0 else -(z + 1) // 2


def _deltas(values: np.ndarray) -> list[int]:
    """Zigzag-coded differences, so smooth curves become small numbers. In Python integers."""
    values = values.tolist()
    return [_zigzag(b - a) for a, b in zip([0] + values, values)]


def _differences(a: np.ndarray, b: np.ndarray) -> list[int]:
    """a - b, zigzag-coded: the bases coded against the qualities (which differ by the exceptions)."""
    return [_zigzag(x - y) for x, y in zip(a.tolist(), b.tolist())]


UNIT = 256  # stored sums count 1/16 bit (SCALE / UNIT), rounded per block, then added exactly


def _units(sums: np.ndarray) -> np.ndarray:
    return (sums + UNIT // 2) // UNIT


@dataclass
class Run:
    """Consecutive blocks at one bucket width: bits (in 1/16 bit, each block's rounded) and symbol counts
    of bases and of qualities in buckets of 2^shift positions, all four of as many buckets."""

    shift: int
    base_sums: np.ndarray
    base_counts: np.ndarray
    quality_sums: np.ndarray
    quality_counts: np.ndarray

    @classmethod
    def of_block(cls, bases: Costs, qualities: Costs, shift: int) -> "Run":
        b, q = _aligned(bases, qualities, shift)
        return cls(shift, _units(b.sums), b.counts, _units(q.sums), q.counts)

    def at(self, shift: int, size: int = 0) -> "Run":
        """The same in buckets of 2^shift positions (no finer than these), at least size buckets."""
        factor = 1 << (shift - self.shift)
        size = max(size, -(-len(self.base_sums) // factor))
        fold = lambda a: np.pad(a, (0, size * factor - len(a))).reshape(size, factor).sum(axis=1)  # noqa: E731
        return Run(shift, fold(self.base_sums), fold(self.base_counts), fold(self.quality_sums),
                   fold(self.quality_counts))

    def plus(self, other: "Run") -> "Run":
        """Both added, at this run's width (other's is no finer)."""
        size = max(len(self.base_sums), -(-len(other.base_sums) // (1 << (self.shift - other.shift))))
        a, b = self.at(self.shift, size), other.at(self.shift, size)
        return Run(self.shift, a.base_sums + b.base_sums, a.base_counts + b.base_counts,
                   a.quality_sums + b.quality_sums, a.quality_counts + b.quality_counts)

    def to_bytes(self) -> bytes:
        """uvarints: log2 of the positions per bucket, the bucket count B, the B quality counts as zigzag
        differences from the bucket before, the B quality counts less the base counts (zigzag), and the B
        base sums and the B quality sums, as zigzag differences from the bucket before."""
        fields = [self.shift, len(self.base_sums), *_deltas(self.quality_counts),
                  *_differences(self.quality_counts, self.base_counts), *_deltas(self.base_sums),
                  *_deltas(self.quality_sums)]
        return _uvarints(fields)


@dataclass
class Runs:
    """A member's statistics: its runs, in block order, of strictly widening buckets, and the bits (1/16)
    and counts per letter of all its blocks (bases of A C G T, qualities of A C G T and other)."""

    runs: list[Run] = field(default_factory=list)
    letter_sums: np.ndarray = field(default_factory=lambda: np.zeros(9, dtype=np.int64))
    letter_counts: np.ndarray = field(default_factory=lambda: np.zeros(9, dtype=np.int64))

    def add(self, run: Run) -> None:
        """A run after those so far: into the last one if it is no finer, else a run of its own."""
        if self.runs and run.shift <= self.runs[-1].shift:
            self.runs[-1] = self.runs[-1].plus(run)
        else:
            self.runs.append(run)

    def add_block(self, bases: Costs, qualities: Costs, stored_bytes: int) -> None:
        """A block's costs, at the finest width whose payload (as the section of this block alone) fits in
        max(MIN_BUDGET, stored_bytes // 1000 - the section's framing) bytes, or at one bucket if none does."""
        alone = Runs(letter_sums=np.concatenate((_units(bases.letter_sums[:4]), _units(qualities.letter_sums))),
                     letter_counts=np.concatenate((bases.letter_counts[:4], qualities.letter_counts)))
        budget = max(MIN_BUDGET, stored_bytes // 1000 - SECTION_OVERHEAD)
        shift = max(bases.shift, qualities.shift)
        while True:
            alone.runs = [Run.of_block(bases, qualities, shift)]
            if len(alone.pack()) <= budget or len(alone.runs[0].base_sums) <= 1 or shift >= MAX_SHIFT:
                break
            shift += 1
        self.extend(alone)

    def extend(self, other: "Runs") -> None:
        """Another member's blocks after these (join): the runs coding both inputs at once would give."""
        for run in other.runs:
            self.add(run)
        self.letter_sums = self.letter_sums + other.letter_sums
        self.letter_counts = self.letter_counts + other.letter_counts

    def pack(self) -> bytes:
        """The section's payload: the number of runs, the 9 letter sums, the 5 quality letter counts, the 4
        quality counts less the base counts of A C G T (zigzag), then each run."""
        counts = self.letter_counts
        head = _uvarints([len(self.runs), *self.letter_sums.tolist(), *counts[4:].tolist(),
                          *_differences(counts[4:8], counts[:4])])
        return head + b"".join(run.to_bytes() for run in self.runs)


def _numbers(payload: bytes) -> list[int]:
    if len(payload) > MAX_PAYLOAD:
        raise CorruptArchiveError("statistics section is corrupt (too long)")
    values, value, shift_bits = [], 0, 0
    for byte in payload:
        value |= (byte & 0x7F) << shift_bits
        shift_bits += 7
        if shift_bits > MAX_NUMBER_BITS:
            raise CorruptArchiveError("statistics section is corrupt (bad number)")
        if byte < 0x80:
            values.append(value)
            value, shift_bits = 0, 0
    if shift_bits:
        raise CorruptArchiveError("statistics section is corrupt (truncated)")
    return values


def _undelta(zigzag: list[int]) -> np.ndarray:
    out, value = [], 0
    for z in zigzag:
        value += _unzigzag(z)
        if value < 0 or value >= 1 << 62:
            raise CorruptArchiveError("statistics section is corrupt (impossible costs)")
        out.append(value)
    return np.array(out, dtype=np.int64)


def _array(values: list[int]) -> np.ndarray:
    if any(not 0 <= value < 1 << 62 for value in values):
        raise CorruptArchiveError("statistics section is corrupt (impossible costs)")
    return np.array(values, dtype=np.int64)


def _check_costs(sums: np.ndarray, counts: np.ndarray) -> None:
    """No symbol costs more than 32 bits (each block's rounding may add up to half a unit per symbol)."""
    if any(2 * s * UNIT > c * (2 * MAX_COST + UNIT) for s, c in zip(sums.tolist(), counts.tolist())):
        raise CorruptArchiveError("statistics section is corrupt (impossible costs)")


def unpack(payload: bytes) -> Runs:
    """Parse a version-2 payload, checking every field (a crafted section must be refused cleanly)."""
    values = _numbers(payload)
    if len(values) < 19:
        raise CorruptArchiveError("statistics section is corrupt (truncated)")
    count = values[0]
    if count > MAX_SHIFT + 1:
        raise CorruptArchiveError("statistics section is corrupt (impossible sizes)")
    quality_counts = values[10:15]
    base_counts = [q - _unzigzag(d) for q, d in zip(quality_counts, values[15:19])]
    runs = Runs(letter_sums=_array(values[1:10]), letter_counts=_array(base_counts + quality_counts))
    at = 19
    for _ in range(count):
        if len(values) < at + 2:
            raise CorruptArchiveError("statistics section is corrupt (truncated)")
        shift, buckets = values[at : at + 2]
        at += 2
        if shift > MAX_SHIFT or buckets > MAX_BUCKETS or (runs.runs and shift <= runs.runs[-1].shift):
            raise CorruptArchiveError("statistics section is corrupt (impossible sizes)")
        if len(values) < at + 4 * buckets:
            raise CorruptArchiveError("statistics section is corrupt (truncated)")
        quality_counts = _undelta(values[at : at + buckets])
        base_counts = _array([q - _unzigzag(d) for q, d in zip(quality_counts.tolist(), values[at + buckets : at + 2 * buckets])])
        base_sums = _undelta(values[at + 2 * buckets : at + 3 * buckets])
        quality_sums = _undelta(values[at + 3 * buckets : at + 4 * buckets])
        at += 4 * buckets
        runs.runs.append(Run(shift, base_sums, base_counts, quality_sums, quality_counts))
    if at != len(values):
        raise CorruptArchiveError("statistics section is corrupt (trailing numbers)")
    for run in runs.runs:
        _check_costs(run.base_sums, run.base_counts)
        _check_costs(run.quality_sums, run.quality_counts)
    _check_costs(runs.letter_sums, runs.letter_counts)
    symbols = [sum(int(getattr(run, key).sum()) for run in runs.runs) for key in ("base_counts", "quality_counts")]
    if symbols != [int(runs.letter_counts[:4].sum()), int(runs.letter_counts[4:].sum())]:
        raise CorruptArchiveError("statistics section is corrupt (counts do not add up)")
    return runs


@dataclass
class Statistics:
    """What a statistics section says: mean bits per symbol (None where nothing was coded)."""

    positions_per_bucket: int
    bases_by_position: list
    qualities_by_position: list
    bases_by_letter: dict
    qualities_by_letter: dict


def _means(sums, counts) -> list:
    return [None if c == 0 else round(float(s) * UNIT / float(c) / SCALE, 3) for s, c in zip(list(sums), list(counts))]


def describe(runs: Runs) -> Statistics:
    """Mean bits for the report: by letter over all blocks; by position in the buckets of the first
    (finest) run, a wider run's sums and counts spread evenly over the buckets it covers (exact when
    there is one run, as in any archive whose blocks are alike)."""
    letters_b, letters_q = LETTERS["bases"], LETTERS["qualities"]
    by_letter = (dict(zip(letters_b, _means(runs.letter_sums[:4], runs.letter_counts[:4]))),
                 dict(zip(letters_q, _means(runs.letter_sums[4:], runs.letter_counts[4:]))))
    if not runs.runs:
        return Statistics(1, [], [], *by_letter)
    finest = runs.runs[0].shift
    size = max(len(run.base_sums) << (run.shift - finest) for run in runs.runs)
    spread = {key: np.zeros(size) for key in ("base_sums", "base_counts", "quality_sums", "quality_counts")}
    for run in runs.runs:
        factor = 1 << (run.shift - finest)
        for key, total in spread.items():
            values = getattr(run, key)
            total[: len(values) * factor] += np.repeat(values / factor, factor)
    return Statistics(1 << finest, _means(spread["base_sums"], spread["base_counts"]),
                      _means(spread["quality_sums"], spread["quality_counts"]), *by_letter)
