"""The fqzcomp-like quality model with its coarse context mixed in (format 3.1; its mean level: 3.4)."""

import copy
import io
import json
from pathlib import Path

import pytest

from lstmzip import base_quals, container, levels, pipeline, streams
from lstmzip.errors import CorruptArchiveError
from lstmzip.fastq import read_blocks
from lstmzip.networks import Learned

from conftest import compress_bytes, corpus_records, decompress_bytes, fastq

GOLDEN_LSTM = Path(__file__).parent / "golden" / "v1" / "hiseqx_200.level6_lstm.lz"  # both networks


def block_of(data: bytes):
    return next(read_blocks(io.BytesIO(data), 1 << 22, 1 << 30))


def with_coarse(level=6) -> dict:
    return levels.check_params(pipeline.with_coarse_qualities(levels.params_for_level(level)))


@pytest.fixture(scope="module")
def ga2():
    return block_of(fastq(corpus_records("ga2_ecoli", 2054)))


def quality_params(archive: bytes) -> list[dict]:
    return [member.header["params"]["qualities"] for member in container.read_members(io.BytesIO(archive))]


def test_the_coarse_context_codes_a_small_file_smaller(ga2):
    """ga2_ecoli (2,054 reads): 68,651 bytes of qualities with the fine context alone, 65,163 with the
    coarse one mixed in (measured when it was made)."""
    plain = levels.params_for_level(6)
    fine = len(streams.encode_qualities(ga2.qual, ga2.lengths, plain, None, ga2.seq))
    mixed = streams.encode_qualities(ga2.qual, ga2.lengths, with_coarse(), None, ga2.seq)
    assert len(mixed) < 0.96 * fine
    assert streams.decode_qualities(mixed, ga2.lengths, with_coarse()).tobytes() == ga2.qual.tobytes()


def test_the_mean_level_codes_a_small_file_smaller_and_archives_without_it_decode_as_before(ga2):
    """ga2_ecoli: 65,163 bytes of qualities with 3.1's coarse context, 64,855 with the mean level of 3.4
    (measured when it was made). A header without mean_levels (3.1 to 3.3) still means no mean level."""
    before = with_coarse()
    before["qualities"]["coarse"] = {key: levels.COARSE_QUALITIES[key] for key in ("q2_levels", "mixer_rate")}
    old = streams.encode_qualities(ga2.qual, ga2.lengths, levels.check_params(before), None, ga2.seq)
    new = streams.encode_qualities(ga2.qual, ga2.lengths, with_coarse(), None, ga2.seq)
    assert with_coarse()["qualities"]["coarse"]["mean_levels"] == 8
    assert len(new) < 0.997 * len(old)
    for data, params in ((old, before), (new, with_coarse())):
        assert streams.decode_qualities(data, ga2.lengths, params).tobytes() == ga2.qual.tobytes()


def test_qualities_round_trip_with_the_coarse_context_and_a_quality_network():
    """No archive lstmzip writes mixes both (compress leaves the coarse context out beside a network), but
    a header may ask for it: the mixed counts then go to the network's mixer."""
    with open(GOLDEN_LSTM, "rb") as f:
        network = Learned.from_bytes(container.read_header(f)[1]).qualities
    block = block_of(fastq(corpus_records("hiseqx_151", 300)))
    params = with_coarse()
    data = streams.encode_qualities(block.qual, block.lengths, params, network, block.seq)
    assert data != streams.encode_qualities(block.qual, block.lengths, levels.params_for_level(6), network, block.seq)
    codes = streams._known_base_codes(block.seq, streams._rows(block.lengths, params))
    assert streams.decode_qualities(data, block.lengths, params, network, codes).tobytes() == block.qual.tobytes()


def test_compress_mixes_the_coarse_context_in_only_where_no_quality_network_is_trained():
    data = fastq(corpus_records("hiseqx_151", 400))
    assert quality_params(compress_bytes(data, level=6))[0]["coarse"] == levels.COARSE_QUALITIES
    assert quality_params(compress_bytes(data, level=9))[0]["coarse"] == levels.COARSE_QUALITIES  # too few bases
    assert "coarse" not in quality_params(compress_bytes(data, level=1))[0]  # the fastest level
    with open(GOLDEN_LSTM, "rb") as f:
        learned = Learned.from_bytes(container.read_header(f)[1])
    out = io.BytesIO()
    pipeline.compress_stream(io.BytesIO(data), out, 6, 1, learned=learned)
    with_network = out.getvalue()
    assert "coarse" not in quality_params(with_network)[0] and decompress_bytes(with_network) == data


def test_the_trial_of_the_base_context_is_against_the_coarse_context():
    """On nanopore reads the context of the bases (with its own coarse mix) still wins the trial, from a
    thousand reads; on fewer the fqzcomp-like model's coarse context wins."""
    for reads, chosen in ((1000, True), (100, False)):
        block = block_of(fastq(corpus_records("ont_seqkit", reads)))
        qualities = base_quals.choose(with_coarse(), block.seq, block.qual, block.lengths, True)["qualities"]
        assert ("base_context" in qualities, "coarse" in qualities) == (chosen, not chosen)
        levels.check_params(dict(with_coarse(), qualities=qualities))


@pytest.mark.parametrize("change", [
    lambda q: q["coarse"].update(q2_levels=0),
    lambda q: q["coarse"].update(q2_levels=129),
    lambda q: q["coarse"].update(mixer_rate=-1),
    lambda q: q["coarse"].update(mixer_rate=4097),
    lambda q: q["coarse"].update(mixer_rate=4.0),
    lambda q: q["coarse"].update(other=1),
    lambda q: q["coarse"].update(mean_levels=0),
    lambda q: q["coarse"].update(mean_levels=17),
    lambda q: q["coarse"].update(mean_levels=8.0),
    lambda q: q["coarse"].pop("q2_levels"),
    lambda q: q.update(coarse=[1, 4]),
    lambda q: q.update(base_context={"bases": 2, "run_levels": 4, "q2_levels": 1}),  # that model has none
])
def test_crafted_coarse_parameters_are_refused(change):
    params = copy.deepcopy(with_coarse())
    change(params["qualities"])
    with pytest.raises(CorruptArchiveError, match="invalid model parameters"):
        levels.check_params(json.loads(json.dumps(params)))
