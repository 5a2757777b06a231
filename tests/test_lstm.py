"""The learned predictor: exact integer inference, its archive format, and that an archive with LSTM
models decodes to the same bytes under every BLAS kernel, thread count and CPU feature set."""

import hashlib
import io
import struct
import subprocess
import sys

import numpy as np
import pytest

from lstmzip import logistic, lstm, mixing, networks, packing, pipeline
from lstmzip.errors import CorruptArchiveError
from lstmzip.networks import BASE_FEATURES, QUALITY_FEATURES, QUALITY_FEATURES_3_4, Learned, QualityLSTM, QuantLSTM
from lstmzip.lstm import ONE, LSTMRunner
from lstmzip.train import TrainedLSTM, lstm_reference_logits

from conftest import corpus_records, decompress_bytes, fastq, seal, split_archive


def random_trained(rng, n_inputs: int, hidden: int, n_classes: int) -> TrainedLSTM:
    normal = lambda scale, *shape: rng.normal(0, scale, shape).astype(np.float32)
    return TrainedLSTM(normal(0.5, n_inputs, 4 * hidden), normal(0.3, hidden, 4 * hidden), normal(0.2, 4 * hidden),
                       normal(1.0, hidden, n_classes), normal(0.3, n_classes))


def random_learned(alphabet: bytes, seed: int = 0, quality_features: int = QUALITY_FEATURES) -> Learned:
    """Untrained but complete models: they exercise every code path of the learned predictors.
    quality_features: QUALITY_FEATURES, or QUALITY_FEATURES_3_4 for a quality network as 3.4 wrote them."""
    rng = np.random.default_rng(seed)
    chars = np.frombuffer(alphabet, dtype=np.uint8)
    qualities = QualityLSTM(QuantLSTM.from_float(random_trained(rng, quality_features, 8, len(chars))), chars,
                            int(chars.mean() * 16), 160)
    return Learned(QuantLSTM.from_float(random_trained(rng, BASE_FEATURES, 8, 4)), qualities)


def compress_with(data: bytes, learned: Learned, threads: int = 1) -> bytes:
    out = io.BytesIO()
    pipeline.compress_stream(io.BytesIO(data), out, 6, threads, learned=learned)
    return out.getvalue()


def test_tables_are_pinned():
    """The integer tables are part of the format: any change would break old archives."""
    digest = hashlib.sha256()
    for table in (logistic.SQUASH, logistic.STRETCH, logistic.RATE, lstm.SIGMOID, lstm.TANH, lstm.EXP,
                  mixing.LOG_MANTISSA, mixing.EXP2):
        digest.update(table.astype("<i8").tobytes())
    assert digest.hexdigest()[:16] == PINNED_TABLES


PINNED_TABLES = "003645c22fddb63d"


def test_integer_network_follows_the_float_network():
    rng = np.random.default_rng(3)
    trained = random_trained(rng, 8, 16, 6)
    features = rng.integers(-ONE, ONE, (40, 12, 8))
    reference = lstm_reference_logits(trained, (features / ONE).astype(np.float32))
    runner = LSTMRunner(QuantLSTM.from_float(trained), 40)
    for step in range(12):
        freq = runner.step(40, features[:, step, :])
        exact = np.exp(reference[:, step] - reference[:, step].max(axis=1, keepdims=True))
        exact /= exact.sum(axis=1, keepdims=True)
        assert np.abs(freq / freq.sum(axis=1, keepdims=True) - exact).max() < 0.03


class Float64Reference:
    """The LSTM step of format 1.0 as first written: one float64 BLAS product of [inputs | hidden] with the
    scaled weights, then the tables. The fused kernel must give exactly its frequencies."""

    def __init__(self, model: QuantLSTM, n_rows: int):
        scaled = {name: values.astype(np.int64) * step for name, (values, step) in model.tensors.items()}
        self.weights = np.vstack([scaled["kernel"], scaled["recurrent_kernel"]]).astype(np.float64)
        self.bias, self.dense_bias = scaled["bias"], scaled["dense_bias"]
        self.dense = scaled["dense_kernel"].astype(np.float64)
        self.f, self.h = model.n_inputs, model.hidden
        self.state = np.zeros((n_rows, self.f + self.h))
        self.cell = np.zeros((n_rows, self.h), dtype=np.int64)

    def step(self, live, features):
        f, h, r = self.f, self.h, lstm.ACTIVATION_RANGE
        state = self.state[:live]
        state[:, :f] = features
        gates = state @ self.weights
        index = lambda q: (np.clip(np.floor(gates[:, q * h : (q + 1) * h] / ONE).astype(np.int64)
                                   + self.bias[q * h : (q + 1) * h], -r, r - 1) + r) >> lstm.TABLE_SHIFT
        i, f_, g, o = lstm.SIGMOID[index(0)], lstm.SIGMOID[index(1)], lstm.TANH[index(2)], lstm.SIGMOID[index(3)]
        cell = np.clip((f_ * self.cell[:live] + i * g) >> lstm.FRACTION_BITS, -r, r - 1)
        self.cell[:live] = cell
        hidden = (o * lstm.TANH[(cell + r) >> lstm.TABLE_SHIFT]) >> lstm.FRACTION_BITS
        state[:, f:] = hidden
        values = np.floor(hidden @ self.dense / ONE).astype(np.int64) + self.dense_bias
        d = np.minimum(values.max(axis=1, keepdims=True) - values, lstm.SOFTMAX_RANGE - 1)
        return lstm.EXP[d >> lstm.TABLE_SHIFT]


def extreme_model(rng, n_inputs: int, hidden: int, n_classes: int) -> QuantLSTM:
    """Every weight value +-127 at the largest step: the largest sums the kernel can meet."""
    shapes = {"kernel": (n_inputs, 4 * hidden), "recurrent_kernel": (hidden, 4 * hidden), "bias": (4 * hidden,),
              "dense_kernel": (hidden, n_classes), "dense_bias": (n_classes,)}
    return QuantLSTM(n_inputs, hidden, n_classes, {
        name: ((rng.integers(0, 2, shape) * 254 - 127).astype(np.int8), networks.MAX_STEP) for name, shape in shapes.items()})


@pytest.mark.parametrize("kind,n_inputs,hidden,n_classes", [
    ("trained", 6, 16, 4), ("trained", 8, 32, 41), ("trained", 8, 8, 6), ("trained", 13, 32, 41),
    ("extreme", 8, 32, 59), ("extreme", 6, 16, 4), ("extreme", 8, 64, 41), ("extreme", 13, 32, 41)])
def test_fused_kernel_equals_the_float64_products(kind, n_inputs, hidden, n_classes):
    rng = np.random.default_rng(hidden + n_classes)
    if kind == "trained":
        model = QuantLSTM.from_float(random_trained(rng, n_inputs, hidden, n_classes))
        features = rng.integers(-ONE, ONE + 1, (300, 25, n_inputs))
    else:
        model = extreme_model(rng, n_inputs, hidden, n_classes)
        features = rng.choice([-8 * ONE, -ONE, 0, ONE, 8 * ONE], (300, 25, n_inputs))  # the features' extremes
    assert model.recurrent.dtype == (np.float32 if hidden <= 32 else np.float64)
    fused, reference = LSTMRunner(model, 300), Float64Reference(model, 300)
    for step in range(25):
        live = 300 - 10 * step  # rows end, as reads do
        assert np.array_equal(fused.step(live, features[:live, step]), reference.step(live, features[:live, step]))
        assert np.array_equal(fused.cell[:live], reference.cell[:live])


def test_rows_do_not_depend_on_the_batch():
    rng = np.random.default_rng(4)
    model = QuantLSTM.from_float(random_trained(rng, 8, 16, 6))
    features = rng.integers(-ONE, ONE, (30, 5, 8))
    together, first, second = LSTMRunner(model, 30), LSTMRunner(model, 10), LSTMRunner(model, 20)
    for step in range(5):
        whole = together.step(30, features[:, step])
        parts = np.vstack([first.step(10, features[:10, step]), second.step(20, features[10:, step])])
        assert np.array_equal(whole, parts)


def test_threads_share_a_step_without_changing_it(monkeypatch):
    """A step's slices of rows, split between threads, give the same frequencies and states as one thread."""
    monkeypatch.setattr(lstm, "STEP_ROWS", 16)  # many slices from few rows
    rng = np.random.default_rng(5)
    model = extreme_model(rng, 8, 32, 41)
    features = rng.choice([-8 * ONE, -ONE, 0, ONE, 8 * ONE], (150, 6, 8))
    runners = [LSTMRunner(model, 150, threads) for threads in (1, 2, 3, 16)]
    for step in range(6):
        live = 150 - 23 * step  # 10 slices of 16 rows at first, 3 at the end
        alone, *shared = [runner.step(live, features[:live, step]) for runner in runners]
        for runner, freqs in zip(runners[1:], shared):
            assert np.array_equal(freqs, alone)
            assert np.array_equal(runner.cell, runners[0].cell) and np.array_equal(runner.hidden, runners[0].hidden)


def test_weights_round_trip_and_corrupt_weights_are_refused():
    learned = random_learned(b"#/6<AE")
    again = Learned.from_bytes(learned.to_bytes())
    assert again.to_bytes() == learned.to_bytes()
    data = learned.to_bytes()
    for end in (0, 5, 20, len(data) // 2, len(data) - 1):
        with pytest.raises(CorruptArchiveError):
            Learned.from_bytes(data[:end] if end else b"\x01")
    # a quality network reads the features of 3.4 (8) or of 3.5 (13), no other number
    rng = np.random.default_rng(6)
    chars = np.frombuffer(b"#/6<AE", dtype=np.uint8)
    for n_inputs in (QUALITY_FEATURES_3_4, QUALITY_FEATURES, 9, 18):
        network = QualityLSTM(QuantLSTM.from_float(random_trained(rng, n_inputs, 4, len(chars))), chars, 500, 160)
        if n_inputs in (QUALITY_FEATURES_3_4, QUALITY_FEATURES):
            assert QualityLSTM.from_bytes(network.to_bytes()).model.n_inputs == n_inputs
        else:
            with pytest.raises(CorruptArchiveError, match="^quality LSTM is corrupt$"):
                QualityLSTM.from_bytes(network.to_bytes())


def test_features_beyond_their_range_are_refused_not_summed_inexactly():
    """The input sums are int32 (lstm._cell): exact only for features within MAX_FEATURE."""
    rng = np.random.default_rng(8)
    runner = LSTMRunner(extreme_model(rng, 13, 32, 41), 4)
    features = np.full((4, 13), lstm.MAX_FEATURE)
    runner.step(4, features)
    features[2, 5] = -lstm.MAX_FEATURE - 1
    with pytest.raises(ValueError, match="^an LSTM feature is out of range"):
        runner.step(4, features)


@pytest.fixture(scope="module")
def sample() -> bytes:
    records = corpus_records("nextseq_dropseq", 300)
    # lowercase and N in some reads, so exceptions pass through the base network's features too
    records[5] = records[5].replace(b"GG", b"gN", 3)
    return fastq(records)


@pytest.mark.parametrize("quality_features", [QUALITY_FEATURES, QUALITY_FEATURES_3_4])
def test_roundtrip_with_learned_models(sample, quality_features):
    learned = random_learned(b"#/6<AE", quality_features=quality_features)
    archive = compress_with(sample, learned)
    assert Learned.from_bytes(learned.to_bytes()).qualities is not None
    assert decompress_bytes(archive) == sample
    assert decompress_bytes(archive, threads=2) == sample
    assert compress_with(sample, learned, threads=2) == archive


def test_the_learned_models_are_stored_packed_and_unpacking_damage_is_refused(sample):
    """Since 3.5 the header stores the networks' bytes packed (LZMA2); models that do not unpack, behind a
    valid checksum, are refused with a message, not decoded."""
    learned = random_learned(b"#/6<AE")
    archive = compress_with(sample, learned)
    payload, models, blocks, statistics, major = split_archive(archive)
    assert models == learned.to_bytes()
    assert struct.unpack_from("<I", archive, 8 + 4 + struct.unpack_from("<I", archive, 8)[0])[0] \
        == len(packing.compress(models)) < len(models)
    assert seal(payload, models, blocks, statistics) == archive
    for stored in (b"\x01" + models, b"\x07" + models):  # not LZMA2; an unknown method
        with pytest.raises(CorruptArchiveError, match=r"^archive header is corrupt \(its learned models do not unpack\)$"):
            decompress_bytes(seal(payload, models, blocks, statistics, stored_models=stored))
    with pytest.raises(CorruptArchiveError):  # cut short: fewer bytes than the networks need
        decompress_bytes(seal(payload, models, blocks, statistics, stored_models=packing.compress(models)[:-3]))
    # a 3.4 member stores them as they are
    assert decompress_bytes(seal(payload, models, blocks, statistics, minor=4)) == sample


def test_network_classes_missing_from_a_block(sample):
    """The block has quality characters the network never saw: they get the smallest frequency."""
    learned = random_learned(b"/<E")
    assert decompress_bytes(compress_with(sample, learned)) == sample


ENVIRONMENTS = [
    {"OPENBLAS_CORETYPE": "Prescott"},
    {"OPENBLAS_CORETYPE": "Haswell"},
    {"OPENBLAS_NUM_THREADS": "1"},
    {"OPENBLAS_NUM_THREADS": "2"},
    {"NPY_DISABLE_CPU_FEATURES": "AVX2,FMA3,AVX512F"},
]


def test_decoding_is_exact_under_every_blas_kernel_and_cpu_feature_set(sample, tmp_path):
    import os

    archive = tmp_path / "sample.lz"
    archive.write_bytes(compress_with(sample, random_learned(b"#/6<AE")))
    for extra in ENVIRONMENTS:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS", "NPY_"))} | extra
        result = subprocess.run([sys.executable, "-m", "lstmzip", "decompress", "-c", "-T1", str(archive)],
                                capture_output=True, env=env)
        assert result.returncode == 0, (extra, result.stderr)
        assert result.stdout == sample, extra


def test_decoding_never_imports_tensorflow(sample, tmp_path):
    archive = tmp_path / "sample.lz"
    archive.write_bytes(compress_with(sample, random_learned(b"#/6<AE")))
    blocker = (
        "import sys\n"
        "sys.modules['tensorflow'] = sys.modules['keras'] = None  # any import of them now fails\n"
        "from lstmzip.cli import main\n"
        "main(sys.argv[1:], prog_name='lstmzip')\n"
    )
    page, multiqc = tmp_path / "page.html", tmp_path / "multiqc"
    for command in (["decompress", "-c"], ["cat"], ["test"], ["list"], ["list", "--json"], ["report", "-o", page],
                    ["report", "--multiqc", multiqc]):
        result = subprocess.run([sys.executable, "-c", blocker, *map(str, command), str(archive)], capture_output=True)
        assert result.returncode == 0, (command, result.stderr)
        if command[0] in ("decompress", "cat"):
            assert result.stdout == sample
    assert "plotly" in page.read_text() and (multiqc / "sample.lstmzip_mqc.json").exists()


@pytest.mark.parametrize("quality_features", [QUALITY_FEATURES, QUALITY_FEATURES_3_4])
def test_bases_and_qualities_decoded_in_step_equal_one_after_the_other(sample, quality_features):
    """With two threads the quality decoder reads each step's bases as the base decoder finishes it;
    the result is the same, and damage to either stream is an error, not a hang."""
    from lstmzip import container, levels, streams
    from lstmzip.fastq import read_blocks

    learned = random_learned(b"#/6<AE", quality_features=quality_features)
    archive = io.BytesIO(compress_with(sample, learned))
    header, models, size = container.read_header(archive)
    params = levels.check_params(header["params"])
    info, parts = next(container.read_blocks(archive, params, size))
    block = next(read_blocks(io.BytesIO(sample), 1 << 20, 1 << 30))
    args = (block.lengths, params, learned.bases, learned.qualities)
    for threads in (1, 2):
        seq, qual = streams.decode_bases_and_qualities(parts[3], parts[4], *args, threads)
        assert seq.tobytes() == block.seq.tobytes() and qual.tobytes() == block.qual.tobytes()
    for which in (3, 4):
        damaged = list(parts)
        damaged[which] = damaged[which][:-1]  # its last section is now cut short
        for threads in (1, 2):
            with pytest.raises(CorruptArchiveError, match="^stream section is longer than the stream$"):
                streams.decode_bases_and_qualities(damaged[3], damaged[4], *args, threads)


def test_the_quality_network_codes_with_the_features_it_trained_on():
    """Keras trains on quality_training_set's features; coding feeds the network step by step with those
    of QualityLSTMRun: they must be the same numbers, the next base (3.5) included, also at a row's last
    position (no next base) and for bases that are not A, C, G or T."""
    from lstmzip import learning, streams
    from lstmzip.rows import make_rows

    rng = np.random.default_rng(7)
    lengths = np.array([6, 9, 1, 9, 0, 4, 9])
    seq = rng.choice(np.frombuffer(b"ACGTNa", dtype=np.uint8), int(lengths.sum()))
    qual = rng.choice(np.frombuffer(b"#/6<AE", dtype=np.uint8), int(lengths.sum()))
    learned = random_learned(b"#/6<AE").qualities
    alphabet = learned.alphabet
    reads = np.flatnonzero(lengths)
    trained, _, valid = learning.quality_training_set(seq, qual, lengths, reads, 9, alphabet, learned.table())
    assert trained.shape == (len(reads), 9, QUALITY_FEATURES) and trained[..., 8:].any()

    rows = make_rows(lengths, 1024, 1)
    read_of_row = np.searchsorted(np.cumsum(lengths), rows.row_start, side="right")
    run = learning.QualityLSTMRun(learned, alphabet, streams._known_base_codes(seq, rows), rows, 10, 4)
    seen = []
    run.runner.step = lambda live, features: seen.append(features.copy()) or np.ones((live, len(alphabet)), np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    for step in range(rows.steps):
        live = rows.live(step)
        prev = qual[starts[read_of_row[:live]] + max(step - 1, 0)]
        run.begin_step(step, live, np.searchsorted(alphabet, prev))
    for step, features in enumerate(seen):
        for row, read in enumerate(read_of_row[:len(features)]):
            expected = trained[np.searchsorted(reads, read), step]
            assert valid[np.searchsorted(reads, read), step]
            assert np.array_equal(features[row], (expected * ONE).astype(np.int64)), (step, read)
