"""Train the per-file LSTM with Keras; hand back plain float32 numpy weights.

Keras only trains here: the trained weights are quantised and run by the exact integer implementation in
`lstm.py`, which alone gives the range coder its probabilities. Decompression never trains, so this module
imports TensorFlow lazily, inside `train_lstm`, and importing `lstmzip.train` costs nothing.

The network is Input(T, F) -> LSTM(H, return_sequences=True) -> Dense(K) logits, trained with sparse
categorical cross-entropy from logits, masked by per-step sample weights (padding after a row's end weighs
0). Weight layout (Keras 3, `keras.layers.LSTM` with the default activations):

- ``kernel`` (F, 4H), ``recurrent_kernel`` (H, 4H), ``bias`` (4H,): columns are four blocks of H, in the
  gate order i (input), f (forget), c (candidate cell), o (output);
- ``dense_kernel`` (H, K), ``dense_bias`` (K,).

The step, for input x_t (F,) with h_0 = c_0 = 0 (`lstm_reference_logits` implements it)::

    z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias        # (4H,)
    i, f, g, o = sigmoid(z[:H]), sigmoid(z[H:2H]), tanh(z[2H:3H]), sigmoid(z[3H:])
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)
    logits_t = h_t @ dense_kernel + dense_bias                   # (K,)

sigmoid is the exact logistic 1 / (1 + e^-z) (Keras 3's default `recurrent_activation="sigmoid"`, checked at
run time), not hard_sigmoid.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field

import numpy as np

LEARNING_RATE = 1e-2
CLIPNORM = 1.0
BATCH_SIZE = 64
TF_THREADS = 2  # intra- and inter-op threads: the machines this runs on have 2 cores
# Up to this many steps, the LSTM runs unrolled, as one graph rather than a symbolic loop: the quality network
# trains in 75-90 % of the time (hiseq_phred64_dots's 16 default-level epochs 20.9 -> 18.5 s), to weights equal
# up to float round-off. The graph grows with the steps, and so does TensorFlow's process: +70 MiB at 100 steps
# (compress -T2 of hiseq_phred64_dots peaked at 974-979 MiB PSS, under issue 9's 1 GiB), while at 150-200
# (-9: hiseqx_151, ont_seqkit) the peaks rose from 1,060 / 971 MiB to 1,170 / 1,055. Longer rows train looped.
MAX_UNROLLED_STEPS = 100


@dataclass
class TrainedLSTM:
    """Float weights of a trained LSTM (layout in the module docstring) and how training went."""

    kernel: np.ndarray  # float32 (F, 4H), Keras gate order i, f, c, o
    recurrent_kernel: np.ndarray  # float32 (H, 4H)
    bias: np.ndarray  # float32 (4H,)
    dense_kernel: np.ndarray  # float32 (H, K)
    dense_bias: np.ndarray  # float32 (K,)
    losses: list[float] = field(default_factory=list)  # per epoch: mean cross-entropy, nats per real symbol
    seconds: float = 0.0  # wall time of training, excluding the TensorFlow import

    @property
    def n_inputs(self) -> int:
        return int(self.kernel.shape[0])

    @property
    def hidden(self) -> int:
        return int(self.recurrent_kernel.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.dense_kernel.shape[1])


def _import_tensorflow():
    """Import TensorFlow quietly, on TF_THREADS threads. Returns (tf, keras)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # oneDNN's graph rewrites print an absl INFO line that TF_CPP_MIN_LOG_LEVEL does not silence, can
    # change round-off with the CPU and batch shape; it gave no speed-up for this small LSTM on 2 cores.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(TF_THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(TF_THREADS)
    except RuntimeError:
        pass  # the TF runtime was already initialised (an earlier call): the threads are set already
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"lstmzip trains with Keras' TensorFlow backend, not {keras.backend.backend()!r}")
    return tf, keras


def _check_arrays(inputs, targets, mask, n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    inputs = np.asarray(inputs, dtype=np.float32)
    targets = np.asarray(targets)
    mask = np.asarray(mask, dtype=bool)
    if inputs.ndim != 3:
        raise ValueError(f"inputs must be (N, T, F), got shape {inputs.shape}")
    if targets.shape != inputs.shape[:2] or mask.shape != inputs.shape[:2]:
        raise ValueError(f"targets {targets.shape} and mask {mask.shape} must both be {inputs.shape[:2]}")
    if inputs.shape[0] == 0 or inputs.shape[1] == 0 or not mask.any():
        raise ValueError("nothing to train on: no unmasked step")
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must be integers, got {targets.dtype}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    real = targets[mask]
    if real.min() < 0 or real.max() >= n_classes:
        raise ValueError(f"targets must lie in 0..{n_classes - 1} where mask is True")
    # padding targets may hold anything: make them a valid class (their weight is 0)
    targets = np.where(mask, targets, 0).astype(np.int32)
    used = mask.any(axis=1)  # rows with no real step teach nothing: drop them
    if not used.all():  # boolean indexing copies: only where a row is dropped
        inputs, targets, mask = inputs[used], targets[used], mask[used]
    return np.ascontiguousarray(inputs), targets, mask


def _build_model(keras, steps: int, n_inputs: int, hidden: int, n_classes: int):
    """Input(steps, n_inputs) -> LSTM(hidden, return_sequences) -> Dense(n_classes) logits."""
    model = keras.Sequential([
        keras.Input((steps, n_inputs)),
        keras.layers.LSTM(hidden, return_sequences=True, unroll=steps <= MAX_UNROLLED_STEPS),
        keras.layers.Dense(n_classes),
    ])
    lstm, dense = model.layers
    if lstm.cell.recurrent_activation is not keras.activations.sigmoid or lstm.cell.activation is not keras.activations.tanh:
        raise RuntimeError("Keras' LSTM defaults changed: the integer LSTM needs the exact sigmoid and tanh")
    return model


def _trained_weights(model) -> TrainedLSTM:
    """The weights of a `_build_model` model, by variable (not by position in get_weights())."""
    lstm, dense = model.layers

    def array(variable):
        return np.array(variable.numpy(), dtype=np.float32)

    return TrainedLSTM(array(lstm.cell.kernel), array(lstm.cell.recurrent_kernel), array(lstm.cell.bias),
                       array(dense.kernel), array(dense.bias), [], 0.0)


def train_lstm(inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray, n_classes: int, hidden: int,
               epochs: int, seed: int = 0) -> TrainedLSTM:
    """Train LSTM(hidden) -> Dense(n_classes) to predict targets[n, t] from inputs[n, :t+1].

    inputs: float32 (N, T, F); targets: ints (N, T) in 0..n_classes-1; mask: bool (N, T), False on padding
    (which should come only after a row's end). Masked steps still run through the recurrence but are not
    scored: their targets are ignored (any value) and they add nothing to the loss. Rows with no real step
    are dropped.

    Trains for exactly `epochs` epochs (never "until time is up": the weights must not depend on the
    machine's load). Adam(LEARNING_RATE, clipnorm=CLIPNORM) on batches of
    BATCH_SIZE whole rows, reshuffled each epoch. `losses[e]` is epoch e's mean cross-entropy in nats per
    real (unmasked) symbol, summed over its batches as they trained (the usual running training loss).

    Deterministic: the same arrays and seed on the same machine (and TensorFlow build) give bit-identical
    weights. Side effects on the process: TensorFlow is imported and limited to TF_THREADS threads, op
    determinism is enabled for the whole process, and the Keras session is cleared before and after. The
    global `random` and `numpy.random` states are restored on return.
    """
    inputs, targets, mask = _check_arrays(inputs, targets, mask, n_classes)
    if hidden < 1:
        raise ValueError(f"hidden must be at least 1, got {hidden}")
    epochs = max(1, int(epochs))

    tf, keras = _import_tensorflow()
    started = time.perf_counter()
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()

        n_rows, steps, n_inputs = inputs.shape
        model = _build_model(keras, steps, n_inputs, hidden, n_classes)
        optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE, clipnorm=CLIPNORM)
        optimizer.build(model.trainable_variables)
        weights = mask.astype(np.float32)
        # Batches are whole rows, shuffled each epoch by a numpy generator seeded here. The last batch is
        # filled up with weight-0 copies of rows so that every batch has the same shape (one trace).
        order_rng = np.random.default_rng(seed)
        batch = min(BATCH_SIZE, n_rows)
        n_batches = -(-n_rows // batch)
        filler = n_batches * batch - n_rows
        total_weight = float(weights.sum())
        # Each batch's loss is its summed cross-entropy over the mean number of real steps in a batch (not
        # over its own count), so every real symbol weighs the same whatever the padding of its batch.
        per_batch = tf.constant(total_weight * batch / n_rows, tf.float32)

        @tf.function(jit_compile=False)
        def step(x, y, w):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                cross_entropy = tf.reduce_sum(w * tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
                loss = cross_entropy / per_batch
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(gradients, model.trainable_variables)
            return cross_entropy

        losses = []
        for _ in range(epochs):
            order = order_rng.permutation(n_rows)
            epoch_sum = 0.0
            for b in range(n_batches):
                rows = order[b * batch:(b + 1) * batch]
                w = weights[rows]
                if len(rows) < batch:
                    rows = np.concatenate([rows, order[:filler]])
                    w = np.concatenate([w, np.zeros((filler, steps), np.float32)])
                epoch_sum += float(step(inputs[rows], targets[rows], w))
            losses.append(epoch_sum / total_weight)
        trained = _trained_weights(model)
    finally:
        keras.backend.clear_session()
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    trained.losses = losses
    trained.seconds = time.perf_counter() - started
    return trained


def lstm_reference_logits(model: TrainedLSTM, inputs: np.ndarray) -> np.ndarray:
    """The network's logits (N, T, K) for inputs (N, T, F), in float64 numpy (the module docstring's step)."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != model.n_inputs:
        raise ValueError(f"inputs must be (N, T, {model.n_inputs}), got shape {x.shape}")
    kernel, recurrent, bias = (np.asarray(w, dtype=np.float64)
                               for w in (model.kernel, model.recurrent_kernel, model.bias))
    dense_kernel = np.asarray(model.dense_kernel, dtype=np.float64)
    dense_bias = np.asarray(model.dense_bias, dtype=np.float64)
    n_rows, steps, _ = x.shape
    h_size = model.hidden
    h = np.zeros((n_rows, h_size))
    c = np.zeros((n_rows, h_size))
    projected = x @ kernel + bias  # (N, T, 4H)
    states = np.empty((n_rows, steps, h_size))

    def sigmoid(z):
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^-z), without overflow warnings

    for t in range(steps):
        z = projected[:, t] + h @ recurrent
        i = sigmoid(z[:, :h_size])
        f = sigmoid(z[:, h_size:2 * h_size])
        g = np.tanh(z[:, 2 * h_size:3 * h_size])
        o = sigmoid(z[:, 3 * h_size:])
        c = f * c + i * g
        h = o * np.tanh(c)
        states[:, t] = h
    return states @ dense_kernel + dense_bias
