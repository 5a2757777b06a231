"""Integer logistic-domain tables shared by the binary models and the mixer.

Built with integer arithmetic only (the squash curve is interpolated between 33 fixed points, as in
lpaq1), so every machine gets the same tables and therefore the same probabilities.
"""

import numpy as np

PROB_BITS = 12  # probabilities handed between counters and the mixer are 12-bit: 1..4095
STRETCH_LIMIT = 2047  # stretch(p) = ln(p / (1 - p)) * 256, clipped to +-2047

_SQUASH_POINTS = (
    1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546,
    2047, 2549, 2994, 3348, 3607, 3785, 3901, 3975, 4024, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094,
)


def _squash(d: int) -> int:
    """4096 / (1 + e^(-d/256)) for d in -2047..2047, by integer interpolation."""
    if d > 2047:
        return 4095
    if d < -2047:
        return 1
    w = d & 127
    i = (d >> 7) + 16
    return (_SQUASH_POINTS[i] * (128 - w) + _SQUASH_POINTS[i + 1] * w + 64) >> 7


def _tables() -> tuple[np.ndarray, np.ndarray]:
    squash = np.array([_squash(d) for d in range(-2048, 2048)], dtype=np.int32)  # index d + 2048
    stretch = np.zeros(4096, dtype=np.int32)  # the inverse of squash, index p
    pi = 0
    for x in range(-2047, 2048):
        v = _squash(x)
        stretch[pi : v + 1] = x
        pi = max(pi, v + 1)
    stretch[pi:] = 2047
    return squash, stretch


SQUASH, STRETCH = _tables()

# Adaptive counter rates: after n updates a counter moves 1/(n + 1.5) of the way to the new bit,
# as a frequency count would, until n reaches the model's limit.
RATE = np.array([131072 // (2 * n + 3) for n in range(256)], dtype=np.int32)
