"""Quality model: adaptive frequency counts in a context of the previous qualities, the position in the
read and how often the qualities have changed so far (the context fqzcomp_qual uses).

Symbols are indices into the block's sorted alphabet of quality characters, so Phred+33, Phred+64 and
binned qualities need no flag. Counts are integers; probabilities are counts / their integer total.

That context has ~10^7 cells: in a small file most are seen a few times, and a file's first reads are
coded from nearly flat counts. With params["coarse"] (format 3.1), counts in a coarse context (the
previous quality, and a level of the one before) are mixed in, geometrically as in mixing.py, with
weights chosen by how often the fine context has been seen: the coarse one learns at once and smooths
the fine one's counts wherever they are few (it keeps a third of the weight even at 1,000 and more).
Since format 3.4, coarse["mean_levels"] adds a level of the mean quality of the row so far: whether the
read is a good one says much about the next quality wherever the previous one leaves it open (at the
default level, miseq_n701's qualities code 1.5 % smaller, hiseqx_151's 0.7 %).
"""

from __future__ import annotations

import numba
import numpy as np

from . import mixing
from .mixing import step_weights

POSITION_BUCKETS = 128  # quality depends strongly on the cycle: keep positions apart up to 128
CHANGE_BUCKETS = 8
# Buckets of the number of quality changes so far in the read: 0, 1, 2, 3-4, 5-8, 9-16, 17-32, 33+.
CHANGE_BUCKET = np.minimum(np.array([0, 1, 2] + [3] * 2 + [4] * 4 + [5] * 8 + [6] * 16 + [7], dtype=np.int64), 7)
COUNT_INIT = 1
MAX_COUNTS = 1 << 25  # 64 MiB of uint16 counters
MIX_SETS = 12  # the coarse mixer's weight sets: the fine context seen 0, 1, 2-3, 4-7, ..., 1024 or more times
# mixing.py's tables in narrower types (the same values: at most 2^16 and 16 bits in 1/256 bit), so they
# stay in the cache
LOG2 = mixing.LOG2.astype(np.int16)
EXP2 = mixing.EXP2.astype(np.int32)
U64 = np.uint64
MIX_START = 40000  # both weights' start (16.16 fixed point): the mix starts a little sharper than either


def _levels(alphabet: int, buckets: int) -> np.ndarray:
    """Map symbol index -> one of `buckets` levels (all symbols kept apart when they fit)."""
    buckets = min(alphabet, buckets)
    return (np.arange(alphabet) * buckets // alphabet).astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _contexts(rows, step, alphabet, row_offset, q1, q2, q3, changes, level2, level3, n2, n3, position_shift, contexts):
    n_changes = len(CHANGE_BUCKET) - 1
    inner = alphabet * n2 * n3
    for j in range(len(rows)):
        r = rows[j]
        position = min((row_offset[r] + step) >> position_shift, POSITION_BUCKETS - 1)
        ctx = (q1[r] * n2 + level2[q2[r]]) * n3 + level3[max(q2[r], q3[r])]
        contexts[r] = (position * inner + ctx) * CHANGE_BUCKETS + CHANGE_BUCKET[min(changes[r], n_changes)]


@numba.njit(cache=True, nogil=True)
def _coarse_contexts(rows, step, alphabet, q1, q2, sums, coarse_level2, coarse_n2, mean_levels, coarse):
    """Each row's coarse context: its previous quality, a level of the one before and, with mean_levels > 1,
    a level of the mean of its qualities so far (sums: their sum)."""
    for j in range(len(rows)):
        r = rows[j]
        ctx = q1[r] * coarse_n2 + coarse_level2[q2[r]]
        if mean_levels > 1:
            ctx = ctx * mean_levels + _mean_level(sums[r], step, alphabet, mean_levels)
        coarse[r] = ctx


@numba.njit(cache=True, nogil=True, inline="always")
def _mean_level(total, count, alphabet, levels):
    """The mean of count symbols (total: their sum) as one of `levels` levels: the mean rounded down, by the
    top of the alphabet, where good reads' means lie (level 0 also before the first symbol)."""
    if count == 0:
        return 0
    return min(levels - 1, max(0, total // count - (alphabet - levels - 1)))


@numba.njit(cache=True, nogil=True)
def _mixed(rows, alphabet, contexts, counts, totals, coarse, coarse_counts, coarse_totals, increment, weights, sets,
           expected, freq, probabilities):
    """Mix each row's fine and coarse counts (log2 p_mix = w_f log2 p_f + w_c log2 p_c + const, in 1/256
    bit). Writes the integer frequencies (freq, for the LSTM's mixer) or, where freq is empty, their
    exact quotients by their sum (probabilities); sets: each row's weight set, expected: the mean
    log-probability of each predictor under the mix (for _learn_coarse)."""
    k = alphabet
    log_f = np.empty(k, dtype=np.int64)
    log_c = np.empty(k, dtype=np.int64)
    mixed = np.empty(k, dtype=np.int64)
    for j in range(len(rows)):
        r = rows[j]
        fine = contexts[r]
        c = coarse[r]
        seen = (totals[fine] - COUNT_INIT * k) // increment
        w = 0
        while seen and w < MIX_SETS - 1:
            seen >>= 1
            w += 1
        sets[j] = w
        w_f, w_c = weights[w, 0], weights[w, 1]
        # unsigned indices (all are >= 0): numba then drops its negative-index wraparound (~25 % faster
        # on 26-41 symbols)
        norm_f, norm_c = LOG2[U64(totals[fine])], LOG2[U64(coarse_totals[c])]
        top = np.int64(-(1 << 62))
        for s in range(k):
            log_f[s] = LOG2[U64(counts[U64(fine * k + s)])] - norm_f
            log_c[s] = LOG2[U64(coarse_counts[U64(c * k + s)])] - norm_c
            mixed[s] = (w_f * log_f[s] + w_c * log_c[s]) >> 16
            top = max(top, mixed[s])
        total = np.int64(0)
        expect_f = np.int64(0)
        expect_c = np.int64(0)
        for s in range(k):
            f = EXP2[U64(min(top - mixed[s], len(EXP2) - 1))]
            mixed[s] = f
            total += f
            expect_f += f * log_f[s]
            expect_c += f * log_c[s]
        expected[j, 0], expected[j, 1] = expect_f // total, expect_c // total
        if len(freq):
            for s in range(k):
                freq[j, s] = mixed[s]
        else:
            for s in range(k):
                probabilities[j, s] = mixed[s] / np.float64(total)


@numba.njit(cache=True, nogil=True)
def _learn_coarse(first_row, symbols, coded, alphabet, contexts, counts, totals, coarse, coarse_counts, coarse_totals,
                  sets, expected, weights, rate):
    """One gradient step per weight set along the chunk's mean gradient of the coding cost; before the
    counts learn the chunk's symbols, so they are those _mixed read."""
    gradient = np.zeros(weights.shape, dtype=np.int64)
    seen = np.zeros(len(weights), dtype=np.int64)
    for j in range(len(symbols)):
        if not coded[j]:
            continue
        r, t = first_row + j, symbols[j]
        fine, c = contexts[r], coarse[r]
        gradient[sets[j], 0] += LOG2[counts[fine * alphabet + t]] - LOG2[totals[fine]] - expected[j, 0]
        gradient[sets[j], 1] += LOG2[coarse_counts[c * alphabet + t]] - LOG2[coarse_totals[c]] - expected[j, 1]
        seen[sets[j]] += 1
    step_weights(weights, gradient, seen, rate)


@numba.njit(cache=True, nogil=True, inline="always")
def _learn(counts, totals, ctx, alphabet, s, increment, total_limit):
    """Count symbol s in context ctx, halving the context's counts when their total passes the limit."""
    base = ctx * alphabet
    counts[base + s] += increment
    totals[ctx] += increment
    if totals[ctx] > total_limit:
        total = 0
        for i in range(alphabet):
            c = (np.int64(counts[base + i]) + 1) >> 1
            counts[base + i] = c
            total += c
        totals[ctx] = total


@numba.njit(cache=True, nogil=True)
def _counts(rows, contexts, counts, alphabet):
    """Each row's context counts (each >= 1), for mixing."""
    out = np.empty((len(rows), alphabet), dtype=np.int64)
    for j in range(len(rows)):
        base = contexts[rows[j]] * alphabet
        for s in range(alphabet):
            out[j, s] = counts[base + s]
    return out


@numba.njit(cache=True, nogil=True)
def _probabilities(rows, contexts, counts, totals, alphabet):
    """Each row's context counts divided by their total (kept equal to their sum)."""
    out = np.empty((len(rows), alphabet), dtype=np.float64)
    for j in range(len(rows)):
        ctx = contexts[rows[j]]
        total = np.float64(totals[ctx])
        for s in range(alphabet):
            out[j, s] = counts[ctx * alphabet + s] / total
    return out


@numba.njit(cache=True, nogil=True)
def _update(first_row, symbols, coded, alphabet, q1, q2, q3, changes, counts, totals, contexts, increment, total_limit,
            coarse, coarse_counts, coarse_totals, sums):
    """sums: each row's sum of qualities so far, where the coarse context needs it (else empty)."""
    for j in range(len(symbols)):
        r = first_row + j
        s = symbols[j]
        _learn(counts, totals, contexts[r], alphabet, s, increment, total_limit)
        if len(coarse_totals):
            _learn(coarse_counts, coarse_totals, coarse[r], alphabet, s, increment, total_limit)
        if len(sums):
            sums[r] += s
        if s != q1[r]:
            changes[r] += 1
        q3[r] = q2[r]
        q2[r] = q1[r]
        q1[r] = s


class CoarseMix:
    """The mix of a fine context's counts with a coarse context's (_mixed), and its weights' learning. The
    fine and coarse arguments are each a model's (contexts by row, counts, totals)."""

    def __init__(self, rate: int):
        self.rate = rate
        self.weights = np.full((MIX_SETS, 2), MIX_START, dtype=np.int64)

    def predict(self, step: int, rows: np.ndarray, alphabet: int, increment: int, fine, coarse, lstm) -> np.ndarray:
        n, k = len(rows), alphabet
        freq = np.empty((n, k) if lstm else (0, k), dtype=np.int64)
        probabilities = np.empty((0, k) if lstm else (n, k), dtype=np.float64)
        self.sets, self.expected = np.empty(n, dtype=np.int64), np.empty((n, 2), dtype=np.int64)
        _mixed(rows, k, *fine, *coarse, increment, self.weights, self.sets, self.expected, freq, probabilities)
        return _normalised(lstm.mix(step, rows, freq)) if lstm else probabilities

    def learn(self, first_row: int, symbols: np.ndarray, coded: np.ndarray, alphabet: int, fine, coarse) -> None:
        """Before the counts learn the chunk's symbols."""
        _learn_coarse(first_row, symbols, coded, alphabet, *fine, *coarse, self.sets, self.expected, self.weights,
                      self.rate)


@numba.njit(cache=True, nogil=True)
def _normalised(freq):
    """Integer frequencies -> probabilities, each row divided by its (exact) integer sum."""
    n, k = freq.shape
    out = np.empty((n, k), dtype=np.float64)
    for j in range(n):
        total = 0
        for s in range(k):
            total += freq[j, s]
        for s in range(k):
            out[j, s] = freq[j, s] / np.float64(total)
    return out


class QualityModel:
    """A stepped predictor (see coder.py) for quality symbol indices 0..alphabet-1. With an LSTM (see
    learning.py), its prediction is mixed with the counts' in every step."""

    def __init__(self, params: dict, alphabet: int, row_offset: np.ndarray, max_length: int):
        self.alphabet = alphabet
        self.lstm = None  # a learning.QualityLSTMRun, set by the caller
        self.row_offset = row_offset
        self.increment = int(params["increment"])
        self.total_limit = int(params["total_limit"])
        q2_levels, q3_levels = params["q2_levels"], params["q3_levels"]
        while alphabet * alphabet * q2_levels * q3_levels * POSITION_BUCKETS * CHANGE_BUCKETS > MAX_COUNTS and q2_levels > 1:
            # wide alphabets (nanopore) keep fewer levels of the older qualities
            q3_levels = max(1, q3_levels // 2)
            if q3_levels == 1 or q3_levels >= q2_levels // 2:
                q2_levels = max(1, q2_levels // 2)
        self.level2 = _levels(alphabet, q2_levels)
        self.level3 = _levels(alphabet, q3_levels)
        self.n2, self.n3 = int(self.level2.max(initial=0)) + 1, int(self.level3.max(initial=0)) + 1
        self.position_shift = max(0, int(max_length - 1).bit_length() - 7)
        n_contexts = alphabet * self.n2 * self.n3 * POSITION_BUCKETS * CHANGE_BUCKETS
        self.counts = np.full(n_contexts * alphabet, COUNT_INIT, dtype=np.uint16)
        self.totals = np.full(n_contexts, COUNT_INIT * alphabet, dtype=np.int64)
        # Position is the outermost context component, so one position's tables are one slice.
        self.slice = n_contexts // POSITION_BUCKETS
        self.started = np.zeros(POSITION_BUCKETS, dtype=bool)
        self.row_offsets_in_use = np.unique(row_offset)
        n_rows = len(row_offset)
        self.q1, self.q2, self.q3, self.changes, self.contexts = (np.zeros(n_rows, dtype=np.int64) for _ in range(5))
        coarse = params.get("coarse")  # absent before format 3.1: no coarse context
        self.mix = CoarseMix(int(coarse["mixer_rate"])) if coarse else None
        self.coarse_level2 = _levels(alphabet, coarse["q2_levels"] if coarse else 1)
        self.coarse_n2 = int(self.coarse_level2.max(initial=0)) + 1
        self.mean_levels = int(coarse.get("mean_levels", 1)) if coarse else 1  # absent before 3.4: 1
        n_coarse = alphabet * self.coarse_n2 * self.mean_levels if coarse else 0
        self.coarse = np.zeros(n_rows if coarse else 0, dtype=np.int64)  # each row's coarse context
        self.sums = np.zeros(n_rows if self.mean_levels > 1 else 0, dtype=np.int64)
        self.coarse_counts = np.full(n_coarse * alphabet, COUNT_INIT, dtype=np.uint16)
        self.coarse_totals = np.full(n_coarse, COUNT_INIT * alphabet, dtype=np.int64)

    def _start_positions(self, step: int) -> None:
        """A step is coded at once, so a position seen for the first time would start from flat counts for
        all its rows. Instead it starts from the previous position's counts, halved: quality statistics
        drift slowly along the read."""
        offsets = self.row_offsets_in_use  # rows of long reads start at multiples of the row width
        for bucket in np.minimum((offsets + step) >> self.position_shift, POSITION_BUCKETS - 1):
            if self.started[bucket]:
                continue
            self.started[bucket] = True
            if bucket == 0 or not self.started[bucket - 1]:
                continue
            k, width = self.alphabet, self.slice
            source = self.counts[(bucket - 1) * width * k : bucket * width * k]
            inherited = np.maximum(source >> 1, COUNT_INIT).astype(np.uint16)
            self.counts[bucket * width * k : (bucket + 1) * width * k] = inherited
            self.totals[bucket * width : (bucket + 1) * width] = inherited.reshape(width, k).sum(axis=1)

    def begin_step(self, step: int, live: int) -> None:
        self._start_positions(step)
        if self.lstm:
            self.lstm.begin_step(step, live, self.q1)

    def predict(self, step: int, rows: np.ndarray) -> np.ndarray:
        _contexts(rows, step, self.alphabet, self.row_offset, self.q1, self.q2, self.q3, self.changes, self.level2,
                  self.level3, self.n2, self.n3, self.position_shift, self.contexts)
        if not self.mix:
            if self.lstm:
                return _normalised(self.lstm.mix(step, rows, _counts(rows, self.contexts, self.counts, self.alphabet)))
            return _probabilities(rows, self.contexts, self.counts, self.totals, self.alphabet)
        _coarse_contexts(rows, step, self.alphabet, self.q1, self.q2, self.sums, self.coarse_level2, self.coarse_n2,
                         self.mean_levels, self.coarse)
        return self.mix.predict(step, rows, self.alphabet, self.increment, self._fine(), self._coarse(), self.lstm)

    def _fine(self) -> tuple:
        return self.contexts, self.counts, self.totals

    def _coarse(self) -> tuple:
        return self.coarse, self.coarse_counts, self.coarse_totals

    def update(self, step: int, first_row: int, symbols: np.ndarray, coded: np.ndarray) -> None:
        if self.mix:
            self.mix.learn(first_row, symbols, coded, self.alphabet, self._fine(), self._coarse())
        _update(first_row, symbols, coded, self.alphabet, self.q1, self.q2, self.q3, self.changes, self.counts, self.totals,
                self.contexts, self.increment, self.total_limit, self.coarse, self.coarse_counts, self.coarse_totals,
                self.sums)
        if self.lstm:
            self.lstm.learn(symbols, coded)
