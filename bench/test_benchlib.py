"""Tests of the benchmark's helpers: `python -m pytest -q bench/` (not part of the product's suite)."""
from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from pathlib import Path

import pytest

from benchlib.checks import files_identical, same_reads
from benchlib.corpus import exact_int, parse_md_tables, read_corpus_readme, read_peers_readme, stem
from benchlib.listing import parse_list_json
from benchlib.measure import run_measured
from benchlib.peers import IN, OUT, substitute
from scale import stream_pieces

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def test_stem_and_exact_int():
    assert stem("`ga2_ecoli.fq.gz`") == "ga2_ecoli"
    assert stem("/x/hiseqx_151.fastq") == "hiseqx_151"
    assert exact_int("84,586") == 84586
    for cell in ("84,981 (not exact)", "80,735 (lossy*)", "84,981 *", "fails", "", None):
        assert exact_int(cell) is None


def test_parse_md_tables_reads_rows_by_header():
    text = "intro\n\n| file | a |\n|---|---:|\n| x | 1 |\n| y | 2 |\n\n| other |\n|---|\n| z |\n"
    assert parse_md_tables(text) == [(["file", "a"], [{"file": "x", "a": "1"}, {"file": "y", "a": "2"}]),
                                     (["other"], [{"other": "z"}])]


@pytest.mark.skipif(not (CORPUS / "README.md").is_file(), reason="no shared corpus")
def test_corpus_readme_md5_size_and_best_exact():
    info = read_corpus_readme(CORPUS)
    assert info["ga2_ecoli"] == {"md5": "cb1b3f4cb94879f91e555e2648fce2f3", "size": 427606,
                                 "best_exact": 84586}
    assert info["nextseq_dropseq"]["best_exact"] == 7978166


def test_peers_readme_marks_inexact_rows(tmp_path):
    (tmp_path / "README.md").write_text(textwrap.dedent("""\
        Compressed bytes (exact unless marked *):

        | file | fqzcomp5 | fqzcomp5 -9 |
        |---|---:|---:|
        | ga2_ecoli | 84,981 * | 84,586 |
        | nextseq_dropseq | 7,978,166 | 7,843,331 * |
        """))
    refs = read_peers_readme(tmp_path / "README.md")
    assert refs[("ga2_ecoli", "fqzcomp5")] == (84981, False)
    assert refs[("ga2_ecoli", "fqzcomp5 -9")] == (84586, True)
    assert refs[("nextseq_dropseq", "fqzcomp5 -9")] == (7843331, False)
    assert read_peers_readme(tmp_path / "absent.md") == {}


def test_parse_list_json_sums_files_and_leaves_missing_fields_blank():
    entry = {"records": 10, "bases": 100, "quality_values": 100, "archive_bytes": 50, "blocks": 1,
             "level": 6, "streams": {"qualities": 30, "names": 5, "bases": 10, "other": 5}}
    two = parse_list_json(json.dumps({"files": [entry, {**entry, "blocks": 2}]}))
    assert two["records"] == 20 and two["blocks"] == 3 and two["level"] == 6
    assert list(two["streams"].items()) == [("names", 10), ("bases", 20), ("qualities", 60), ("other", 10)]
    partial = parse_list_json(json.dumps({"records": 3}))
    assert partial["records"] == 3 and partial["bases"] is None and partial["streams"] == {}
    assert parse_list_json("not json") == {}


def test_substitute_redirects_where_there_is_no_placeholder():
    src, dest = Path("in.fq"), Path("out.x")
    assert substitute(["gzip", "-9", "-c"], src, dest) == (["gzip", "-9", "-c"], src, dest)
    assert substitute(["f", IN, OUT], src, dest) == (["f", "in.fq", "out.x"], None, None)
    assert substitute(["samtools", "fastq", IN], src, dest) == (["samtools", "fastq", "in.fq"], None, dest)


def test_checks(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_bytes(b"@r1 x\nACGT\n+\nIIII\n")
    b.write_bytes(b"@r1 x\nACGT\n+\nIIII\n")
    c.write_bytes(b"@r1\r\nACGT\r\n+r1\r\nIIII\r\n")
    assert files_identical(a, b) and not files_identical(a, c)
    assert same_reads(a, c)
    c.write_bytes(b"@r1\nACGA\n+\nIIII\n")
    assert not same_reads(a, c)


def test_run_measured_feeds_and_drains_pipes():
    data, got = b"x" * (3 << 20), []

    def feed(pipe):
        pipe.write(data)
        pipe.close()

    def drain(pipe):
        got.append(pipe.read())
        pipe.close()

    run = run_measured(["cat"], feed=feed, drain=drain)
    assert run.ok and got == [data]
    failed = run_measured([sys.executable, "-c", "import sys; sys.stderr.write('bad'); sys.exit(3)"])
    assert failed.rc == 3 and failed.err_tail() == "bad"
    assert run_measured(["/nonexistent/tool"]).rc == 127


# A parent that fills 200 MiB, forks, and both hold it (copy-on-write) for 2 s: summed RSS would be
# about 400 MiB, the tree's PSS about 200 MiB, and the sampler must see the child.
FORKER = """
import os, time
block = bytearray(200 << 20)
for i in range(0, len(block), 4096):
    block[i] = 1
pid = os.fork()
time.sleep(2)
if pid:
    os.waitpid(pid, 0)
"""


def test_peak_pss_counts_shared_pages_once_across_the_tree():
    run = run_measured([sys.executable, "-c", FORKER])
    assert run.ok
    mib = run.pss_kib / 1024
    assert 190 < mib < 260, mib
    assert run.pss_samples >= 2 and run.cpu_s is not None


def test_stream_pieces_repeat_whole_records():
    data = b"".join(b"@r%d\nACGT\n+\nIIII\n" % i for i in range(10))
    exact = b"".join(stream_pieces(data, 3 * len(data)))
    assert exact == data * 3
    cut = b"".join(stream_pieces(data, len(data) + 40))
    assert cut == data + data[:32]  # 16 bytes a record: 2 whole ones fit in 40 bytes
    assert hashlib.sha256(b"".join(stream_pieces(data, 0))).digest() == hashlib.sha256(b"").digest()
