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
    """ga2_ecoli: 100-base reads, ' trim=N' on the names of those cut to 100 - N bases."""
    return fastq(corpus_records("ga2_ecoli", 1500))


def test_lengths_stated_as_what_was_trimmed_come_from_the_names(trimmed):
    block = block_of(trimmed)
    stream = lengths.encode(block.lengths, block.names)
    plain = packing.pack_ints(block.lengths)
    assert stream[0] == lengths.FROM_NAMES and len(stream) < len(plain) // 2  # 358 of 975 bytes when written
    rule, head, _, _ = packing.split_sections(stream[1:], 4)
    assert (rule[0], rule[1], int(packing.unpack_ints(head, 2)[0])) == (8, 1, 100)  # ' trim', '=6': 100 - 6
    assert (lengths.decode(stream, block.records, lambda: block.names) == block.lengths).all()
    archive = compress_bytes(trimmed)
    assert lengths_stream(archive)[0] == lengths.FROM_NAMES and decompress_bytes(archive) == trimmed
    assert decompress_bytes(archive, threads=2) == trimmed


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


def test_a_rule_of_one_length_and_its_exceptions_is_taken_where_it_is_smaller():
    """ga2_ecoli_2's names hold no length, but 80 % of its reads have 100 bases: the rule 'offset 100
    plus a token the names lack' lists the others (652 bytes instead of 1,310 for the whole file)."""
    block = block_of(fastq(corpus_records("ga2_ecoli_2", 1500)))
    stream = lengths.encode(block.lengths, block.names)
    _, head, _, _ = packing.split_sections(stream[1:], 4)
    assert stream[0] == lengths.FROM_NAMES and packing.unpack_ints(head, 2)[0] == 100
    assert len(stream) < 0.6 * len(packing.pack_ints(block.lengths))
    assert (lengths.decode(stream, block.records, lambda: block.names) == block.lengths).all()


def damaged_rule(stream: bytes, rule=None, head=None, gaps=None) -> bytes:
    sections = packing.split_sections(stream[1:], 4)
    for i, value in enumerate((rule, head, gaps)):
        if value is not None:
            sections[i] = value
    return bytes([lengths.FROM_NAMES]) + packing.join_sections(sections)


def test_damaged_lengths_streams_are_refused(trimmed):
    block = block_of(trimmed)
    stream = lengths.encode(block.lengths, block.names)
    n = block.records
    names = lambda: block.names  # noqa: E731
    wrong = int(packing.unpack_ints(packing.split_sections(stream[1:], 4)[1], 2)[1])
    cases = {
        bytes([2]) + stream[1:]: "read lengths stream has an unknown mode",
        b"": "read lengths stream has an unknown mode",
        damaged_rule(stream, rule=bytes([16, 1])): "read lengths stream has a bad rule",
        damaged_rule(stream, rule=bytes([8, 2])): "read lengths stream has a bad rule",
        damaged_rule(stream, head=packing.pack_ints(np.array([100, n + 1]))): "read lengths stream has a bad rule",
        damaged_rule(stream, head=packing.pack_ints(np.array([1 << 40, wrong]))): "read lengths stream has a bad rule",
        damaged_rule(stream, gaps=packing.pack_ints(np.full(wrong, n))): "read length exceptions are out of range",
        damaged_rule(stream, gaps=packing.pack_ints(np.r_[1, np.zeros(wrong - 1, dtype=np.int64)])):
            "read length exceptions are out of range",
    }
    for damaged, message in cases.items():
        with pytest.raises(CorruptArchiveError, match=message):
            lengths.decode(damaged, n, names)


def test_an_archive_whose_lengths_disagree_with_its_names_is_refused(trimmed):
    """A derived stream whose rule is wrong, every checksum valid again: the lengths no longer add up
    to the block's bases (the block header), so nothing is decoded with them."""
    payload, models, blocks, statistics, major = split_archive(compress_bytes(trimmed))
    blocks[0][4][1] = damaged_rule(blocks[0][4][1], rule=bytes([8, 0]))  # + instead of -
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
