"""The whole learned path: Keras trains per file, the archive carries the models, decoding is exact,
and training is deterministic (same input -> same archive, whatever -T)."""

import io

from lstmzip import pipeline

from conftest import corpus_records, decompress_bytes, fastq


def test_trained_models_are_used_and_deterministic():
    data = fastq(corpus_records("nextseq_dropseq", 7000))  # 680k bases: enough to train
    archives, reports = [], []
    for threads in (1, 2):
        out = io.BytesIO()
        stats = pipeline.compress_stream(io.BytesIO(data), out, 2, threads)
        archives.append(out.getvalue())
        reports.append(stats.learning)
    assert archives[0] == archives[1]
    report = reports[0]
    assert set(report) == {"bases", "qualities"}
    qualities = report["qualities"]
    assert qualities["used"] and qualities["epochs"] == 8 and qualities["hidden"] == 16
    assert qualities["bits_per_symbol_with"] < qualities["bits_per_symbol_without"]
    assert qualities["losses"][-1] < qualities["losses"][0]
    assert decompress_bytes(archives[0], threads=2) == data
