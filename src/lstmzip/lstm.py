"""The LSTM predictor in exact integer arithmetic.

Keras trains the model (train.py); networks.py quantises its weights; this module runs the same network in fixed
point, so the encoder and every decoder compute identical probabilities on any CPU, BLAS kernel, thread
count and batch size:

- weights are int8 times an integer step per tensor, at scale 2^12; activations are at scale 2^12;
- products are sums of integers, exact in their dtype (float64, or float32 where every partial sum
  stays below 2^24), so the result is exact whatever order the machine adds in;
- sigmoid, tanh and exp come from integer tables computed with the decimal module (correctly rounded,
  the same on every platform);
- the output is an integer frequency per symbol.

The network: LSTM (Keras gate order i, f, c, o) over per-step input features, then a dense layer to one
logit per symbol, then softmax.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from .networks import QuantLSTM
from .tables import ACTIVATION_RANGE, FRACTION_BITS, ONE, SOFTMAX_RANGE, TABLE_SHIFT, load

# Features lie within +-2^15 (8.0 at scale 2^12, the normalised qualities' clip), so an input sum of up to
# 64 features times int8 weights stays below 2^28: exact in int32, the cell kernel's input sums.
MAX_FEATURE = 8 * ONE
STEP_ROWS = 1 << 11  # rows per slice of a step: the slice's gate sums (2 x 1 MiB for hidden 32) stay in cache
_TABLES = load()
SIGMOID, TANH = _TABLES["SIGMOID"], _TABLES["TANH"]  # at the midpoints of 1/256 steps of [-8, 8), scale 2^12
EXP = _TABLES["EXP"]  # EXP[d] = 2^16 e^(-(d + 1/2) / 256): softmax numerators for a logit d/256 below the top


SIGMOID32, TANH32 = SIGMOID.astype(np.int32), TANH.astype(np.int32)  # for the cell: every value fits 32 bits


@numba.njit(cache=True, nogil=True)
def _cell(features, kernel, recurrent_sums, steps, bias, cell, hidden):
    """The gates, cell and hidden state of rows 0..n-1 (cell and hidden are updated in place) from their
    features (int64, n x F), the input kernel's int8 values (as int32, F x 4H) and the exact recurrent sums. A gate's
    pre-activation is the input and recurrent sums times their steps (scale 2^24) plus the bias (scale
    2^12), floored to scale 2^12; it indexes the activation tables. In int64, as the float64 of format
    1.0 gave it (every sum is below 2^53, so that was exact too), and ~20 % faster: the table indices are
    unsigned, so the lookups need no wraparound. The input sums are formed here, in int32 (MAX_FEATURE), over
    each row's nonzero features only (4 of the quality network's 13: the others are one-hot bases and the
    start flag): the same integers as a product over all of them, and cheaper (a 13-input network's step
    took 41-45 ms per 100,000 rows with a float32 product, 34 with the sums in here, as an 8-input one's
    did with the product)."""
    n, h = cell.shape
    r = ACTIVATION_RANGE
    input_step, recurrent_step = np.int64(steps[0]), np.int64(steps[1])
    index = np.empty(4 * h, dtype=np.uint32)
    input_sums = np.empty(4 * h, dtype=np.int32)
    for j in range(n):
        input_sums[:] = 0
        for f in range(features.shape[1]):
            x = np.int32(features[j, f])
            if x != 0:
                for g in range(4 * h):
                    input_sums[g] += x * kernel[f, g]
        for g in range(4 * h):
            v = ((input_step * np.int64(input_sums[g]) + recurrent_step * np.int64(recurrent_sums[j, g]))
                 >> FRACTION_BITS) + bias[g]
            index[g] = np.uint32((min(r - 1, max(-r, v)) + r) >> TABLE_SHIFT)
        for u in range(h):  # Keras' gate order: input, forget, candidate cell, output
            c = (SIGMOID32[index[h + u]] * cell[j, u] + SIGMOID32[index[u]] * TANH32[index[2 * h + u]]) >> FRACTION_BITS
            c = min(r - 1, max(-r, c))
            cell[j, u] = c
            hidden[j, u] = (SIGMOID32[index[3 * h + u]] * TANH32[np.uint32((c + r) >> TABLE_SHIFT)]) >> FRACTION_BITS


@numba.njit(cache=True, nogil=True)
def _softmax(logit_sums, step, bias, out):
    """Exact dense sums (times their step: scale 2^24) plus the bias -> integer frequencies, each >= 1."""
    n, k = logit_sums.shape
    values = np.empty(k, dtype=np.int64)
    for j in range(n):
        top = -(1 << 62)
        for s in range(k):
            values[s] = ((step * np.int64(logit_sums[j, s])) >> FRACTION_BITS) + bias[s]
            top = max(top, values[s])
        for s in range(k):
            out[j, s] = EXP[min(top - values[s], SOFTMAX_RANGE - 1) >> TABLE_SHIFT]


_helpers = (None, None)  # (process id, thread pool): a pool does not survive a fork into a worker


def _helper_pool() -> ThreadPoolExecutor:
    """This process's helper threads (as many as it has cores, plus a few: shares beyond them wait)."""
    global _helpers
    if _helpers[0] != os.getpid():
        _helpers = (os.getpid(), ThreadPoolExecutor(thread_name_prefix="lstm"))
    return _helpers[1]


class LSTMRunner:
    """Per-row LSTM state for a block; `step` advances the live rows by one position.

    threads: how many threads share a step's rows. Rows are independent and each slice of them is
    computed the same way wherever it runs, so the result does not depend on it; the products (BLAS)
    and kernels (numba, nogil) release the GIL, so the slices run in parallel. A block's network is
    the longest part of its decoding (cProfile, hiseq_phred64_dots at -T1: 7.7 s of 20 s, while the
    bases take 4.5 s beside it), so helpers shorten what the other core waits for."""

    def __init__(self, model: QuantLSTM, n_rows: int, threads: int = 1):
        self.model = model
        self.threads = threads
        self.hidden = np.zeros((n_rows, model.hidden), dtype=model.recurrent.dtype)
        self.cell = np.zeros((n_rows, model.hidden), dtype=np.int32)  # within [-2^15, 2^15)

    def step(self, live: int, features: np.ndarray) -> np.ndarray:
        """features: int64 (live, n_inputs) at scale 2^12 for rows 0..live-1. Returns int64 (live, K)
        frequencies predicting this position's symbol from the features and the state before it.
        Rows are independent: they go through in slices whose temporary sums stay in cache."""
        m = self.model
        if live and np.abs(features).max() > MAX_FEATURE:
            raise ValueError("an LSTM feature is out of range: the input sums would not be exact")
        freqs = np.empty((live, m.n_classes), dtype=np.int64)
        slices = [(lo, min(live, lo + STEP_ROWS)) for lo in range(0, live, STEP_ROWS)]
        shares = min(self.threads, len(slices))
        if shares < 2:
            self._slices(slices, features, freqs)
            return freqs
        # contiguous shares of the slices: the helpers take the first ones, this thread the last
        bounds = [len(slices) * i // shares for i in range(shares + 1)]
        helped = [_helper_pool().submit(self._slices, slices[bounds[i]:bounds[i + 1]], features, freqs)
                  for i in range(shares - 1)]
        try:
            self._slices(slices[bounds[-2]:], features, freqs)
        finally:
            for task in helped:
                task.result()  # waits for each, and raises its error
        return freqs

    def _slices(self, slices: list, features: np.ndarray, freqs: np.ndarray) -> None:
        m = self.model
        for lo, hi in slices:
            hidden = self.hidden[lo:hi]
            recurrent_sums = hidden @ m.recurrent
            _cell(features[lo:hi], m.kernel, recurrent_sums, m.steps, m.bias, self.cell[lo:hi], hidden)
            _softmax(hidden @ m.dense, m.steps[2], m.dense_bias, freqs[lo:hi])
