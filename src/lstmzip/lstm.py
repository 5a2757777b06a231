"""The LSTM predictor in exact integer arithmetic.

Keras trains the model (train.py); this module quantises its weights and runs the same network in fixed
point, so the encoder and every decoder compute identical probabilities on any CPU, BLAS kernel, thread
count and batch size:

- weights are int8 times an integer step per tensor, at scale 2^12; activations are at scale 2^12;
- matrix products run through float64 BLAS on these integers: every partial sum is an integer below 2^53,
  so the result is exact whatever order the kernel adds in;
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
STEP_ROWS = 1 << 14  # rows per matrix product in a step
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
        # everything at scale 2^12, as float64 for BLAS (exact: small integers)
        scaled = {name: values.astype(np.int64) * step for name, (values, step) in tensors.items()}
        self.input_weights = np.vstack([scaled["kernel"], scaled["recurrent_kernel"]]).astype(np.float64)
        self.bias = scaled["bias"]
        self.dense = scaled["dense_kernel"].astype(np.float64)
        self.dense_bias = scaled["dense_bias"]

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


@numba.njit(cache=True, inline="always")
def _table_index(products, bias):
    """A gate's pre-activation (float64 products at scale 2^24, plus bias at 2^12) as an index into the
    activation tables."""
    v = np.int64(np.floor(products / ONE)) + bias
    return (min(ACTIVATION_RANGE - 1, max(-ACTIVATION_RANGE, v)) + ACTIVATION_RANGE) >> TABLE_SHIFT


@numba.njit(cache=True)
def _cell(gates, bias, cell, hidden_out):
    """One LSTM step for rows 0..n-1 given their gate products; updates cell and hidden_out in place."""
    h = cell.shape[1]
    for j in range(gates.shape[0]):
        for u in range(h):
            i_gate = SIGMOID[_table_index(gates[j, u], bias[u])]
            f_gate = SIGMOID[_table_index(gates[j, h + u], bias[h + u])]
            g_value = TANH[_table_index(gates[j, 2 * h + u], bias[2 * h + u])]
            o_gate = SIGMOID[_table_index(gates[j, 3 * h + u], bias[3 * h + u])]
            c = (f_gate * cell[j, u] + i_gate * g_value) >> FRACTION_BITS
            c = min(ACTIVATION_RANGE - 1, max(-ACTIVATION_RANGE, c))
            cell[j, u] = c
            hidden_out[j, u] = (o_gate * TANH[(c + ACTIVATION_RANGE) >> TABLE_SHIFT]) >> FRACTION_BITS


@numba.njit(cache=True)
def _softmax(logits, bias, out):
    """logits: float64 (n, K) at scale 2^24 -> integer frequencies (n, K), each >= 1."""
    n, k = logits.shape
    values = np.empty(k, dtype=np.int64)
    for j in range(n):
        top = -(1 << 62)
        for s in range(k):
            values[s] = np.int64(np.floor(logits[j, s] / ONE)) + bias[s]
            top = max(top, values[s])
        for s in range(k):
            d = min(top - values[s], SOFTMAX_RANGE - 1)
            out[j, s] = EXP[d >> TABLE_SHIFT]


class LSTMRunner:
    """Per-row LSTM state for a block; `step` advances the live rows by one position."""

    def __init__(self, model: QuantLSTM, n_rows: int):
        self.model = model
        self.state = np.zeros((n_rows, model.n_inputs + model.hidden), dtype=np.float64)  # [inputs | hidden]
        self.cell = np.zeros((n_rows, model.hidden), dtype=np.int64)

    def step(self, live: int, features: np.ndarray) -> np.ndarray:
        """features: int (live, n_inputs) at scale 2^12 for rows 0..live-1. Returns int64 (live, K)
        frequencies predicting this position's symbol from the features and the state before it.
        Rows are independent, so they go through in slices that bound the temporary arrays."""
        m = self.model
        freqs = np.empty((live, m.n_classes), dtype=np.int64)
        for lo in range(0, live, STEP_ROWS):
            hi = min(live, lo + STEP_ROWS)
            state = self.state[lo:hi]
            state[:, : m.n_inputs] = features[lo:hi]
            gates = state @ m.input_weights
            hidden = np.empty((hi - lo, m.hidden), dtype=np.float64)
            _cell(gates, m.bias, self.cell[lo:hi], hidden)
            state[:, m.n_inputs :] = hidden
            _softmax(hidden @ m.dense, m.dense_bias, freqs[lo:hi])
        return freqs
