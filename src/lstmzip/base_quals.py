"""Quality model in a context of the bases: adaptive frequency counts in a context of the previous quality
(and a level of the one before), the bases at and just before the position, and the length of the
homopolymer run that ends there.

Nanopore quality follows the bases under the pore (ENANO and CoLoRd use the bases around the position,
fqxv the homopolymer run) far more than the cycle, which the fqzcomp-like model (quals.py) spends its
context on. The quality decoder runs beside the base decoder (streams.DecodedBases), a step behind it;
since format 3.2 context["ahead"] = 1 adds the base after the position, and the quality decoder runs two
steps behind (bases further ahead would make it wait longer, and coded ONT's qualities larger).

With wide alphabets most contexts are rare. Before 3.2, a context seen for the first time starts from the
counts of its previous quality alone (halved), which are always learnt as well. Since 3.2,
context["coarse"] mixes those coarse counts (by the previous quality and, with coarse["bases"] = 1, the
base at the position) into the fine ones at every symbol, as quals.py does (quals.CoarseMix): on
ont_seqkit that and the base ahead code the qualities 2.4 % smaller than the 3.0 context.

Symbols are indices into the block's sorted alphabet of quality characters; counts are integers and
probabilities are counts / their integer total, as in quals.py.
"""

from __future__ import annotations

import numba
import numpy as np

from . import quals
from .quals import COUNT_INIT, MAX_COUNTS, _levels
from .rows import Rows

BASE_VALUES = 5  # A C G T, or another character (or before the read)
INHERIT_SHIFT = 1  # a new context starts from its parent's counts divided by 2


@numba.njit(cache=True, nogil=True)
def _contexts(rows, alphabet, q1, q2, level2, n2, bases, n_bases, ahead, next_base, run, run_levels, coarse_bases,
              counts, totals, parents, contexts, coarse):
    """Each row's fine context (contexts) and coarse one (coarse); a fine context seen for the first time
    (total 0, before 3.2) starts from its coarse context's counts."""
    base_contexts = BASE_VALUES ** n_bases
    for j in range(len(rows)):
        r = rows[j]
        ctx = (q1[r] * n2 + level2[q2[r]]) * base_contexts + bases[r] % base_contexts
        if ahead:
            ctx = ctx * BASE_VALUES + next_base[r]
        ctx = ctx * run_levels + min(run[r], run_levels) - 1
        contexts[r] = ctx
        parent = q1[r] * BASE_VALUES + bases[r] % BASE_VALUES if coarse_bases else q1[r]
        coarse[r] = parent
        if totals[ctx] == 0:
            total = 0
            for s in range(alphabet):
                c = max(COUNT_INIT, parents[parent * alphabet + s] >> INHERIT_SHIFT)
                counts[ctx * alphabet + s] = c
                total += c
            totals[ctx] = total


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
def _update(first_row, symbols, alphabet, q1, q2, counts, totals, parents, parent_totals, contexts, coarse, increment,
            total_limit):
    for j in range(len(symbols)):
        r = first_row + j
        s = np.int64(symbols[j])
        ctx = contexts[r]
        counts[ctx * alphabet + s] += increment
        totals[ctx] += increment
        if totals[ctx] > total_limit:
            totals[ctx] = _halve(counts, ctx * alphabet, alphabet)
        parent = coarse[r]
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
    the bases at this step of rows 0..live-1 (rows.live(step) of them live)."""

    def __init__(self, params: dict, alphabet: int, rows: Rows, base_codes):
        self.alphabet, self.rows, self.base_codes = alphabet, rows, base_codes
        self.lstm = None  # a learning.QualityLSTMRun, set by the caller
        self.position_shift = 7  # the LSTM mixer's position sets (set_shift = position_shift + 3): by 1024
        self.increment, self.total_limit = int(params["increment"]), int(params["total_limit"])
        context = params["base_context"]
        self.n_bases, self.run_levels = int(context["bases"]), int(context["run_levels"])
        q2_levels = int(context["q2_levels"])
        self.ahead = int(context.get("ahead", 0))  # absent before 3.2, as is coarse
        coarse = context.get("coarse")
        self.mix = quals.CoarseMix(int(coarse["mixer_rate"])) if coarse else None
        self.coarse_bases = int(coarse["bases"]) if coarse else 0
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
        if self.mix:  # flat counts, mixed with the coarse ones
            self.counts = np.full(n_contexts * alphabet, COUNT_INIT, dtype=np.uint16)
            self.totals = np.full(n_contexts, COUNT_INIT * alphabet, dtype=np.int64)
        else:  # filled from the coarse counts when a context is first seen
            self.counts = np.zeros(n_contexts * alphabet, dtype=np.uint16)
            self.totals = np.zeros(n_contexts, dtype=np.int64)  # 0 = not seen yet
        n_coarse = alphabet * BASE_VALUES ** self.coarse_bases
        self.parents = np.full(n_coarse * alphabet, COUNT_INIT, dtype=np.uint16)
        self.parent_totals = np.full(n_coarse, COUNT_INIT * alphabet, dtype=np.int64)
        self.q1, self.q2, self.contexts, self.coarse, self.bases, self.run, self.next_base = (
            np.zeros(rows.n_rows, dtype=np.int64) for _ in range(7))

    def _contexts(self, q2_levels: int) -> int:
        return self.alphabet * q2_levels * BASE_VALUES ** (self.n_bases + self.ahead) * self.run_levels

    def begin_step(self, step: int, live: int) -> None:
        _see_bases(step, self.base_codes(step, live), self.bases, self.run)
        if self.ahead:
            self.next_base[:live] = self.rows.after(self.base_codes, step, live, 4)  # 4 after the row's end
        if self.lstm:
            self.lstm.begin_step(step, live, self.q1)

    def predict(self, step: int, rows: np.ndarray) -> np.ndarray:
        _contexts(rows, self.alphabet, self.q1, self.q2, self.level2, self.n2, self.bases, self.n_bases, self.ahead,
                  self.next_base, self.run, self.run_levels, self.coarse_bases, self.counts, self.totals, self.parents,
                  self.contexts, self.coarse)
        if self.mix:
            return self.mix.predict(step, rows, self.alphabet, self.increment, self._fine(), self._coarse(), self.lstm)
        freq = quals._counts(rows, self.contexts, self.counts, self.alphabet)
        return quals._normalised(self.lstm.mix(step, rows, freq) if self.lstm else freq)

    def _fine(self) -> tuple:
        return self.contexts, self.counts, self.totals

    def _coarse(self) -> tuple:
        return self.coarse, self.parents, self.parent_totals

    def update(self, step: int, first_row: int, symbols: np.ndarray, coded: np.ndarray) -> None:
        if self.mix:
            self.mix.learn(first_row, symbols, coded, self.alphabet, self._fine(), self._coarse())
        _update(first_row, symbols, self.alphabet, self.q1, self.q2, self.counts, self.totals, self.parents,
                self.parent_totals, self.contexts, self.coarse, self.increment, self.total_limit)
        if self.lstm:
            self.lstm.learn(symbols, coded)


# ---------------------------------------------------------------- choosing it (compression only)

CANDIDATE = {"bases": 2, "run_levels": 4, "q2_levels": 1}  # at level 1 (the fastest)
# from level 2 (format 3.2): three bases before, one after, mixed with counts by the previous quality and
# the base (on ont_seqkit, 2.4 % smaller than CANDIDATE, and 1.7 times its time)
MIXED_CANDIDATE = {"bases": 3, "run_levels": 4, "q2_levels": 1, "ahead": 1, "coarse": {"bases": 1, "mixer_rate": 4}}
TRIAL_SYMBOLS = 1 << 19  # the first reads of the first block, up to this many qualities
TRIAL_GAIN = 0.99  # the base context must code the sample at least 1 % smaller
# The base context's counts halve late whatever the level's fqzcomp-like ones do: with 8,000 (levels 4-6's),
# ont_seqkit's qualities code 0.2 % larger
TOTAL_LIMIT = 65000


def choose(params: dict, seq: np.ndarray, qual: np.ndarray, lengths: np.ndarray, mixed: bool, pool=None) -> dict:
    """params with the base context for the qualities (MIXED_CANDIDATE if mixed, else CANDIDATE) if it
    codes the first reads of the (first) block smaller than the fqzcomp-like context, else params as they
    are. Deterministic: by coded sizes. pool: workers to code the two candidates in (beside other tasks)."""
    from . import streams, workers

    lengths = streams.first_reads(lengths, TRIAL_SYMBOLS)
    seq, qual = seq[: int(lengths.sum())], qual[: int(lengths.sum())]
    if len(np.unique(qual)) < 2:
        return params
    fine = {key: value for key, value in params["qualities"].items() if key != "coarse"}  # quals.py's alone
    with_bases = dict(params, qualities=dict(fine, total_limit=TOTAL_LIMIT,
                                             base_context=MIXED_CANDIDATE if mixed else CANDIDATE))
    pool = pool or workers.InProcess()
    coded = [pool.submit(streams.encode_qualities, qual, lengths, candidate, None, seq)
             for candidate in (with_bases, params)]
    return with_bases if len(coded[0].get()) < TRIAL_GAIN * len(coded[1].get()) else params
