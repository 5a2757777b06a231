"""The quality model with a base context (base_quals.py): exact round trips, decoding in step with the
bases, the choice made at compression, and the parameters a header may carry."""

import copy
import io
import os
import time

import numpy as np
import pytest

from lstmzip import base_quals, container, levels, pipeline, streams
from lstmzip.errors import CorruptArchiveError
from lstmzip.fastq import read_blocks

from conftest import compress_bytes, corpus_records, decompress_bytes, fastq


@pytest.fixture(scope="module")
def nanopore() -> bytes:
    records = corpus_records("ont_seqkit", 400)
    # N, lowercase and IUPAC among the bases the qualities are predicted from
    records[3] = records[3].replace(b"AC", b"aN", 20).replace(b"GT", b"RY", 5)
    return fastq(records)


def block_of(data: bytes):
    return next(read_blocks(io.BytesIO(data), 1 << 22, 1 << 30))


def with_base_context(context=base_quals.CANDIDATE, level=6) -> dict:
    params = levels.params_for_level(level)
    params["qualities"]["base_context"] = dict(context)
    return levels.check_params(params)


@pytest.mark.parametrize("context", [base_quals.CANDIDATE, base_quals.MIXED_CANDIDATE,
                                     {"bases": 0, "run_levels": 1, "q2_levels": 1},
                                     {"bases": 3, "run_levels": 8, "q2_levels": 16},
                                     {"bases": 1, "run_levels": 2, "q2_levels": 2, "ahead": 1},
                                     {"bases": 0, "run_levels": 1, "q2_levels": 1,
                                      "coarse": {"bases": 0, "mixer_rate": 4096}}])
def test_qualities_round_trip_with_a_base_context(nanopore, context):
    block = block_of(nanopore)
    params = with_base_context(context)
    data = streams.encode_qualities(block.qual, block.lengths, params, None, block.seq)
    bases = streams.encode_bases(block.seq, block.lengths, params)
    for threads in (1, 2):  # one after the other, and the qualities behind the bases in a thread
        seq, qual = streams.decode_bases_and_qualities(bases, data, block.lengths, params, None, None, threads)
        assert seq.tobytes() == block.seq.tobytes() and qual.tobytes() == block.qual.tobytes()


@pytest.mark.parametrize("coarse", [None, {"bases": 1, "mixer_rate": 4}])
def test_the_widest_alphabet_fits_the_counts(nanopore, coarse):
    """94 quality characters with the largest context: the model takes fewer levels instead."""
    block = block_of(nanopore)
    rng = np.random.default_rng(1)
    qual = rng.integers(33, 127, len(block.qual), dtype=np.uint8)
    context = {"bases": 3, "run_levels": 8, "q2_levels": 16}
    params = with_base_context(context | {"ahead": 1, "coarse": coarse} if coarse else context)
    data = streams.encode_qualities(qual, block.lengths, params, None, block.seq)
    codes = streams._known_base_codes(block.seq, streams._rows(block.lengths, params))
    assert streams.decode_qualities(data, block.lengths, params, None, codes).tobytes() == qual.tobytes()


def test_nanopore_qualities_are_smaller_with_the_bases(nanopore):
    block = block_of(nanopore)

    def size(params):
        return len(streams.encode_qualities(block.qual, block.lengths, params, None, block.seq))

    plain = size(levels.params_for_level(6))
    assert size(with_base_context()) < 0.98 * plain
    # 3.2: the base ahead and the coarse mix (2.4 % on the whole of ont_seqkit)
    assert size(with_base_context(base_quals.MIXED_CANDIDATE)) < 0.99 * size(with_base_context())


@pytest.mark.parametrize("mixed", [False, True])
def test_compression_chooses_the_base_context_where_it_pays(nanopore, mixed):
    params = levels.params_for_level(6)
    block = block_of(nanopore)
    chosen = base_quals.choose(params, block.seq, block.qual, block.lengths, mixed)["qualities"]
    assert chosen["base_context"] == (base_quals.MIXED_CANDIDATE if mixed else base_quals.CANDIDATE)
    # its counts halve later than the default level's fqzcomp-like ones
    assert chosen["total_limit"] == base_quals.TOTAL_LIMIT > params["qualities"]["total_limit"]
    illumina = block_of(fastq(corpus_records("hiseqx_151", 2000)))
    assert base_quals.choose(params, illumina.seq, illumina.qual, illumina.lengths,
                             mixed)["qualities"] == params["qualities"]
    assert "base_context" not in params["qualities"]  # the level's own parameters are left as they are


@pytest.mark.parametrize("level, context", [(1, base_quals.CANDIDATE), (6, base_quals.MIXED_CANDIDATE)])
def test_whole_archives_with_a_base_context_round_trip(nanopore, level, context):
    archive = compress_bytes(nanopore, level=level)
    header, _, _ = container.read_header(io.BytesIO(archive))
    assert header["params"]["qualities"]["base_context"] == context
    assert decompress_bytes(archive) == nanopore
    assert decompress_bytes(archive, threads=2) == nanopore


def test_a_damaged_base_stream_fails_the_quality_decoder_waiting_ahead(nanopore):
    """The quality decoder waits for the base a step ahead: where the bases cannot be decoded, it stops
    with their error, whichever step it was waiting for."""
    block = block_of(nanopore)
    params = with_base_context(base_quals.MIXED_CANDIDATE)
    data = streams.encode_qualities(block.qual, block.lengths, params, None, block.seq)
    bases = streams.encode_bases(block.seq, block.lengths, params)
    with pytest.raises(CorruptArchiveError):
        streams.decode_bases_and_qualities(bases[: len(bases) // 2], data, block.lengths, params, None, None, 2)


@pytest.mark.parametrize("change", [
    lambda c: c.update(bases=4),
    lambda c: c.update(bases=-1),
    lambda c: c.update(run_levels=0),
    lambda c: c.update(run_levels=9),
    lambda c: c.update(q2_levels=17),
    lambda c: c.update(q2_levels=2.0),
    lambda c: c.update(other=1),
    lambda c: c.pop("bases"),
    lambda c: c.update(ahead=2),
    lambda c: c.update(ahead=True),
    lambda c: c.update(coarse={"bases": 2, "mixer_rate": 4}),
    lambda c: c.update(coarse={"bases": 1, "mixer_rate": 4097}),
    lambda c: c.update(coarse={"bases": 1}),
    lambda c: c.update(coarse=[1, 4]),
])
def test_crafted_base_context_parameters_are_refused(change):
    params = copy.deepcopy(with_base_context())
    change(params["qualities"]["base_context"])
    with pytest.raises(CorruptArchiveError, match="invalid model parameters"):
        levels.check_params(params)
    params["qualities"]["base_context"] = [2, 4, 1]
    with pytest.raises(CorruptArchiveError, match="invalid model parameters"):
        levels.check_params(params)


# Module level, so that a worker can be sent them (by name): a stand-in for the names' coder that leaves a
# mark, and one for the qualities' coder that wants the mark (within WAIT seconds).
MARK = "LSTMZIP_TEST_NAMES_MARK"
WAIT = 30
real_encode_names, real_encode_qualities = pipeline.encode_names, streams.encode_qualities


def encode_names_and_mark(names):
    coded = real_encode_names(names)
    open(os.environ[MARK], "w").close()
    return coded


def encode_qualities_after_the_names(*args):
    deadline = time.monotonic() + WAIT
    while not os.path.exists(os.environ[MARK]):
        if time.monotonic() > deadline:
            raise AssertionError("the qualities were coded before the names")
        time.sleep(0.01)
    return real_encode_qualities(*args)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_first_block_is_coded_while_its_quality_model_is_tried(nanopore, tmp_path, monkeypatch, threads):
    """Without a network to train, the first block's other streams do not wait for the trial: a trial
    that waits for the names finishes (run after it, the names would come too late)."""
    data = nanopore
    plain = compress_bytes(data, threads=threads)
    monkeypatch.setenv(MARK, str(tmp_path / "names coded"))
    monkeypatch.setattr(pipeline, "encode_names", encode_names_and_mark)
    monkeypatch.setattr(streams, "encode_qualities", encode_qualities_after_the_names)
    archive = compress_bytes(data, threads=threads)
    assert archive == plain
    header, _, _ = container.read_header(io.BytesIO(archive))
    assert "base_context" in header["params"]["qualities"]  # the trial ran, and chose
    assert decompress_bytes(archive, threads=threads) == data
