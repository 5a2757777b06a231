"""The LSTM predictor in exact integer arithmetic.

Keras trains the model (train.py); this module quantises its weights and runs the same network in fixed
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

import struct

import numba
import numpy as np

from .errors import CorruptArchiveError
from .tables import ACTIVATION_RANGE, FRACTION_BITS, ONE, SOFTMAX_RANGE, TABLE_SHIFT, load

MAX_STEP = 1 << 12  # weights up to 127 in magnitude
STEP_ROWS = 1 << 11  # rows per slice of a step: the slice's gate sums (2 x 1 MiB for hidden 32) stay in cache
_TABLES = load()
SIGMOID, TANH = _TABLES["SIGMOID"], _TABLES["TANH"]  # at the midpoints of 1/256 steps of [-8, 8), scale 2^12
EXP = _TABLES["EXP"]  # EXP[d] = 2^16 e^(-(d + 1/2) / 256): softmax numerators for a logit d/256 below the top


def quantise(weights: np.ndarray) -> tuple[np.ndarray, int]:
    """float weights -> int8 values and one integer step per tensor: value * step / 2^12 approximates the
    weight, with the int8 range spread over the tensor's largest weight."""
    largest = float(np.abs(weights).max(initial=0.0))
    step = min(MAX_STEP, max(1, int(np.ceil(largest * ONE / 127))))
    return np.clip(np.rint(weights * ONE / step), -127, 127).astype(np.int8), step


class QuantLSTM:
    """An LSTM with int8 weights. `to_bytes` is what the archive stores."""

    TENSORS = ("kernel", "recurrent_kernel", "bias", "dense_kernel", "dense_bias")

    def __init__(self, n_inputs: int, hidden: int, n_classes: int, tensors: dict[str, tuple[np.ndarray, int]]):
        self.n_inputs, self.hidden, self.n_classes = n_inputs, hidden, n_classes
        self.tensors = tensors  # name -> (int8 values, step)
        values = {name: v for name, (v, _) in tensors.items()}
        self.steps = np.array([tensors[name][1] for name in ("kernel", "recurrent_kernel", "dense_kernel")],
                              dtype=np.int64)
        # Products run on the int8 values; their steps are applied after, in integers.
        self.kernel = values["kernel"].astype(np.float64)
        # an input sum is at most (the largest feature) * kernel_abs_sum
        self.kernel_abs_sum = int(np.abs(values["kernel"].astype(np.int64)).max(axis=1, initial=0).sum())
        # the hidden state is at most 2^12 in magnitude, so these sums are below 2^24 for hidden <= 32
        largest = max(int(np.abs(values[name].astype(np.int64)).max(initial=0))
                      for name in ("recurrent_kernel", "dense_kernel"))
        self.recurrent = values["recurrent_kernel"].astype(_exact_float_type(hidden * largest * ONE))
        self.dense = values["dense_kernel"].astype(self.recurrent.dtype)
        self.bias = values["bias"].astype(np.int64) * tensors["bias"][1]  # at scale 2^12
        self.dense_bias = values["dense_bias"].astype(np.int64) * tensors["dense_bias"][1]

    @classmethod
    def from_float(cls, trained) -> "QuantLSTM":
        n_inputs, four_h = trained.kernel.shape
        tensors = {name: quantise(np.asarray(getattr(trained, name), dtype=np.float64)) for name in cls.TENSORS}
        return cls(n_inputs, four_h // 4, trained.dense_kernel.shape[1], tensors)

    def shapes(self) -> dict[str, tuple]:
        f, h, k = self.n_inputs, self.hidden, self.n_classes
        return {"kernel": (f, 4 * h), "recurrent_kernel": (h, 4 * h), "bias": (4 * h,), "dense_kernel": (h, k),
                "dense_bias": (k,)}

    @property
    def n_parameters(self) -> int:
        return sum(int(np.prod(shape)) for shape in self.shapes().values())

    def to_bytes(self) -> bytes:
        out = struct.pack("<HHH", self.n_inputs, self.hidden, self.n_classes)
        for name in self.TENSORS:
            values, step = self.tensors[name]
            out += struct.pack("<H", step) + values.tobytes()
        return out

    @classmethod
    def from_bytes(cls, data: bytes) -> "QuantLSTM":
        if len(data) < 6:
            raise CorruptArchiveError("LSTM weights are truncated")
        n_inputs, hidden, n_classes = struct.unpack_from("<HHH", data)
        if not (1 <= n_inputs <= 64 and 1 <= hidden <= 256 and 2 <= n_classes <= 256):
            raise CorruptArchiveError("LSTM weights have impossible sizes")
        model = cls.__new__(cls)
        model.n_inputs, model.hidden, model.n_classes = n_inputs, hidden, n_classes
        pos, tensors = 6, {}
        for name, shape in model.shapes().items():
            size = int(np.prod(shape))
            if pos + 2 + size > len(data):
                raise CorruptArchiveError("LSTM weights are truncated")
            (step,) = struct.unpack_from("<H", data, pos)
            if not 1 <= step <= MAX_STEP:
                raise CorruptArchiveError("LSTM weights are corrupt")
            tensors[name] = (np.frombuffer(data, dtype=np.int8, count=size, offset=pos + 2).reshape(shape), step)
            pos += 2 + size
        if pos != len(data):
            raise CorruptArchiveError("LSTM weights have trailing bytes")
        return cls(n_inputs, hidden, n_classes, tensors)


SIGMOID32, TANH32 = SIGMOID.astype(np.int32), TANH.astype(np.int32)  # for the cell: every value fits 32 bits


@numba.njit(cache=True, nogil=True)
def _cell(input_sums, recurrent_sums, steps, bias, cell, hidden):
    """The gates, cell and hidden state of rows 0..n-1 from their exact weighted sums (cell and hidden are
    updated in place). A gate's pre-activation is the two sums times their steps (scale 2^24, exact in
    float64) plus the bias (scale 2^12), floored to scale 2^12; it indexes the activation tables."""
    n, h = cell.shape
    input_step, recurrent_step = np.float64(steps[0]), np.float64(steps[1])
    bias_values = bias.astype(np.float64)
    index = np.empty(4 * h, dtype=np.int32)
    for j in range(n):
        for g in range(4 * h):
            v = np.floor((input_step * np.float64(input_sums[j, g]) + recurrent_step * np.float64(recurrent_sums[j, g]))
                         * (1.0 / ONE)) + bias_values[g]
            v = min(ACTIVATION_RANGE - 1.0, max(-ACTIVATION_RANGE * 1.0, v))
            index[g] = np.int32((v + ACTIVATION_RANGE) * (1.0 / (1 << TABLE_SHIFT)))
        for u in range(h):  # Keras' gate order: input, forget, candidate cell, output
            c = (SIGMOID32[index[h + u]] * cell[j, u] + SIGMOID32[index[u]] * TANH32[index[2 * h + u]]) >> FRACTION_BITS
            c = min(ACTIVATION_RANGE - 1, max(-ACTIVATION_RANGE, c))
            cell[j, u] = c
            hidden[j, u] = (SIGMOID32[index[3 * h + u]] * TANH32[(c + ACTIVATION_RANGE) >> TABLE_SHIFT]) >> FRACTION_BITS


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


def _exact_float_type(largest_sum: int):
    """float32 holds every integer below 2^24 exactly (and BLAS multiplies it twice as fast as float64):
    a product of integers whose every partial sum stays below that bound is exact in any order."""
    return np.float32 if largest_sum < 1 << 24 else np.float64


class LSTMRunner:
    """Per-row LSTM state for a block; `step` advances the live rows by one position."""

    def __init__(self, model: QuantLSTM, n_rows: int):
        self.model = model
        self.hidden = np.zeros((n_rows, model.hidden), dtype=model.recurrent.dtype)
        self.cell = np.zeros((n_rows, model.hidden), dtype=np.int32)  # within [-2^15, 2^15)

    def step(self, live: int, features: np.ndarray) -> np.ndarray:
        """features: int64 (live, n_inputs) at scale 2^12 for rows 0..live-1. Returns int64 (live, K)
        frequencies predicting this position's symbol from the features and the state before it.
        Rows are independent: they go through in slices whose temporary sums stay in cache."""
        m = self.model
        freqs = np.empty((live, m.n_classes), dtype=np.int64)
        # the input sums' bound depends on the features' range: checked per step, exact either way
        largest = int(np.abs(features).max(initial=0)) * m.kernel_abs_sum
        kernel = m.kernel.astype(_exact_float_type(largest), copy=False)
        for lo in range(0, live, STEP_ROWS):
            hi = min(live, lo + STEP_ROWS)
            hidden = self.hidden[lo:hi]
            input_sums = features[lo:hi].astype(kernel.dtype) @ kernel
            recurrent_sums = hidden @ m.recurrent
            _cell(input_sums, recurrent_sums, m.steps, m.bias, self.cell[lo:hi], hidden)
            _softmax(hidden @ m.dense, m.steps[2], m.dense_bias, freqs[lo:hi])
        return freqs
