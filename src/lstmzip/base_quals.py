"""Quality model in a context of the bases: adaptive frequency counts in a context of the previous quality
(and a level of the one before), the bases at and just before the position, and the length of the
homopolymer run that ends there.

Nanopore quality follows the bases under the pore (ENANO and CoLoRd use the bases around the position,
fqxv the homopolymer run) far more than the cycle, which the fqzcomp-like model (quals.py) spends its
context on. Only bases up to the position are used: the quality decoder runs a step behind the base
decoder (streams.DecodedBases), and later bases would make it wait for the whole block. With wide
alphabets most contexts are rare, so a context seen for the first time starts from the counts of its
previous quality alone (halved), which are always learnt as well.

Symbols are indices into the block's sorted alphabet of quality characters; counts are integers and
probabilities are counts / their integer total, as in quals.py.
"""

from __future__ import annotations

import numba
import numpy as np

from .quals import COUNT_INIT, MAX_COUNTS, _levels

BASE_VALUES = 5  # A C G T, or another character (or before the read)
INHERIT_SHIFT = 1  # a new context starts from its parent's counts divided by 2


@numba.njit(cache=True, nogil=True)
def _predict(rows, alphabet, q1, q2, level2, n2, bases, n_bases, run, run_levels, counts, totals, parents,
             parent_totals, contexts, out):
    """out: the context's integer counts (each >= 1) for each row."""
    base_contexts = BASE_VALUES ** n_bases
    for j in range(len(rows)):
        r = rows[j]
        ctx = ((q1[r] * n2 + level2[q2[r]]) * base_contexts + bases[r] % base_contexts) * run_levels
        ctx += min(run[r], run_levels) - 1
        contexts[r] = ctx
        base = ctx * alphabet
        if totals[ctx] == 0:  # first seen: start from what its previous quality alone has learnt
            parent = q1[r] * alphabet
            total = 0
            for s in range(alphabet):
                c = max(COUNT_INIT, parents[parent + s] >> INHERIT_SHIFT)
                counts[base + s] = c
                total += c
            totals[ctx] = total
        for s in range(alphabet):
            out[j, s] = counts[base + s]


@numba.njit(cache=True, nogil=True)
def _halve(counts, base, alphabet):
    """Halve a context's counts (recent symbols weigh more); returns their new total."""
    total = 0
    for i in range(alphabet):
        c = (np.int64(counts[base + i]) + 1) >> 1
        counts[base + i] = c
        total += c
    return total


@numba.njit(cache=True, nogil=True)
def _update(first_row, symbols, alphabet, q1, q2, counts, totals, parents, parent_totals, contexts, increment,
            total_limit):
    for j in range(len(symbols)):
        r = first_row + j
        s = np.int64(symbols[j])
        ctx = contexts[r]
        counts[ctx * alphabet + s] += increment
        totals[ctx] += increment
        if totals[ctx] > total_limit:
            totals[ctx] = _halve(counts, ctx * alphabet, alphabet)
        parent = q1[r]
        parents[parent * alphabet + s] += increment
        parent_totals[parent] += increment
        if parent_totals[parent] > total_limit:
            parent_totals[parent] = _halve(parents, parent * alphabet, alphabet)
        q2[r] = q1[r]
        q1[r] = s


@numba.njit(cache=True, nogil=True)
def _see_bases(step, codes, bases, run):
    """The bases of this step (codes 0-3, 4 = other) join each row's recent bases and homopolymer run."""
    for r in range(len(codes)):
        b = np.int64(codes[r])
        if step == 0:  # before the row: "other"
            bases[r], run[r] = (4 * BASE_VALUES + 4) * BASE_VALUES + b, 1
            continue
        if b < 4 and b == bases[r] % BASE_VALUES:
            run[r] += 1
        else:
            run[r] = 1
        bases[r] = (bases[r] * BASE_VALUES + b) % (BASE_VALUES ** 3)


class BaseContextQualityModel:
    """A stepped predictor (see coder.py) for quality symbol indices 0..alphabet-1, with the interface of
    quals.QualityModel (an LSTM, if set, is mixed in the same way). base_codes(step, live): the codes of
    the bases at this step of rows 0..live-1."""

    def __init__(self, params: dict, alphabet: int, n_rows: int, base_codes):
        self.alphabet, self.base_codes = alphabet, base_codes
        self.lstm = None  # a learning.QualityLSTMRun, set by the caller
        self.position_shift = 7  # the LSTM mixer's position sets (set_shift = position_shift + 3): by 1024
        self.increment, self.total_limit = int(params["increment"]), int(params["total_limit"])
        context = params["base_context"]
        self.n_bases, self.run_levels = int(context["bases"]), int(context["run_levels"])
        q2_levels = int(context["q2_levels"])
        # wide alphabets keep fewer levels of the quality before, then fewer run lengths, then fewer bases
        while self._contexts(q2_levels) * alphabet > MAX_COUNTS:
            if q2_levels > 1:
                q2_levels //= 2
            elif self.run_levels > 1:
                self.run_levels //= 2
            else:
                self.n_bases -= 1
        self.level2 = _levels(alphabet, q2_levels)
        self.n2 = int(self.level2.max(initial=0)) + 1
        n_contexts = self._contexts(self.n2)
        self.counts = np.zeros(n_contexts * alphabet, dtype=np.uint16)  # filled when a context is first seen
        self.totals = np.zeros(n_contexts, dtype=np.int64)  # 0 = not seen yet
        self.parents = np.full(alphabet * alphabet, COUNT_INIT, dtype=np.uint16)  # by previous quality
        self.parent_totals = np.full(alphabet, COUNT_INIT * alphabet, dtype=np.int64)
        self.q1, self.q2, self.contexts, self.bases, self.run = (np.zeros(n_rows, dtype=np.int64) for _ in range(5))

    def _contexts(self, q2_levels: int) -> int:
        return self.alphabet * q2_levels * BASE_VALUES ** self.n_bases * self.run_levels

    def begin_step(self, step: int, live: int) -> None:
        _see_bases(step, self.base_codes(step, live), self.bases, self.run)
        if self.lstm:
            self.lstm.begin_step(step, live, self.q1)

    def predict(self, step: int, rows: np.ndarray) -> np.ndarray:
        freq = np.empty((len(rows), self.alphabet), dtype=np.int64)
        _predict(rows, self.alphabet, self.q1, self.q2, self.level2, self.n2, self.bases, self.n_bases, self.run,
                 self.run_levels, self.counts, self.totals, self.parents, self.parent_totals, self.contexts, freq)
        if self.lstm:
            freq = self.lstm.mix(step, rows, freq)
        return freq / freq.sum(axis=1, keepdims=True, dtype=np.float64)

    def update(self, step: int, first_row: int, symbols: np.ndarray, coded: np.ndarray) -> None:
        _update(first_row, symbols, self.alphabet, self.q1, self.q2, self.counts, self.totals, self.parents,
                self.parent_totals, self.contexts, self.increment, self.total_limit)
        if self.lstm:
            self.lstm.learn(symbols, coded)


# ---------------------------------------------------------------- choosing it (compression only)

CANDIDATE = {"bases": 2, "run_levels": 4, "q2_levels": 1}
TRIAL_SYMBOLS = 1 << 19  # the first reads of the first block, up to this many qualities
TRIAL_GAIN = 0.99  # the base context must code the sample at least 1 % smaller


def choose(params: dict, seq: np.ndarray, qual: np.ndarray, lengths: np.ndarray) -> dict:
    """params with the base context for the qualities if it codes the first reads of the (first) block
    smaller than the fqzcomp-like context, else params as they are. Deterministic: by coded sizes."""
    from . import streams

    reads = int(np.searchsorted(np.cumsum(lengths), TRIAL_SYMBOLS)) + 1
    lengths = lengths[:reads]
    seq, qual = seq[: int(lengths.sum())], qual[: int(lengths.sum())]
    if len(np.unique(qual)) < 2:
        return params
    fine = {key: value for key, value in params["qualities"].items() if key != "coarse"}  # quals.py's alone
    with_bases = dict(params, qualities=dict(fine, base_context=CANDIDATE))
    if len(streams.encode_qualities(qual, lengths, with_bases, None, seq)) < \
            TRIAL_GAIN * len(streams.encode_qualities(qual, lengths, params, None, seq)):
        return with_bases
    return params
