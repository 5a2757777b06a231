import importlib.util
import math
import subprocess
import sys

import numpy as np
import pytest

from lstmzip import train
from lstmzip.train import TrainedLSTM, lstm_reference_logits, train_lstm

# find_spec, not importorskip: TensorFlow must first be imported by train.py, which sets its environment
needs_tensorflow = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="no TensorFlow")


def one_hot_task(rows=256, steps=24, classes=4, seed=0, shift=0):
    """Inputs are one-hot symbols; the target at step t is the input symbol at step t - shift."""
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, classes, (rows, steps + shift))
    inputs = np.eye(classes, dtype=np.float32)[symbols[:, shift:]]
    targets = symbols[:, :steps]
    mask = np.ones((rows, steps), dtype=bool)
    return inputs, targets, mask


def mean_cross_entropy(logits, targets, mask):
    logits = logits - logits.max(axis=-1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return float(-np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0][mask].mean())


def test_import_does_not_import_tensorflow():
    code = ("import sys, lstmzip.train\n"
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_arrays_are_refused_before_tensorflow():
    inputs, targets, mask = one_hot_task(rows=4, steps=5)
    with pytest.raises(ValueError):
        train_lstm(inputs[0], targets, mask, 4, 8, 1)
    with pytest.raises(ValueError):
        train_lstm(inputs, targets[:, :4], mask, 4, 8, 1)
    with pytest.raises(ValueError):
        train_lstm(inputs, targets + 4, mask, 4, 8, 1)
    with pytest.raises(ValueError):
        train_lstm(inputs, targets, np.zeros_like(mask), 4, 8, 1)


def test_rows_without_a_real_step_are_dropped_and_others_not_copied():
    inputs = np.arange(3 * 4 * 2, dtype=np.float32).reshape(3, 4, 2)
    targets = np.full((3, 4), 7)
    mask = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=bool)
    x, y, m = train._check_arrays(inputs, targets, mask, n_classes=8)
    assert np.array_equal(x, inputs[[0, 2]]) and x.flags.c_contiguous
    assert np.array_equal(y, [[7, 7, 0, 0], [7, 0, 0, 0]]) and np.array_equal(m, mask[[0, 2]])
    kept = inputs[[0, 2]]
    x, _, _ = train._check_arrays(kept, targets[[0, 2]], mask[[0, 2]], n_classes=8)
    assert x is kept  # every row used: TensorFlow's process holds the set once, not twice


@needs_tensorflow
def test_learns_the_current_symbol():
    inputs, targets, mask = one_hot_task(shift=0)
    model = train_lstm(inputs, targets, mask, n_classes=4, hidden=8, epochs=25)
    assert len(model.losses) == 25
    assert model.losses[-1] < 0.3 * math.log(4)
    assert model.losses[-1] < model.losses[0]
    # the returned float weights really are the trained network
    assert mean_cross_entropy(lstm_reference_logits(model, inputs), targets, mask) < 0.3 * math.log(4)


@needs_tensorflow
def test_learns_the_previous_symbol_and_ignores_padding():
    inputs, targets, mask = one_hot_task(shift=1, seed=1)
    rng = np.random.default_rng(2)
    lengths = rng.integers(12, 25, len(mask))
    mask = np.arange(mask.shape[1])[None, :] < lengths[:, None]
    padded = np.where(mask, targets, 99)  # padding targets are ignored, even out of range
    model = train_lstm(inputs, padded, mask, n_classes=4, hidden=16, epochs=30)
    assert model.losses[-1] < 0.5 * math.log(4)
    assert mean_cross_entropy(lstm_reference_logits(model, inputs), targets, mask) < 0.5 * math.log(4)


@needs_tensorflow
def test_same_seed_same_weights():
    inputs, targets, mask = one_hot_task(rows=100, steps=12, shift=1, seed=3)
    mask[::3, 9:] = False
    numpy_state = np.random.get_state()
    runs = [train_lstm(inputs, targets, mask, 4, 8, epochs=3, seed=seed) for seed in (7, 7, 8)]
    first, again, other = runs
    for name in train.TrainedLSTM.__dataclass_fields__:
        if name == "seconds":
            continue
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
    assert not np.array_equal(first.kernel, other.kernel)
    # the caller's global numpy random state is left alone
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]


@needs_tensorflow
def test_weight_shapes_and_dtypes():
    inputs, targets, mask = one_hot_task(rows=20, steps=6, classes=5)
    inputs = np.concatenate([inputs, np.ones_like(inputs[..., :2])], axis=-1)  # F = 7
    model = train_lstm(inputs, targets, mask, n_classes=5, hidden=3, epochs=1)
    expected = {"kernel": (7, 12), "recurrent_kernel": (3, 12), "bias": (12,), "dense_kernel": (3, 5),
                "dense_bias": (5,)}
    for name, shape in expected.items():
        array = getattr(model, name)
        assert isinstance(array, np.ndarray) and array.dtype == np.float32 and array.shape == shape, name
    assert (model.n_inputs, model.hidden, model.n_classes) == (7, 3, 5)
    assert isinstance(model.losses[0], float) and model.seconds > 0


@needs_tensorflow
def test_reference_logits_match_keras():
    """Pins the weight layout (gate order i, f, c, o) that the integer LSTM relies on."""
    _, keras = train._import_tensorflow()
    rng = np.random.default_rng(11)
    n_rows, steps, n_inputs, hidden, n_classes = 5, 30, 7, 6, 8
    keras.backend.clear_session()
    model = train._build_model(keras, steps, n_inputs, hidden, n_classes)
    # random weights in every position (including biases), large enough to drive the gates non-linear
    model.set_weights([rng.normal(0.0, 0.6, w.shape).astype(np.float32) for w in model.get_weights()])
    inputs = rng.normal(0.0, 1.0, (n_rows, steps, n_inputs)).astype(np.float32)
    expected = np.asarray(model.predict(inputs, verbose=0), dtype=np.float64)
    trained = train._trained_weights(model)
    keras.backend.clear_session()
    assert isinstance(trained, TrainedLSTM)
    got = lstm_reference_logits(trained, inputs)
    assert got.shape == (n_rows, steps, n_classes) and got.dtype == np.float64
    assert np.abs(expected).max() > 1.0  # the check means something
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    # and a permuted gate order would not pass
    swapped = TrainedLSTM(**{**trained.__dict__})
    h = hidden
    order = np.r_[h:2 * h, 0:h, 2 * h:4 * h]  # f, i, c, o
    swapped.kernel, swapped.recurrent_kernel, swapped.bias = (
        trained.kernel[:, order], trained.recurrent_kernel[:, order], trained.bias[order])
    assert np.abs(lstm_reference_logits(swapped, inputs) - expected).max() > 1e-2
