"""Base model: A/C/G/T from the previous bases of the row.

Each base is two binary decisions (high bit, then low bit), so a 4-way distribution needs three binary
nodes per context. Several order-k context models give a 16-bit probability per node; a logistic mixer
(integer weights, selected by node and by how often the highest order has seen its context) combines
them. High orders are also trained on the reverse complement, since reads come from both strands.
Everything is integer arithmetic: the decoder on any machine reproduces the encoder's tables bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .logistic import RATE, SQUASH, STRETCH

U64 = np.uint64
AHEAD = 256  # rows whose counters are fetched into the cache before they are used
HASH_MULTIPLIER = U64(0x9E3779B97F4A7C15)
CONFIDENCE_BUCKETS = 4
BIAS_INPUT = 256


@intrinsic
def _prefetch(typingctx, array, index):
    """Start loading array[index] into the cache (LLVM's prefetch: a hint, no effect on any result). The
    counters are far larger than the cache: fetching a few hundred rows' slots at once lets the loads
    overlap instead of waiting one after the other."""
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        pointer = cgutils.get_item_pointer(context, builder, array_type,
                                           context.make_array(array_type)(context, builder, args[0]), [args[1]],
                                           wraparound=False)
        byte_pointer, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]), "llvm.prefetch.p0i8")
        builder.call(function, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])  # read, keep, data
        return context.get_dummy_value()

    return types.void(array, index), codegen


@numba.njit(cache=True, inline="always")
def _slot(ctx, order, bits):
    """Table slot of a context: direct for small orders, a multiplicative hash for the rest."""
    if 2 * order <= bits:
        return np.int64(ctx)
    return np.int64(((ctx + U64(1)) * HASH_MULTIPLIER) >> U64(64 - bits))


# A counter is one uint32: the probability of a 1 (16 bits) and how often it was trained (bits 16-23),
# so a context's three node counters sit in one 16-byte slot: one cache line per model and base. The
# probability is stored XOR 1/2, so a new counter (p = 1/2, never trained) is 0: the tables are
# allocated zeroed and the system maps their pages only when they are first touched.
COUNT_SHIFT = 16
PROB_MASK = np.uint32(0xFFFF)
HALF = 32768


@numba.njit(cache=True, inline="always")
def _prob(counters, i):
    return np.int64(counters[i] & PROB_MASK) ^ HALF


@numba.njit(cache=True, inline="always")
def _count(counters, i):
    return np.int64(counters[i] >> COUNT_SHIFT)


@numba.njit(cache=True, inline="always")
def _train(counters, i, bit, limit):
    c = counters[i]
    p = np.int64(c & PROB_MASK) ^ HALF
    n = np.int64(c >> COUNT_SHIFT)
    if bit:
        p += ((65535 - p) * RATE[n]) >> 16
    else:
        p -= (p * RATE[n]) >> 16
    if n < limit:
        n += 1
    counters[i] = np.uint32((p ^ HALF) | (n << COUNT_SHIFT))


@numba.njit(cache=True, nogil=True)
def _predict(rows, hist, orders, bits, offsets, counters, weights, slots, inputs, mixed, selector,
             extra, extra_sets, out):
    """extra: (E, rows, 3) stretched node probabilities of E extra predictors (the LSTM, the match model);
    extra_sets: each row's weight set within its confidence bucket (the match state), or an empty array."""
    n_models = len(orders)
    n_extra = len(extra)
    n_sets = len(weights) // 3
    top = n_models - 1
    for j in range(len(rows)):
        if j % AHEAD == 0:  # the slots of the next AHEAD rows, and their counters on the way to the cache
            for jj in range(j, min(len(rows), j + AHEAD)):
                rr = rows[jj]
                h = hist[rr]
                for m in range(n_models):
                    ctx = h & ((U64(1) << U64(2 * orders[m])) - U64(1))
                    slots[rr, m] = offsets[m] + 4 * _slot(ctx, orders[m], bits[m])
                    _prefetch(counters, slots[rr, m])
        r = rows[j]
        seen = _count(counters, slots[r, top])
        confidence = 0 if seen == 0 else (1 if seen < 4 else (2 if seen < 16 else 3))
        if len(extra_sets):
            confidence = confidence * (n_sets // CONFIDENCE_BUCKETS) + extra_sets[r]
        selector[r] = confidence
        for node in range(3):
            w = weights[node * n_sets + confidence]
            dot = np.int64(0)
            for m in range(n_models):
                s = STRETCH[_prob(counters, slots[r, m] + node) >> 4]
                inputs[r, node, m] = s
                dot += np.int64(w[m]) * s
            for e in range(n_extra):
                s = extra[e, r, node]
                inputs[r, node, n_models + e] = s
                dot += np.int64(w[n_models + e]) * s
            inputs[r, node, n_models + n_extra] = BIAS_INPUT
            dot += np.int64(w[n_models + n_extra]) * BIAS_INPUT
            dot >>= 16
            dot = min(2047, max(-2047, dot))
            p = min(4095, max(1, np.int64(SQUASH[dot + 2048])))
            mixed[r, node] = p
        hi, lo_if0, lo_if1 = mixed[r, 0], mixed[r, 1], mixed[r, 2]
        out[j, 0] = (4096 - hi) * (4096 - lo_if0) / 16777216.0
        out[j, 1] = (4096 - hi) * lo_if0 / 16777216.0
        out[j, 2] = hi * (4096 - lo_if1) / 16777216.0
        out[j, 3] = hi * lo_if1 / 16777216.0


@numba.njit(cache=True, nogil=True)
def _update(step, first_row, symbols, coded, hist, rc, orders, bits, offsets, rc_models, limits, counters, weights,
            slots, inputs, mixed, selector, learning_rate):
    n_models = len(orders)
    # All rows of a step were predicted with the same weights, so the mixer takes one step along the
    # mean gradient: per-row updates from stale predictions would add up and diverge on wide steps.
    gradient = np.zeros(weights.shape, dtype=np.int64)
    updates = np.zeros(len(weights), dtype=np.int64)
    rc_slots = np.empty((AHEAD, len(rc_models)), dtype=np.int64)
    n_sets = len(weights) // 3
    for j in range(len(symbols)):
        if j % AHEAD == 0:  # the next AHEAD rows' reverse-complement contexts, and all their counters
            for jj in range(j, min(len(symbols), j + AHEAD)):
                rr = first_row + jj
                for m in range(n_models):
                    _prefetch(counters, slots[rr, m])
                for i in range(len(rc_models)):
                    m = rc_models[i]
                    k = orders[m]
                    # The reverse strand reads complement(b[p]), ..., complement(b[p-k+1]) then complement(b[p-k]).
                    rc[m, rr] = (rc[m, rr] >> U64(2)) | (U64(3 - np.int64(symbols[jj])) << U64(2 * k - 2))
                    rc_slots[jj - j, i] = offsets[m] + 4 * _slot(rc[m, rr], k, bits[m])
                    _prefetch(counters, rc_slots[jj - j, i])
        r = first_row + j
        b = np.int64(symbols[j])
        if coded[j]:
            high = b >> 1
            for visit in range(2):
                node = 0 if visit == 0 else 1 + high
                bit = high if visit == 0 else b & 1
                weight_set = node * n_sets + selector[r]
                err = (bit << 12) - mixed[r, node]
                for i in range(inputs.shape[2]):
                    gradient[weight_set, i] += inputs[r, node, i] * err
                updates[weight_set] += 1
                for m in range(n_models):
                    _train(counters, slots[r, m] + node, bit, limits[m])
        old = hist[r]
        hist[r] = (old << U64(2)) | U64(b)
        for i in range(len(rc_models)):
            m = rc_models[i]
            k = orders[m]
            if step >= k:
                c = 3 - np.int64((old >> U64(2 * k - 2)) & U64(3))
                base = rc_slots[j % AHEAD, i]
                _train(counters, base, c >> 1, limits[m])
                _train(counters, base + 1 + (c >> 1), c & 1, limits[m])
    for weight_set in range(len(weights)):
        if updates[weight_set]:
            for i in range(weights.shape[1]):
                weights[weight_set, i] += (gradient[weight_set, i] // updates[weight_set] * learning_rate) >> 10


class BaseModel:
    """A stepped predictor (see coder.py) for base symbols 0..3."""

    alphabet = 4

    def __init__(self, params: dict, n_rows: int, n_symbols: int, lstm=None, match=None):
        self.lstm = lstm  # a learning.BaseLSTMRun, or None
        self.match = match  # a match.MatchModel, or None
        self.orders = np.array(params["orders"], dtype=np.int64)
        # tables no larger than the block can fill: small files start fast and stay small in memory
        self.bits = np.minimum(np.array(params["table_bits"], dtype=np.int64), max(12, n_symbols.bit_length() + 1))
        self.limits = np.array(params["count_limits"], dtype=np.int64)
        self.rc_models = np.flatnonzero(params["reverse_complement"]).astype(np.int64)
        self.learning_rate = int(params["learning_rate"])
        sizes = 4 << np.minimum(self.bits, 2 * self.orders)
        self.offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        self.counters = np.zeros(int(sizes.sum()), dtype=np.uint32)
        n_models = len(self.orders)
        n_extra = (1 if lstm else 0) + (1 if match else 0)
        self.extra = np.zeros((n_extra, n_rows, 3), dtype=np.int16)  # the LSTM's, then the match model's
        if lstm:
            lstm.stretched = self.extra[0]
        n_inputs = n_models + n_extra + 1  # context models, the LSTM, the match model, the bias
        self.extra_sets = match.sets if match else np.zeros(0, dtype=np.int64)
        n_sets = CONFIDENCE_BUCKETS * (match.weight_sets if match else 1)
        self.weights = np.full((3 * n_sets, n_inputs), (1 << 16) * 3 // (2 * n_models), dtype=np.int64)
        self.weights[:, n_inputs - 1] = 0
        self.hist = np.zeros(n_rows, dtype=np.uint64)
        self.rc = np.zeros((n_models, n_rows), dtype=np.uint64)
        self.slots = np.zeros((n_rows, n_models), dtype=np.int64)
        self.inputs = np.zeros((n_rows, 3, n_inputs), dtype=np.int16)  # stretched: |s| <= 2047
        self.prev_code = np.full(n_rows, 4, dtype=np.int8)  # the row's previous base, 4 = none or not ACGT
        self.mixed = np.zeros((n_rows, 3), dtype=np.int16)  # 12-bit probabilities
        self.selector = np.zeros(n_rows, dtype=np.int8)  # the weight set within a node

    def begin_step(self, step: int, live: int) -> None:
        if self.lstm:
            self.lstm.begin_step(step, live, self.prev_code)

    def predict(self, step: int, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), 4), dtype=np.float64)
        if self.match:
            self.match.predict(step, rows, self.hist, self.extra[-1])
        _predict(rows, self.hist, self.orders, self.bits, self.offsets, self.counters, self.weights, self.slots,
                 self.inputs, self.mixed, self.selector, self.extra, self.extra_sets, out)
        return out

    def update(self, step: int, first_row: int, symbols: np.ndarray, coded: np.ndarray) -> None:
        if self.match:  # it reads the rows' bases before this step from self.hist
            self.match.update(step, first_row, symbols, coded, self.hist)
        _update(step, first_row, symbols, coded, self.hist, self.rc, self.orders, self.bits, self.offsets, self.rc_models,
                self.limits, self.counters, self.weights, self.slots, self.inputs, self.mixed,
                self.selector, self.learning_rate)
        self.prev_code[first_row : first_row + len(symbols)] = np.where(coded, symbols, 4)
