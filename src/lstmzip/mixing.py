"""Geometric mixing of two integer frequency tables (context counts and the LSTM), in integer arithmetic.

log2 p_mix(s) = w_a log2 p_a(s) + w_b log2 p_b(s) + const. The weights (16.16 fixed point, one pair per
weight set) follow the gradient of the coding cost, once per chunk of rows, so a predictor that helps
gains weight and one that does not loses it. Logarithms are in 1/256 bit, from an integer table.
"""

from __future__ import annotations

import numba
import numpy as np

from .tables import LOG_UNIT, load

_TABLES = load()
LOG_MANTISSA = _TABLES["LOG_MANTISSA"]  # log2(1 + i/1024) in 1/256 bit, for mantissas 1024..2047
EXP2 = _TABLES["EXP2"]  # 2^16 * 2^(-d/256): frequencies for log values d/256 bit below the largest
WEIGHT_ONE = 1 << 16


@numba.njit(cache=True, inline="always")
def log2_fixed(x):
    """log2(x) in 1/256 bit for an integer x >= 1."""
    e = 0
    y = x
    while y >= 2048:
        y >>= 1
        e += 1
    while y < 1024:
        y <<= 1
        e -= 1
    return (e + 10) * LOG_UNIT + LOG_MANTISSA[y - 1024]


def _log2_table(size: int) -> np.ndarray:
    """log2_fixed(x) for x < size, computed at once: e = floor(log2 x) (exact from frexp for integers), then
    the 11-bit mantissa x / 2^(e - 10) looks up its fraction."""
    x = np.arange(size, dtype=np.int64)
    x[0] = 1  # log2(0) is never asked for
    e = np.frexp(x.astype(np.float64))[1].astype(np.int64) - 1
    shift = e - 10
    mantissa = np.where(shift >= 0, x >> np.maximum(shift, 0), x << np.maximum(-shift, 0))
    return e * LOG_UNIT + LOG_MANTISSA[mantissa - 1024]


LOG2 = _log2_table((1 << 16) + 1)  # every count and every network frequency is at most 2^16


@numba.njit(cache=True, inline="always")
def _log2(x):
    # an unsigned index (x >= 1): numba then drops its negative-index wraparound (mix() ~17 % faster)
    return LOG2[np.uint64(x)] if x < len(LOG2) else log2_fixed(x)


@numba.njit(cache=True, nogil=True)
def mix(freq_a, freq_b, weights, sets, log_a, log_b, out):
    """freq_a, freq_b: int64 (n, K) frequencies >= 1. Fills log_a, log_b (log2 probabilities, for the
    update) and out (mixed frequencies >= 1)."""
    n, k = freq_a.shape
    mixed = np.empty(k, dtype=np.int64)
    for j in range(n):
        total_a = np.int64(0)
        total_b = np.int64(0)
        for s in range(k):
            total_a += freq_a[j, s]
            total_b += freq_b[j, s]
        norm_a, norm_b = _log2(total_a), _log2(total_b)
        w_a, w_b = weights[sets[j], 0], weights[sets[j], 1]
        top = np.int64(-(1 << 62))
        for s in range(k):
            la = _log2(freq_a[j, s]) - norm_a
            lb = _log2(freq_b[j, s]) - norm_b
            log_a[j, s] = la
            log_b[j, s] = lb
            mixed[s] = (w_a * la + w_b * lb) >> 16
            top = max(top, mixed[s])
        for s in range(k):
            out[j, s] = EXP2[np.uint64(min(top - mixed[s], len(EXP2) - 1))]  # top >= mixed[s]


@numba.njit(cache=True, nogil=True)
def learn(symbols, coded, out, log_a, log_b, sets, weights, rate):
    """One gradient step per weight set along the mean gradient of the chunk's coding cost."""
    n, k = out.shape
    gradient = np.zeros(weights.shape, dtype=np.int64)
    seen = np.zeros(len(weights), dtype=np.int64)
    j = 0
    for i in range(len(symbols)):
        if not coded[i]:
            continue
        t = symbols[i]
        total = np.int64(0)
        expect_a = np.int64(0)
        expect_b = np.int64(0)
        for s in range(k):
            total += out[j, s]
            expect_a += out[j, s] * log_a[j, s]
            expect_b += out[j, s] * log_b[j, s]
        gradient[sets[j], 0] += log_a[j, t] - expect_a // total
        gradient[sets[j], 1] += log_b[j, t] - expect_b // total
        seen[sets[j]] += 1
        j += 1
    step_weights(weights, gradient, seen, rate)


@numba.njit(cache=True, nogil=True, inline="always")
def step_weights(weights, gradient, seen, rate):
    """Move each weight set that saw symbols along its mean gradient (bounded, so no weight runs away)."""
    for m in range(len(weights)):
        if seen[m]:
            for i in range(2):
                w = weights[m, i] + gradient[m, i] * rate // seen[m]
                weights[m, i] = min(8 * WEIGHT_ONE, max(-WEIGHT_ONE, w))
