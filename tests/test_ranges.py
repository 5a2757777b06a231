"""Any range of records, or one block, decoded from the blocks that hold it alone (the index says which):
every range drawn at random equals the same slice of the input, on single, paired and concatenated
archives; the number of blocks decoded is checked; list --blocks shows where each block is."""

import io
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmzip
from lstmzip import pipeline

from conftest import compress_bytes, compress_pair_bytes, corpus_records, fastq, interleave

LSTMZIP = [sys.executable, "-m", "lstmzip"]
ONES, TWOS = corpus_records("ga2_ecoli", 240), corpus_records("ga2_ecoli_2", 240)
PLAIN = corpus_records("hiseqx_151", 300)


def run(*args, stdin=None):
    return subprocess.run([*LSTMZIP, *map(str, args)], input=stdin, capture_output=True)


def blocks_of(data: bytes) -> list[int]:
    """Records (pairs, in a paired member) of each block, found by decoding everything."""
    return [d.block.records // (2 if d.member.paired else 1) for d in pipeline.decode_members(io.BytesIO(data), 1)]


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """Multi-block archives and what their records are: a single file (with no final newline), a pair
    (mate 1 with no final newline), and two members of different block sizes."""
    where = tmp_path_factory.mktemp("ranges")
    made = {
        "single": compress_bytes(fastq(PLAIN, final=False), level=1, block_bytes=15_000),
        "pair": compress_pair_bytes(fastq(ONES, final=False), fastq(TWOS), block_bytes=12_000),
        "members": compress_bytes(fastq(PLAIN[:130]), level=1, block_bytes=9_000) +
                   compress_bytes(fastq(PLAIN[130:]), level=1, block_bytes=30_000),
    }
    paths = {}
    for name, data in made.items():
        paths[name] = where / f"{name}.lz"
        paths[name].write_bytes(data)
        assert len(BLOCKS.setdefault(name, blocks_of(data))) >= 5
    return paths


BLOCKS: dict[str, list[int]] = {}  # records (pairs) per block of each archive


def expected(kind: str, selected: slice, mate) -> bytes:
    if kind == "pair":
        ones, twos = ONES[selected], TWOS[selected]
        if mate is None:
            return interleave(ones, twos)
        at_end = selected.indices(len(ONES))[1] == len(ONES) and ones
        return fastq(ones, final=not at_end) if mate == 1 else fastq(twos)
    records = PLAIN[selected]
    at_end = selected.indices(len(PLAIN))[1] == len(PLAIN) and records
    return fastq(records, final=not (kind == "single" and at_end))


ends = st.one_of(st.none(), st.integers(-320, 320))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(["single", "pair", "members"]), start=ends, stop=ends,
       mate=st.sampled_from([None, None, 1, 2]))
def test_any_range_is_the_same_slice_of_the_input(archives, kind, start, stop, mate):
    mate = mate if kind == "pair" else None
    path = archives[kind]
    selected = slice(start, stop)
    with lstmzip.open(path, records=selected, mate=mate, threads=1) as reader:
        assert reader.read() == expected(kind, selected, mate)
        decoded = reader.blocks_decoded
    first, stop_at, _ = selected.indices(len(ONES if kind == "pair" else PLAIN))
    counts, wanted, at = BLOCKS[kind], 0, 0
    for count in counts:
        wanted += at < stop_at and first < at + count
        at += count
    assert decoded == wanted


def test_cat_records_and_block(archives):
    single, pair = archives["single"], archives["pair"]
    assert run("cat", "--records", "5:9", single).stdout == fastq(PLAIN[5:9])
    assert run("cat", "--records", ":3", single).stdout == fastq(PLAIN[:3])
    assert run("cat", "--records", "-2:", single).stdout == fastq(PLAIN[-2:], final=False)
    assert run("cat", "--records", "7:7", single).stdout == b""
    assert run("cat", "--records", "100:110", "--mate", "2", pair).stdout == fastq(TWOS[100:110])
    counts = BLOCKS["single"]
    start = counts[0]
    assert run("cat", "--block", "2", single).stdout == fastq(PLAIN[start : start + counts[1]])
    with lstmzip.open(single, block=2, threads=1) as reader:
        assert reader.read() == fastq(PLAIN[start : start + counts[1]]) and reader.blocks_decoded == 1


def test_ranges_refused_with_their_reasons(archives):
    single = archives["single"]
    for bad in ("5", "1:2:3", "a:b"):
        result = run("cat", "--records", bad, single)
        assert result.returncode == 2 and f"'{bad}' is not a range START:END" in result.stderr.decode()
    assert run("cat", "--records", "1:2", "--block", "1", single).returncode == 2
    count = len(BLOCKS["single"])
    result = run("cat", "--block", str(count + 1), single)
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr.decode() == f"lstmzip: {single}: there is no block {count + 1}: the archive has {count}\n"
    piped = run("cat", "--records", "1:2", stdin=single.read_bytes())
    assert (piped.returncode, piped.stdout) == (1, b"")
    assert piped.stderr.decode() == ("lstmzip: stdin: reading a range of records or a block needs a seekable "
                                     "archive (a file, not a pipe)\n")
    with open(single, "rb") as f:  # standard input that is a file can seek
        assert subprocess.run([*LSTMZIP, "cat", "--records", "1:2"], stdin=f, capture_output=True).stdout == \
            fastq(PLAIN[1:2])


def test_list_blocks_shows_first_record_count_bytes_and_offset(archives):
    for kind in ("pair", "members"):
        path = archives[kind]
        data = path.read_bytes()
        (entry,) = json.loads(run("list", "--json", "--blocks", path).stdout)["files"]
        rows = entry["block_list"]
        counts = BLOCKS[kind]
        assert [row["block"] for row in rows] == list(range(1, len(counts) + 1))
        assert [row["pairs"] if kind == "pair" else row["records"] for row in rows] == counts
        assert [row["first"] for row in rows] == [sum(counts[:i]) for i in range(len(counts))]
        assert all(data[row["offset"] : row["offset"] + 1] == b"B" for row in rows)
        assert sum(row["archive_bytes"] for row in rows) < len(data)
        if kind == "members":  # the first member holds 130 records
            assert [row["member"] for row in rows] == [1 if row["first"] < 130 else 2 for row in rows]
            assert rows[-1]["member"] == 2
        text = run("list", "--blocks", path).stdout.decode()
        assert f"{rows[-1]['offset']:,}" in text
