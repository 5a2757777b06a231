"""The exact lookup tables of the learned predictor and the mixer: part of the archive format.

Each table is defined below with 40-digit decimal arithmetic, correctly rounded, so it is the same on
every platform. Computing them takes about half a second, at every start of lstmzip, so the package
ships them precomputed in tables.npz; tests/test_tables.py checks that the file equals these
definitions. After changing a definition (which needs a new format version), run
`python -m lstmzip.tables` to write the file again.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from pathlib import Path

import numpy as np

FRACTION_BITS = 12  # LSTM weights and activations are fixed point at scale 2^12
ONE = 1 << FRACTION_BITS
ACTIVATION_RANGE = 8 * ONE  # sigmoid and tanh inputs are clipped to [-8, 8)
TABLE_SHIFT = 4  # table step: 16 / 4096 = 1/256
SOFTMAX_RANGE = 16 * ONE  # logits more than 16 below the largest get the smallest frequency
FREQUENCY_BITS = 16
LOG_UNIT = 256  # the mixer's logarithms are in 1/256 bit

FILE = Path(__file__).with_name("tables.npz")


def _activation(function) -> np.ndarray:
    """function(x) * 2^12 at the midpoint of each 1/256 step of [-8, 8)."""
    points = (Decimal(i * (1 << TABLE_SHIFT) - ACTIVATION_RANGE + (1 << (TABLE_SHIFT - 1))) / ONE
              for i in range(2 * ACTIVATION_RANGE >> TABLE_SHIFT))
    return np.array([int((function(x) * ONE).to_integral_value()) for x in points], dtype=np.int64)


def build() -> dict[str, np.ndarray]:
    with localcontext() as context:
        context.prec = 40
        return {
            "SIGMOID": _activation(lambda x: 1 / (1 + (-x).exp())),
            "TANH": _activation(lambda x: ((2 * x).exp() - 1) / ((2 * x).exp() + 1)),
            # 2^16 * e^(-(d + 1/2) / 256): softmax numerators for a logit d/256 below the largest
            "EXP": np.array([max(1, int((Decimal(1 << FREQUENCY_BITS) * (-(Decimal(d) + Decimal("0.5")) / 256).exp())
                                        .to_integral_value())) for d in range(SOFTMAX_RANGE >> TABLE_SHIFT)],
                            dtype=np.int64),
            # log2(1 + i/1024) in 1/256 bit, for mantissas 1024..2047
            "LOG_MANTISSA": np.array([int((Decimal(1024 + i).ln() / Decimal(2).ln() * LOG_UNIT - 10 * LOG_UNIT)
                                          .to_integral_value()) for i in range(1024)], dtype=np.int64),
            # 2^16 * 2^(-d/256): frequencies for log values d/256 bit below the largest
            "EXP2": np.array([max(1, int((Decimal(65536) * (Decimal(2) ** (-Decimal(d) / LOG_UNIT))).to_integral_value()))
                              for d in range(16 * LOG_UNIT)], dtype=np.int64),
        }


def load() -> dict[str, np.ndarray]:
    with np.load(FILE) as shipped:
        return {name: shipped[name].astype(np.int64) for name in shipped.files}


if __name__ == "__main__":
    np.savez_compressed(FILE, **{name: table.astype("<i4") for name, table in build().items()})
    print(f"wrote {FILE}")
