"""Concatenated archives (cat a.lz b.lz > ab.lz): they decode to the concatenation, test and list take
them member by member, and anything after the last member that is not a whole member is refused."""

import io
import json
import subprocess
import sys

import pytest

import lstmzip
from lstmzip import container, members, pipeline
from lstmzip.errors import CorruptArchiveError

from conftest import compress_bytes, compress_pair_bytes, corpus_records, decompress_bytes, fastq, interleave

LSTMZIP = [sys.executable, "-m", "lstmzip"]


def run(*args, stdin=None):
    return subprocess.run([*LSTMZIP, *map(str, args)], input=stdin, capture_output=True)


@pytest.fixture(scope="module")
def parts():
    first = fastq(corpus_records("hiseqx_151", 30))
    second = fastq(corpus_records("ga2_ecoli", 40))
    return first, second, compress_bytes(first, level=1), compress_bytes(second, level=1)


def test_concatenation_decodes_to_the_concatenation(parts, tmp_path):
    first, second, a, b = parts
    both = tmp_path / "ab.lz"
    both.write_bytes(a + b)
    assert run("decompress", "-c", both).stdout == first + second
    assert run("cat", "-", stdin=a + b + compress_bytes(b"", level=1) + a).stdout == first + second + first
    tested = run("test", both)
    assert tested.returncode == 0
    assert tested.stderr.decode() == f"lstmzip: {both}: ok, 2 members, 70 records, {len(first + second):,} bytes\n"
    assert run("decompress", "-o", tmp_path / "ab.fq", both).returncode == 0
    assert (tmp_path / "ab.fq").read_bytes() == first + second


def test_list_shows_a_row_per_member_and_the_total(parts, tmp_path):
    first, second, a, b = parts
    both = tmp_path / "ab.lz"
    both.write_bytes(a + b)
    (entry,) = json.loads(run("list", "--json", both).stdout)["files"]
    assert [(m["offset"], m["archive_bytes"], m["records"], m["raw_bytes"]) for m in entry["members"]] == [
        (0, len(a), 30, len(first)), (len(a), len(b), 40, len(second))]
    assert (entry["records"], entry["raw_bytes"], entry["archive_bytes"], entry["blocks"]) == (
        70, len(first + second), len(a + b), 2)
    lines = run("list", both).stdout.decode().splitlines()
    assert len(lines) == 4 and lines[1].endswith("member 1 (no stored name)") and lines[3].endswith("(all 2 members)")
    assert lines[3].split()[0] == "70"


def test_paired_and_single_members_together(parts, tmp_path):
    first, _, a, _ = parts
    ones, twos = corpus_records("ga2_ecoli", 10), corpus_records("ga2_ecoli_2", 10)
    paired = compress_pair_bytes(fastq(ones), fastq(twos))
    mixed = tmp_path / "mixed.lz"
    mixed.write_bytes(paired + a)
    assert run("cat", mixed).stdout == interleave(ones, twos) + first
    # records count pairs in the paired member, records in the other: 10 pairs, then 30 records
    assert run("cat", "--records", "8:12", mixed).stdout == interleave(ones[8:], twos[8:]) + fastq(
        corpus_records("hiseqx_151", 2))
    refused = run("decompress", mixed)  # mate 1 and mate 2 files: the second member has no mates
    assert refused.returncode == 1
    assert refused.stderr.decode() == (f"lstmzip: {mixed}: member 2 of the archive is not paired, so it has no "
                                       "mates to choose from\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed.lz"]
    assert run("cat", "--mate", "2", "--records", "8:", mixed).returncode == 1


def test_trailing_data_after_the_last_member_is_refused(parts, tmp_path):
    _, _, a, b = parts
    for trailing, streaming, seekable in [
        (b"\n", "archive has trailing bytes after its end", "archive is truncated or has trailing bytes (no end marker)"),
        (b"\x89LZQ", "member 3: archive is truncated (in the header)",
         "archive is truncated or has trailing bytes (no end marker)"),
        (b[:-1], "member 3: archive is truncated (in the footer)",
         "archive is truncated or has trailing bytes (no end marker)"),
    ]:
        with pytest.raises(CorruptArchiveError) as caught:
            decompress_bytes(a + b + trailing)
        assert str(caught.value) == streaming
        with pytest.raises(CorruptArchiveError) as caught:
            members.read(io.BytesIO(a + b + trailing))
        assert str(caught.value) == seekable


def test_every_truncation_of_a_second_member_is_refused_with_no_wrong_output():
    first, second = b"@r\nACGT\n+\nIIII\n", fastq(corpus_records("hiseqx_151", 5))  # small: quick to decode
    a, b = compress_bytes(first, level=1), compress_bytes(second, level=1)
    expected = first + second
    for end in range(1, len(b)):
        out = io.BytesIO()
        with pytest.raises(CorruptArchiveError):
            pipeline.decompress_stream(io.BytesIO(a + b[:end]), out, 1)
        assert expected.startswith(out.getvalue())  # what came out before the refusal is only the first member's


def test_damage_in_a_later_member_says_which(parts, tmp_path):
    _, _, a, b = parts
    damaged = bytearray(a + b)
    damaged[len(a) + len(b) // 2] ^= 0x10
    with pytest.raises(CorruptArchiveError) as caught:
        decompress_bytes(bytes(damaged))
    assert str(caught.value) == "member 2: block 1 is corrupt (checksum mismatch)"
    path = tmp_path / "ab.lz"
    path.write_bytes(bytes(damaged))
    result = run("decompress", path)
    assert result.returncode == 1
    assert result.stderr.decode() == f"lstmzip: {path}: member 2: block 1 is corrupt (checksum mismatch)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ab.lz"]


def test_seekable_walk_finds_the_members_without_reading_blocks(parts):
    _, _, a, b = parts
    found = container.read_members(io.BytesIO(a + b + a))
    assert [(m.offset, m.size) for m in found] == [(0, len(a)), (len(a), len(b)), (len(a) + len(b), len(a))]


def test_api_appends_members_and_reads_across_them(parts, tmp_path):
    first, second, _, _ = parts
    path = tmp_path / "grown.lz"
    for data in (first, second, first):
        with lstmzip.open(path, "ab", level=1) as out:
            out.write(data)
    assert len(container.read_members(open(path, "rb"))) == 3
    with lstmzip.open(path) as reader:
        assert reader.read() == first + second + first
    with pytest.raises(lstmzip.FastqError):
        with lstmzip.open(path, "ab", level=1) as out:
            out.write(b"@r\nACGT\n+\nIII\n")
    with lstmzip.open(path) as reader:  # the failed append left the archive as it was
        assert reader.read() == first + second + first
