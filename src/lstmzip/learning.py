"""The learned predictors: which features the LSTMs see, how they are trained on a sample of the input,
whether they pay for their weights, and how they plug into the base and quality models.

Bases (the notebook's method `s`): the previous base, one-hot. Qualities (method `q+s`): the previous
quality normalised as the notebook does ((q - mean) / std), the current base one-hot, the position in
the read and, since format 3.5, the next base one-hot (the bases are decoded before their qualities, so
the decoder knows it; a network of 3.4 or before, with 8 inputs, runs without it). Features are integers
at scale 2^12, built by one function for training and for coding, so Keras trains on exactly the inputs
the integer network later sees.
"""

from __future__ import annotations

import numba
import numpy as np

from . import mixing, packing, workers
from .logistic import STRETCH
from .lstm import ONE, LSTMRunner
from .networks import BASE_FEATURES, QUALITY_FEATURES, QUALITY_FEATURES_3_4, Learned, QualityLSTM, QuantLSTM
from .rows import Rows

BASE_CODE = np.full(256, 4, dtype=np.uint8)  # A C G T (either case) -> 0..3, anything else 4
for _code, _letter in enumerate(b"ACGT"):
    BASE_CODE[_letter] = BASE_CODE[_letter | 0x20] = _code
POSITION_SETS, CONFIDENCE_SETS = 8, 8
MIX_SETS = POSITION_SETS * CONFIDENCE_SETS


@numba.njit(cache=True, nogil=True)
def base_features(start, prev_code):
    """start: bool (n,), the first position of a row; prev_code: previous base code 0..4 (n,)."""
    features = np.zeros((len(start), BASE_FEATURES), dtype=np.int64)
    for j in range(len(start)):
        if start[j]:
            features[j, 0] = ONE
        else:
            features[j, 1 + prev_code[j]] = ONE
    return features


@numba.njit(cache=True, nogil=True)
def quality_features(start, prev_char, base_code, next_code, position, table, n_features):
    """All arguments (n,): start of row, previous quality character, current base code, next base code (4
    after the row's end), position in read; table maps a quality character to its normalised value.
    n_features: QUALITY_FEATURES, or QUALITY_FEATURES_3_4 (no next base)."""
    features = np.zeros((len(start), n_features), dtype=np.int64)
    for j in range(len(start)):
        if start[j]:
            features[j, 0] = ONE
        else:
            features[j, 1] = table[prev_char[j]]
        features[j, 2 + base_code[j]] = ONE
        features[j, 7] = min(position[j], 1023) * 16  # position / 256
        if n_features > QUALITY_FEATURES_3_4:
            features[j, 8 + next_code[j]] = ONE
    return features


@numba.njit(cache=True, nogil=True)
def _node_stretch(freq, out):
    """A, C, G, T frequencies -> the stretched probabilities of the base model's three binary nodes (high
    bit; low bit if it is 0; low bit if it is 1)."""
    for j in range(len(freq)):
        a, c, g, t = freq[j, 0], freq[j, 1], freq[j, 2], freq[j, 3]
        out[j, 0] = STRETCH[min(4095, max(1, (g + t) * 4096 // (a + c + g + t)))]
        out[j, 1] = STRETCH[min(4095, max(1, c * 4096 // (a + c)))]
        out[j, 2] = STRETCH[min(4095, max(1, t * 4096 // (g + t)))]


@numba.njit(cache=True, nogil=True)
def _block_frequencies(freq, class_of, known, position, set_shift, out, sets):
    """The network's frequencies mapped to the block's alphabet (1 for a character it never saw), and each
    row's mixing weight set: its position range and the network's confidence (largest probability)."""
    for j in range(len(freq)):
        total, top = 0, 0
        for s in range(freq.shape[1]):
            total += freq[j, s]
            top = max(top, freq[j, s])
        for s in range(out.shape[1]):
            out[j, s] = freq[j, class_of[s]] if known[s] else 1
        confidence = min(top * CONFIDENCE_SETS // total, CONFIDENCE_SETS - 1)
        sets[j] = min(position[j] >> set_shift, POSITION_SETS - 1) * CONFIDENCE_SETS + confidence


class BaseLSTMRun:
    """The base network over a block: per step, its prediction as three stretched binary node
    probabilities, one more input of the base model's mixer."""

    def __init__(self, model: QuantLSTM, n_rows: int, threads: int = 1):
        self.runner = LSTMRunner(model, n_rows, threads)
        self.stretched = np.zeros((n_rows, 3), dtype=np.int64)

    def begin_step(self, step: int, live: int, prev_code: np.ndarray) -> None:
        freq = self.runner.step(live, base_features(np.full(live, step == 0), prev_code[:live]))
        _node_stretch(freq, self.stretched)


class QualityLSTMRun:
    """The quality network over a block: per step, its frequencies for the block's alphabet, mixed
    geometrically with the context counts (weights learnt per position range)."""

    def __init__(self, learned: QualityLSTM, block_alphabet: np.ndarray, base_codes, rows: Rows,
                 set_shift: int, rate: int, threads: int = 1):
        """base_codes(step, live): the codes (0-3, 4 = other) of the bases at this step of rows 0..live-1;
        threads: for the network's steps (lstm.LSTMRunner)."""
        self.runner = LSTMRunner(learned.model, rows.n_rows, threads)
        self.n_features = learned.model.n_inputs
        self.table = learned.table()
        self.block_alphabet = block_alphabet
        self.class_of = np.minimum(np.searchsorted(learned.alphabet, block_alphabet), len(learned.alphabet) - 1)
        self.known = learned.alphabet[self.class_of] == block_alphabet
        self.base_codes, self.rows = base_codes, rows
        self.set_shift, self.rate = set_shift, rate
        self.weights = np.tile(np.array([mixing.WEIGHT_ONE, mixing.WEIGHT_ONE // 2], dtype=np.int64), (MIX_SETS, 1))

    def begin_step(self, step: int, live: int, prev_symbol: np.ndarray) -> None:
        position = self.rows.row_offset[:live] + step
        base_code = self.base_codes(step, live)
        # the next base (a 3.4 network reads none): the base decoder runs a step further ahead for it
        next_code = self.rows.after(self.base_codes, step, live, 4) if self.n_features > QUALITY_FEATURES_3_4 \
            else base_code
        features = quality_features(np.full(live, step == 0), self.block_alphabet[prev_symbol[:live]], base_code,
                                    next_code, position, self.table, self.n_features)
        self.freq = np.empty((live, len(self.block_alphabet)), dtype=np.int64)
        self.sets = np.empty(live, dtype=np.int64)
        _block_frequencies(self.runner.step(live, features), self.class_of, self.known, position, self.set_shift,
                           self.freq, self.sets)

    def mix(self, step: int, rows: np.ndarray, freq: np.ndarray) -> np.ndarray:
        n, k = freq.shape
        self.log_a, self.log_b = np.empty((n, k), dtype=np.int64), np.empty((n, k), dtype=np.int64)
        # every quality is coded, so a chunk's rows are a range: views, not copies
        chunk = slice(rows[0], rows[-1] + 1) if n and rows[-1] - rows[0] == n - 1 else rows
        self.out, self.chunk_sets = np.empty((n, k), dtype=np.int64), self.sets[chunk]
        mixing.mix(freq, self.freq[chunk], self.weights, self.chunk_sets, self.log_a, self.log_b, self.out)
        return self.out

    def learn(self, symbols: np.ndarray, coded: np.ndarray) -> None:
        mixing.learn(symbols, coded, self.out, self.log_a, self.log_b, self.chunk_sets, self.weights, self.rate)


# ---------------------------------------------------------------- training (compression only)

def _sample_reads(lengths: np.ndarray, count: int, rng) -> np.ndarray:
    candidates = np.flatnonzero(lengths > 0)
    return np.sort(rng.choice(candidates, min(count, len(candidates)), replace=False))


def _padded(flat: np.ndarray, lengths: np.ndarray, reads: np.ndarray, steps: int, fill: int) -> np.ndarray:
    """The first `steps` symbols of each chosen read as a padded (n, steps) matrix."""
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[reads]
    t = np.arange(steps)
    valid = t[None, :] < lengths[reads][:, None]
    index = np.where(valid, starts[:, None] + t[None, :], 0)
    return np.where(valid, flat[index], fill), valid


def base_training_set(seq: np.ndarray, lengths: np.ndarray, reads: np.ndarray, steps: int):
    codes, valid = _padded(BASE_CODE[seq], lengths, reads, steps, 4)
    prev = np.concatenate((np.full((len(reads), 1), 4), codes[:, :-1]), axis=1)
    start = np.zeros(codes.shape, dtype=bool)
    start[:, 0] = True
    features = base_features(start.ravel(), prev.ravel()).reshape(*codes.shape, BASE_FEATURES)
    return features.astype(np.float32) / ONE, np.minimum(codes, 3), valid & (codes < 4)


def quality_training_set(seq, qual, lengths, reads, steps, learned_alphabet, table):
    chars, valid = _padded(qual, lengths, reads, steps, int(learned_alphabet[0]))
    codes, _ = _padded(BASE_CODE[seq], lengths, reads, steps + 1, 4)  # and the base after the last step
    next_codes, codes = codes[:, 1:], codes[:, :-1]
    prev = np.concatenate((chars[:, :1], chars[:, :-1]), axis=1)
    start = np.zeros(chars.shape, dtype=bool)
    start[:, 0] = True
    position = np.broadcast_to(np.arange(steps), chars.shape)
    features = quality_features(start.ravel(), prev.ravel(), codes.ravel(), next_codes.ravel(), position.ravel(),
                                table, QUALITY_FEATURES)
    targets = np.searchsorted(learned_alphabet, chars)
    return features.reshape(*chars.shape, QUALITY_FEATURES).astype(np.float32) / ONE, targets, valid


def fit(seq: np.ndarray, qual: np.ndarray, lengths: np.ndarray, settings: dict, evaluate) -> Learned:
    """Train both networks on a sample of the reads and keep each only where it pays for its weights.
    `evaluate(kind, learned, reads)` returns the coded bytes of those reads' stream with the given
    models, so the decision uses the real coder."""
    from .train import train_lstm  # TensorFlow: only here, only when compressing at a level that trains

    rng = np.random.default_rng(settings["seed"])
    reads = _sample_reads(lengths, settings["train_reads"] + settings["check_reads"], rng)
    rng.shuffle(reads)
    n_check = min(settings["check_reads"], len(reads) // 4)  # few long reads: keep a quarter to check
    check, train = np.sort(reads[:n_check]), np.sort(reads[n_check:])
    steps = int(min(settings["max_steps"], lengths[train].max(initial=1)))
    learned, report = Learned(), {}
    if len(train) == 0 or len(check) == 0:
        return learned

    alphabet = np.flatnonzero(np.bincount(qual, minlength=256)).astype(np.uint8)
    sample = qual[: min(len(qual), 1 << 20)].astype(np.float64)
    mean_x16, std_x16 = int(round(sample.mean() * 16)), max(16, int(round(sample.std() * 16)))
    candidates = {"bases": lambda: base_training_set(seq, lengths, train, steps)} if settings["bases"] else {}
    if len(alphabet) > 1:
        table = QualityLSTM(None, alphabet, mean_x16, std_x16).table()
        candidates["qualities"] = lambda: quality_training_set(seq, qual, lengths, train, steps, alphabet, table)

    # Both networks train in one fresh process, one after the other: TensorFlow's memory goes when training
    # ends, the coding workers forked later do not inherit it, and only one TensorFlow runtime is resident.
    # A training set is built when its turn comes and is not kept here once sent: while a network trains,
    # this process holds no training set (30-50 MiB of float32 that TensorFlow's process holds already).
    trained_models = {}
    with workers.Pool(1, "spawn") as pool:
        for kind, make_set in candidates.items():
            n_classes = 4 if kind == "bases" else len(alphabet)
            trained_models[kind] = pool.submit(train_lstm, *make_set(), n_classes, settings[kind]["hidden"],
                                               settings[kind]["epochs"], settings["seed"]).get()

    for kind, trained in trained_models.items():
        model = QuantLSTM.from_float(trained)
        candidate = model if kind == "bases" else QualityLSTM(model, alphabet, mean_x16, std_x16)
        without = evaluate(kind, Learned(), check)
        with_lstm = evaluate(kind, Learned(**{kind: candidate}), check)
        symbols = int(lengths[check].sum())
        weight_bytes = len(packing.compress(candidate.to_bytes()))
        # what the network saves over the block, scaled from the check sample, against its weights
        saving = (without - with_lstm) * int(lengths.sum()) / max(1, symbols)
        used = saving > 2 * weight_bytes
        if used:
            setattr(learned, kind, candidate)
        report[kind] = {
            "used": used, "hidden": model.hidden, "parameters": model.n_parameters, "weight_bytes": weight_bytes,
            "train_seconds": round(trained.seconds, 2), "epochs": len(trained.losses),
            "losses": [round(x, 5) for x in trained.losses],
            "bits_per_symbol_without": round(8 * without / max(1, symbols), 4),
            "bits_per_symbol_with": round(8 * with_lstm / max(1, symbols), 4),
        }
    learned.report = report
    return learned
