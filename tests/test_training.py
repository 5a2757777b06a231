"""The whole learned path: Keras trains per file, the archive carries the models, decoding is exact,
and training is deterministic (same input -> same archive, whatever -T)."""

import io

from lstmzip import container, levels, pipeline

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


def test_the_quality_network_is_sized_to_the_first_block_from_level_7():
    """Its weights pay for themselves only over enough qualities: hidden 8 below 1 M."""
    nine = levels.params_for_level(9)
    assert [levels.sized_for(nine, 9, n)["training"]["qualities"]["hidden"]
            for n in (0, 999_999, 1_000_000, 4_000_000)] == [8, 8, 32, 32]
    assert nine["training"]["qualities"]["hidden"] == 32  # the level's own parameters are left as they are
    for level in (1, 3, 6):
        assert levels.sized_for(levels.params_for_level(level), level, 1000) == levels.params_for_level(level)
    # compress records it in the header (this input is too small to train on at all)
    archive = io.BytesIO()
    pipeline.compress_stream(io.BytesIO(fastq(corpus_records("ga2_ecoli", 50))), archive, 9, 1)
    header, _, _ = container.read_header(io.BytesIO(archive.getvalue()))
    assert header["params"]["training"]["qualities"]["hidden"] == 8
