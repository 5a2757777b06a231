"""The learned predictor: exact integer inference, its archive format, and that an archive with LSTM
models decodes to the same bytes under every BLAS kernel, thread count and CPU feature set."""

import hashlib
import io
import subprocess
import sys

import numpy as np
import pytest

from lstmzip import logistic, lstm, mixing, pipeline
from lstmzip.errors import CorruptArchiveError
from lstmzip.learning import BASE_FEATURES, QUALITY_FEATURES, Learned, QualityLSTM
from lstmzip.lstm import ONE, LSTMRunner, QuantLSTM
from lstmzip.train import TrainedLSTM, lstm_reference_logits

from conftest import corpus_records, decompress_bytes, fastq


def random_trained(rng, n_inputs: int, hidden: int, n_classes: int) -> TrainedLSTM:
    normal = lambda scale, *shape: rng.normal(0, scale, shape).astype(np.float32)
    return TrainedLSTM(normal(0.5, n_inputs, 4 * hidden), normal(0.3, hidden, 4 * hidden), normal(0.2, 4 * hidden),
                       normal(1.0, hidden, n_classes), normal(0.3, n_classes))


def random_learned(alphabet: bytes, seed: int = 0) -> Learned:
    """Untrained but complete models: they exercise every code path of the learned predictors."""
    rng = np.random.default_rng(seed)
    chars = np.frombuffer(alphabet, dtype=np.uint8)
    qualities = QualityLSTM(QuantLSTM.from_float(random_trained(rng, QUALITY_FEATURES, 8, len(chars))), chars,
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


def test_rows_do_not_depend_on_the_batch():
    rng = np.random.default_rng(4)
    model = QuantLSTM.from_float(random_trained(rng, 8, 16, 6))
    features = rng.integers(-ONE, ONE, (30, 5, 8))
    together, first, second = LSTMRunner(model, 30), LSTMRunner(model, 10), LSTMRunner(model, 20)
    for step in range(5):
        whole = together.step(30, features[:, step])
        parts = np.vstack([first.step(10, features[:10, step]), second.step(20, features[10:, step])])
        assert np.array_equal(whole, parts)


def test_weights_round_trip_and_corrupt_weights_are_refused():
    learned = random_learned(b"#/6<AE")
    again = Learned.from_bytes(learned.to_bytes())
    assert again.to_bytes() == learned.to_bytes()
    data = learned.to_bytes()
    for end in (0, 5, 20, len(data) // 2, len(data) - 1):
        with pytest.raises(CorruptArchiveError):
            Learned.from_bytes(data[:end] if end else b"\x01")


@pytest.fixture(scope="module")
def sample() -> bytes:
    records = corpus_records("nextseq_dropseq", 300)
    # lowercase and N in some reads, so exceptions pass through the base network's features too
    records[5] = records[5].replace(b"GG", b"gN", 3)
    return fastq(records)


def test_roundtrip_with_learned_models(sample):
    learned = random_learned(b"#/6<AE")
    archive = compress_with(sample, learned)
    assert Learned.from_bytes(learned.to_bytes()).qualities is not None
    assert decompress_bytes(archive) == sample
    assert decompress_bytes(archive, threads=2) == sample
    assert compress_with(sample, learned, threads=2) == archive


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
