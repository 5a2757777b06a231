"""Read lengths taken from a number in the names (format 3.1)."""

import copy
import io

import numpy as np
import pytest

from lstmzip import container, lengths, levels, packing, pipeline
from lstmzip.errors import CorruptArchiveError
from lstmzip.fastq import read_blocks

from conftest import compress_bytes, corpus_records, decompress_bytes, fastq, seal, split_archive


def block_of(data: bytes):
    return next(read_blocks(io.BytesIO(data), 1 << 22, 1 << 30))


def lengths_stream(archive: bytes) -> bytes:
    return split_archive(archive)[2][0][4][1]


@pytest.fixture(scope="module")
def trimmed() -> bytes:
    """ga2_ecoli: 100-base reads, ' trim=N' on the names of those cut to 100 - N bases, after an optional
    ' correct' (so that the number is token 8 of some names and 9 of others)."""
    return fastq(corpus_records("ga2_ecoli", 1500))


def test_lengths_stated_as_what_was_trimmed_come_from_the_number_after_the_key(trimmed):
    block = block_of(trimmed)
    assert {b" correct" in name for name in block.names} == {True, False}
    stream = lengths.encode(block.lengths, block.names)
    rule, head, _, _ = packing.split_sections(stream[1:], 4)
    # the number after ' trim', subtracted from 100, with no exceptions: 47 bytes instead of 1,038
    assert stream[0] == lengths.FROM_KEY and rule == b" trim\x01" and list(packing.unpack_ints(head, 2)) == [100, 0]
    assert len(stream) < 50 and (lengths.decode(stream, block.records, lambda: block.names) == block.lengths).all()
    archive = compress_bytes(trimmed)
    assert lengths_stream(archive)[0] == lengths.FROM_KEY and decompress_bytes(archive) == trimmed
    assert decompress_bytes(archive, threads=2) == trimmed


def test_a_token_index_is_kept_where_it_predicts_as_many_lengths(trimmed):
    """Without the optional word, token 8 is always the number: the rule of format 3.1 (mode 1)."""
    block = block_of(trimmed)
    names = [name.replace(b" correct", b"") for name in block.names]
    stream = lengths.encode(block.lengths, names)
    rule, head, _, _ = packing.split_sections(stream[1:], 4)
    assert stream[0] == lengths.FROM_NAMES and rule == bytes([8, 1]) and list(packing.unpack_ints(head, 2)) == [100, 0]
    assert (lengths.decode(stream, block.records, lambda: names) == block.lengths).all()


def test_sra_names_with_the_length_need_no_lengths():
    """fastq-dump's '@SRR.. N length=L' on reads of 1-50 bases; one name states a wrong length."""
    records = corpus_records("miseq_n701", 3000)
    renamed = []
    for i, record in enumerate(records):
        _, seq, plus, qual = record.split(b"\n")
        stated = len(seq) + (7 if i == 1234 else 0)
        renamed.append(b"\n".join([b"@SRR1.%d %d length=%d" % (i + 1, i + 1, stated), seq, plus, qual]))
    data = fastq(renamed)
    block = block_of(data)
    stream = lengths.encode(block.lengths, block.names)
    _, head, gaps, exceptions = packing.split_sections(stream[1:], 4)
    assert stream[0] == lengths.FROM_NAMES and list(packing.unpack_ints(head, 2)) == [0, 1]
    assert list(packing.unpack_ints(exceptions, 1)) == [block.lengths[1234]]
    assert roundtrip_threads(data)


def roundtrip_threads(data: bytes) -> bool:
    archive = compress_bytes(data)
    return decompress_bytes(archive) == data == decompress_bytes(archive, threads=2)


def test_reads_of_one_length_and_names_without_the_lengths_keep_the_plain_column():
    for data in (fastq(corpus_records("hiseqx_151", 500)), fastq(corpus_records("ont_seqkit", 300))):
        archive = compress_bytes(data)
        assert lengths_stream(archive)[0] == lengths.PLAIN and decompress_bytes(archive) == data


def test_mate_2_names_state_their_trims_as_well():
    """ga2_ecoli_2 (652 bytes of lengths in format 3.2: a rule of token 8 and 398 exceptions): every length
    is 100 less the number after ' trim', whatever comes before it."""
    block = block_of(fastq(corpus_records("ga2_ecoli_2", 2054)))
    stream = lengths.encode(block.lengths, block.names)
    rule, head, _, _ = packing.split_sections(stream[1:], 4)
    assert stream[0] == lengths.FROM_KEY and rule == b" trim\x01" and list(packing.unpack_ints(head, 2)) == [100, 0]
    assert (lengths.decode(stream, block.records, lambda: block.names) == block.lengths).all()


def damaged_rule(stream: bytes, rule=None, head=None, gaps=None) -> bytes:
    sections = packing.split_sections(stream[1:], 4)
    for i, value in enumerate((rule, head, gaps)):
        if value is not None:
            sections[i] = value
    return stream[:1] + packing.join_sections(sections)


def test_damaged_lengths_streams_are_refused(trimmed):
    block = block_of(trimmed)
    n = block.records
    stated = block.lengths.copy()
    stated[[5, 50, 500]] += 1  # three names state a wrong length: three exceptions
    index_names = [name.replace(b" correct", b"") for name in block.names]
    by_key, by_index = lengths.encode(stated, block.names), lengths.encode(stated, index_names)
    assert (by_key[0], by_index[0]) == (lengths.FROM_KEY, lengths.FROM_NAMES)
    cases = {
        bytes([3]) + by_key[1:]: "read lengths stream has an unknown mode",
        b"": "read lengths stream has an unknown mode",
        damaged_rule(by_index, rule=bytes([16, 1])): "read lengths stream has a bad rule",
        damaged_rule(by_index, rule=bytes([8, 2])): "read lengths stream has a bad rule",
        damaged_rule(by_index, rule=bytes([8])): "read lengths stream has a bad rule",
        damaged_rule(by_key, rule=b""): "read lengths stream has a bad rule",
        damaged_rule(by_key, rule=b"\x01"): "read lengths stream has a bad rule",
        damaged_rule(by_key, rule=b" trim\x02"): "read lengths stream has a bad rule",
        damaged_rule(by_key, rule=b"k" * 33 + b"\x01"): "read lengths stream has a bad rule",
    }
    for stream in (by_key, by_index):
        cases.update({
            damaged_rule(stream, head=packing.pack_ints(np.array([100, n + 1]))): "read lengths stream has a bad rule",
            damaged_rule(stream, head=packing.pack_ints(np.array([1 << 40, 3]))): "read lengths stream has a bad rule",
            damaged_rule(stream, gaps=packing.pack_ints(np.full(3, n))): "read length exceptions are out of range",
            damaged_rule(stream, gaps=packing.pack_ints(np.array([1, 0, 0]))): "read length exceptions are out of range",
        })
    for damaged, message in cases.items():
        with pytest.raises(CorruptArchiveError, match=message):
            lengths.decode(damaged, n, lambda: block.names)
    for stream, names in ((by_key, block.names), (by_index, index_names)):
        assert (lengths.decode(stream, n, lambda: names) == stated).all()


def test_an_archive_whose_lengths_disagree_with_its_names_is_refused(trimmed):
    """A derived stream whose rule is wrong, every checksum valid again: the lengths no longer add up
    to the block's bases (the block header), so nothing is decoded with them."""
    payload, models, blocks, statistics, major = split_archive(compress_bytes(trimmed))
    blocks[0][4][1] = damaged_rule(blocks[0][4][1], rule=b" trim\x00")  # + instead of -
    with pytest.raises(CorruptArchiveError, match="^block 1: read lengths do not match the block "):
        pipeline.decompress_stream(io.BytesIO(seal(payload, models, blocks, statistics, major)), io.BytesIO(), 1)


@pytest.mark.parametrize("value", [1, 0, "true", None, [True]])
def test_crafted_lengths_parameter_is_refused(value):
    params = copy.deepcopy(levels.params_for_level(6))
    params["lengths_from_names"] = value
    with pytest.raises(CorruptArchiveError, match="invalid model parameters"):
        levels.check_params(params)
    params["lengths_from_names"] = True
    assert levels.check_params(params)["lengths_from_names"] is True
    assert container.VERSION >= (3, 1)
