"""Match model for bases: the last earlier occurrence of a row's last k bases, on either strand, predicts
the next base.

Overlapping reads (sorted exports, small genomes, amplicons, duplicates) repeat long stretches that
hashed context models forget. Every coded base is kept in a history (2 bits a base, each row at its own
place); a hash table maps each k-mer (the smaller of it and its reverse complement) to where it last
occurred as read and where it last occurred reverse-complemented. A row without a match looks its last k
bases up; the base after an occurrence on the same strand, or the complement of the base before one on
the other strand, comes next, and while the prediction holds the match simply advances (backwards along
the other strand). After a miss the alignment is kept (a substitution) until a new match is found or
misses pile up. The prediction enters the base mixer as three stretched node probabilities from adaptive
counters learnt per match length and recent misses, and the match state selects the mixer's weights.

Coding order (coder.py): step p codes position p of all rows, chunk by chunk, and a chunk is predicted
before any of its symbols is known. The history and the table are written only as symbols are coded,
identically in encoder and decoder, and a k-mer enters the table only once the base after it is coded,
so a row only ever reads what the decoder already has. Everything is integer arithmetic.
"""

from __future__ import annotations

import numba
import numpy as np

from .bases import _prefetch, _train
from .logistic import STRETCH
from .rows import Rows

U64 = np.uint64
HASH_MULTIPLIER = U64(0x9E3779B97F4A7C15)
CHECK_MULTIPLIER = U64(0xD6E8FEB86659FD93)
MAX_LENGTH = 32  # lengths are counted up to here (the last length bucket)
MISS_STATES = 4  # 0-3 misses since the match was found; the fourth ends it
# match length (k and more when found, 0 after a miss) -> counter context: every length up to 11, then
# 12-15, 16-23, 24-31, 32 and more
LENGTH_BUCKET = np.array([min(n, 11) if n < 12 else 12 if n < 16 else 13 if n < 24 else 14 if n < 32 else 15
                          for n in range(MAX_LENGTH + 1)], dtype=np.int64)
LENGTH_BUCKETS = 16
# the base mixer's weight set: 0 no prediction, 1 recently missed, 2 length 12-23, 3 longer
WEIGHT_SETS = 4
SET_OF_CONTEXT = np.array([1 if misses or bucket < 12 else 2 if bucket < 14 else 3
                           for bucket in range(LENGTH_BUCKETS) for misses in range(MISS_STATES)], dtype=np.int8)
AHEAD = 64  # rows whose table slots are fetched into the cache before they are used
POSITION_BITS, CHECK_BITS = 16, 16  # a table entry: row (32 bits), position after the k-mer, check bits


@numba.njit(cache=True, inline="always")
def _reverse_complement(kmer, k):
    """The reverse complement of a k-mer of 2-bit codes (A C G T = 0 1 2 3, so complement = 3 - code)."""
    x = ~kmer
    x = ((x >> U64(2)) & U64(0x3333333333333333)) | ((x & U64(0x3333333333333333)) << U64(2))
    x = ((x >> U64(4)) & U64(0x0F0F0F0F0F0F0F0F)) | ((x & U64(0x0F0F0F0F0F0F0F0F)) << U64(4))
    x = ((x >> U64(8)) & U64(0x00FF00FF00FF00FF)) | ((x & U64(0x00FF00FF00FF00FF)) << U64(8))
    x = ((x >> U64(16)) & U64(0x0000FFFF0000FFFF)) | ((x & U64(0x0000FFFF0000FFFF)) << U64(16))
    x = (x >> U64(32)) | (x << U64(32))
    return x >> U64(64 - 2 * k)


@numba.njit(cache=True, inline="always")
def _key(hist, k):
    """A row's last k bases (from the base model's history word) as a table key: the smaller of the k-mer
    and its reverse complement, and whether that is the k-mer as read."""
    forward = hist & ((U64(1) << U64(2 * k)) - U64(1))
    reverse = _reverse_complement(forward, k)
    return (forward, True) if forward <= reverse else (reverse, False)


@numba.njit(cache=True, inline="always")
def _slot(kmer, bits):
    """The first of a k-mer's two table entries (as read, reverse-complemented: one cache line)."""
    return np.int64(((kmer + U64(1)) * HASH_MULTIPLIER) >> U64(65 - bits)) * 2


@numba.njit(cache=True, inline="always")
def _check(kmer):
    """16 more bits of the k-mer, kept in its entry, so a slot that holds another k-mer is told apart."""
    return ((kmer + U64(1)) * CHECK_MULTIPLIER) >> U64(64 - CHECK_BITS)


@numba.njit(cache=True, inline="always")
def _base(history, row_base, row, position):
    at = row_base[row] + position
    return np.int64((history[at >> 2] >> ((at & 3) * 2)) & 3)


@numba.njit(cache=True, nogil=True)
def _predict(rows, step, k, bits, hist, live, table, history, row_base, slots, match_row, match_position, direction,
             length, misses, contexts, expected, counters, sets, out):
    """out[r]: the stretched probabilities of the three binary nodes (bases.py) for each row r in rows,
    0 where the row has no prediction; sets[r]: its mixer weight set."""
    steps = len(live)
    coded_before = rows[0] if len(rows) else 0  # rows before this chunk are coded at this step
    for j in range(-AHEAD, len(rows)):
        if j + AHEAD < len(rows):  # start loading the table slot row j + AHEAD looks up
            rr = rows[j + AHEAD]
            if length[rr] == 0 and step >= k:
                kmer, same = _key(hist[rr], k)
                slots[rr] = _slot(kmer, bits) + (0 if same else 1)  # this strand's entry; the other one is next to it
                _prefetch(table, slots[rr])
        if j < 0:
            continue
        r = rows[j]
        if length[r] == 0 and step >= k:  # no match, or a miss: look one up, on the same strand first
            kmer, same = _key(hist[r], k)
            check = _check(kmer)
            entry = table[slots[r]]
            if entry != 0 and entry & U64((1 << CHECK_BITS) - 1) == check:
                # the base after the k-mer's last occurrence comes next
                match_row[r] = np.int64(entry >> U64(32))
                match_position[r] = np.int64((entry >> U64(CHECK_BITS)) & U64((1 << POSITION_BITS) - 1))
                direction[r], length[r], misses[r] = 1, k, 0
            else:
                entry = table[slots[r] ^ 1]
                if entry != 0 and entry & U64((1 << CHECK_BITS) - 1) == check:
                    # the k-mer occurred on the other strand: the complement of the base before it comes next
                    before = np.int64((entry >> U64(CHECK_BITS)) & U64((1 << POSITION_BITS) - 1)) - k - 1
                    if before >= 0:
                        match_row[r], match_position[r] = np.int64(entry >> U64(32)), before
                        direction[r], length[r], misses[r] = -1, k, 0
        e = -1
        if match_row[r] >= 0:
            m, p = match_row[r], match_position[r]
            if p < 0 or p >= steps or m >= live[p] or (p == step and m >= coded_before):
                match_row[r], length[r], misses[r] = -1, 0, 0  # past its row's end, or not coded yet
            else:
                e = _base(history, row_base, m, p)
                if direction[r] < 0:
                    e = 3 - e
        expected[r] = e
        if e < 0:
            out[r, 0], out[r, 1], out[r, 2] = 0, 0, 0
            sets[r] = 0
            continue
        context = LENGTH_BUCKET[length[r]] * MISS_STATES + misses[r]
        sets[r] = SET_OF_CONTEXT[context]
        contexts[r] = context
        high = e >> 1
        s = STRETCH[(np.int64(counters[2 * context] & np.uint32(0xFFFF)) ^ 32768) >> 4]
        out[r, 0] = s if high else -s
        s = STRETCH[(np.int64(counters[2 * context + 1] & np.uint32(0xFFFF)) ^ 32768) >> 4]
        out[r, 1 + high] = s if e & 1 else -s
        out[r, 2 - high] = 0


@numba.njit(cache=True, nogil=True)
def _update(step, first_row, symbols, coded, k, bits, hist, table, history, row_base, slots, match_row,
            match_position, direction, length, misses, contexts, expected, counters, limit):
    """Before the base model's update: hist still holds each row's bases before this step."""
    for j in range(-AHEAD, len(symbols)):
        if j + AHEAD < len(symbols) and step >= k:  # start loading the table slot row j + AHEAD writes
            rr = first_row + j + AHEAD
            kmer, same = _key(hist[rr], k)
            slots[rr] = _slot(kmer, bits) + (0 if same else 1)
            _prefetch(table, slots[rr])
        if j < 0:
            continue
        r = first_row + j
        x = np.int64(symbols[j])  # 0 where nothing was coded (the base model's context counts it as A)
        at = row_base[r] + step
        history[at >> 2] |= np.uint8(x << ((at & 3) * 2))  # the history starts zeroed
        if match_row[r] >= 0:
            e = expected[r] if coded[j] else -1  # predict() checked the base it points at, if coded
            if e >= 0:
                c = 2 * np.int64(contexts[r])
                _train(counters, c, (x >> 1) == (e >> 1), limit)
                if (x >> 1) == (e >> 1):
                    _train(counters, c + 1, (x & 1) == (e & 1), limit)
            if e >= 0 and x == e:
                length[r] = min(length[r] + 1, MAX_LENGTH)
                if misses[r] and length[r] >= 16:
                    misses[r] -= 1
            elif e >= 0:  # keep the alignment (a substitution), but look for a new match
                length[r] = 0
                misses[r] += 1
                if misses[r] >= MISS_STATES:
                    match_row[r], misses[r] = -1, 0
            else:  # a base that is not A, C, G or T ends the match
                match_row[r], length[r], misses[r] = -1, 0, 0
            match_position[r] += direction[r]
        if step >= k:  # the k-mer before this base is complete and the base after it known: enter it
            kmer, _ = _key(hist[r], k)
            table[slots[r]] = (U64(r) << U64(32)) | (U64(step) << U64(CHECK_BITS)) | _check(kmer)


class MatchModel:
    """The match model of one block's bases (parameters: params["bases"]["match"]). It reads each row's
    last bases from the base model's history word (bases.BaseModel.hist), so predict and update are
    called before the base model's own."""

    weight_sets = WEIGHT_SETS

    def __init__(self, params: dict, rows: Rows):
        self.k = int(params["min_length"])
        self.limit = int(params["count_limit"])
        n_symbols, n = int(rows.col_start[-1]), rows.n_rows
        # no more entries than the block can fill (two per k-mer: one per strand)
        self.bits = min(int(params["table_bits"]), max(12, n_symbols.bit_length() + 1))
        self.table = np.zeros(1 << self.bits, dtype=np.uint64)  # 0 = empty
        self.live = np.diff(rows.col_start).astype(np.int64)
        # rows are longest first: live[p] - live[p + 1] rows have p + 1 symbols
        rows_of_length = -np.diff(np.append(self.live, 0))
        row_length = np.repeat(np.arange(len(self.live), 0, -1, dtype=np.int32), rows_of_length[::-1])
        self.row_base = np.zeros(n, dtype=np.int32)  # where each row's bases are in the history
        np.cumsum(row_length[:-1], out=self.row_base[1:])
        del row_length
        self.history = np.zeros((n_symbols + 3) // 4, dtype=np.uint8)
        # per row (narrow types: a block may have millions of rows): the table entry being looked up or
        # written, the match (row and position of the base it predicts, direction, length, misses), and
        # what predict() chose (counter context, base, mixer weight set)
        self.slots = np.zeros(n, dtype=np.int32)
        self.match_row = np.full(n, -1, dtype=np.int32)
        self.match_position = np.zeros(n, dtype=np.int32)
        self.direction, self.length, self.misses, self.contexts, self.expected = (
            np.zeros(n, dtype=np.int8) for _ in range(5))
        self.sets = np.zeros(n, dtype=np.int8)
        self.counters = np.zeros(2 * LENGTH_BUCKETS * MISS_STATES, dtype=np.uint32)

    def predict(self, step: int, rows: np.ndarray, hist: np.ndarray, out: np.ndarray) -> None:
        _predict(rows, step, self.k, self.bits, hist, self.live, self.table, self.history, self.row_base, self.slots,
                 self.match_row, self.match_position, self.direction, self.length, self.misses, self.contexts,
                 self.expected, self.counters, self.sets, out)

    def update(self, step: int, first_row: int, symbols: np.ndarray, coded: np.ndarray, hist: np.ndarray) -> None:
        _update(step, first_row, symbols, coded, self.k, self.bits, hist, self.table, self.history, self.row_base,
                self.slots, self.match_row, self.match_position, self.direction, self.length, self.misses,
                self.contexts, self.expected, self.counters, self.limit)


# -7 .. -9: a shorter k where it pays. In a small amplicon or genome the first k bases of a read are its
# costliest (rows are coded position by position, so no match can start before position k): with k = 6,
# ga2_ecoli's bases stream is 4,205 bytes instead of 4,553; in a large genome six bases match by chance
# (hiseqx_151: 66,937 instead of 54,888), so the first block's first reads decide.
SHORT_MIN_LENGTH = 6
TRIAL_BASES = 1 << 21  # the first reads of the first block, up to this many bases
TRIAL_GAIN = 0.99  # the shorter k must code the sample at least 1 % smaller


def choose_min_length(params: dict, seq: np.ndarray, lengths: np.ndarray) -> dict:
    """params with the match model's min_length SHORT_MIN_LENGTH if that codes the first reads' bases
    smaller, else params as they are. Deterministic: by coded sizes."""
    from . import streams

    match = params["bases"].get("match")
    if match is None or match["min_length"] == SHORT_MIN_LENGTH:
        return params
    lengths = streams.first_reads(lengths, TRIAL_BASES)
    seq = seq[: int(lengths.sum())]
    short = dict(params, bases=dict(params["bases"], match=dict(match, min_length=SHORT_MIN_LENGTH)))
    if len(streams.encode_bases(seq, lengths, short)) < TRIAL_GAIN * len(streams.encode_bases(seq, lengths, params)):
        return short
    return params
