"""The networks an archive carries, as stored: int8 weights with an integer step per tensor, the bytes
that hold them, and the checks made when an archive's are read. Light on purpose (numpy only): `list`,
`report` and every header check read networks without loading the numba kernels that run them (lstm.py,
learning.py).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from . import packing
from .errors import CorruptArchiveError
from .tables import ONE

MAX_STEP = 1 << 12  # weights up to 127 in magnitude
BASE_FEATURES = 6  # start of row, previous base A C G T other
# start of row, previous quality, current base A C G T other, position, and since format 3.5 the next base
# A C G T other (the bases decode before their qualities; at -9 it codes miseq_n701's qualities 1.8 % smaller)
QUALITY_FEATURES = 13
QUALITY_FEATURES_3_4 = 8  # before 3.5: no next base; such networks (archives, model files) run as they were


def exact_float_type(largest_sum: int):
    """float32 holds every integer below 2^24 exactly (and BLAS multiplies it twice as fast as float64):
    a product of integers whose every partial sum stays below that bound is exact in any order."""
    return np.float32 if largest_sum < 1 << 24 else np.float64


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
        # Products run on the int8 values; their steps are applied after, in integers. The input sums are
        # formed in int32 by lstm._cell; the recurrent and dense products go to BLAS.
        self.kernel = values["kernel"].astype(np.int32)
        # the hidden state is at most 2^12 in magnitude, so these sums are below 2^24 for hidden <= 32
        largest = max(int(np.abs(values[name].astype(np.int64)).max(initial=0))
                      for name in ("recurrent_kernel", "dense_kernel"))
        self.recurrent = values["recurrent_kernel"].astype(exact_float_type(hidden * largest * ONE))
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


@dataclass
class QualityLSTM:
    """The quality network with what it needs around it: its classes (quality characters) and the
    normalisation of its input (mean and standard deviation of the characters, in 1/16)."""

    model: QuantLSTM
    alphabet: np.ndarray  # uint8 quality characters, one per class
    mean_x16: int
    std_x16: int

    def table(self) -> np.ndarray:
        chars = np.arange(256, dtype=np.int64)
        values = (chars * 16 - self.mean_x16) * ONE // self.std_x16
        return np.clip(values, -8 * ONE, 8 * ONE)

    def to_bytes(self) -> bytes:
        return struct.pack("<iiB", self.mean_x16, self.std_x16, len(self.alphabet) - 1) + \
            self.alphabet.tobytes() + self.model.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "QualityLSTM":
        if len(data) < 9:
            raise CorruptArchiveError("quality LSTM is truncated")
        mean_x16, std_x16, n = struct.unpack_from("<iiB", data)
        alphabet = np.frombuffer(data, dtype=np.uint8, count=min(n + 1, len(data) - 9), offset=9)
        if std_x16 < 1 or len(alphabet) != n + 1 or (alphabet < 33).any() or (alphabet > 126).any():
            raise CorruptArchiveError("quality LSTM is corrupt")
        model = QuantLSTM.from_bytes(data[10 + n :])
        if model.n_inputs not in (QUALITY_FEATURES, QUALITY_FEATURES_3_4) or model.n_classes != n + 1:
            raise CorruptArchiveError("quality LSTM is corrupt")
        return cls(model, alphabet, mean_x16, std_x16)


@dataclass
class Learned:
    """The models one archive carries (either may be absent) and what training reported."""

    bases: QuantLSTM | None = None
    qualities: QualityLSTM | None = None
    report: dict = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return packing.join_sections([self.bases.to_bytes() if self.bases else b"",
                                      self.qualities.to_bytes() if self.qualities else b""])

    @classmethod
    def from_bytes(cls, data: bytes) -> "Learned":
        if not data:
            return cls()
        bases, qualities = packing.split_sections(data, 2)
        learned = cls(QuantLSTM.from_bytes(bases) if bases else None,
                      QualityLSTM.from_bytes(qualities) if qualities else None)
        if learned.bases and (learned.bases.n_inputs != BASE_FEATURES or learned.bases.n_classes != 4):
            raise CorruptArchiveError("base LSTM is corrupt")
        return learned
