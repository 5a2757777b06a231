"""The command line through real processes: names, pipelines, refusals, exit codes, no partial output."""

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE

LSTMZIP = [sys.executable, "-m", "lstmzip"]


def run(*args, stdin=None, cwd=None):
    return subprocess.run([*LSTMZIP, *map(str, args)], input=stdin, capture_output=True, cwd=cwd)


@pytest.fixture()
def reads(tmp_path):
    path = tmp_path / "reads.fq"
    path.write_bytes(b"".join(EXAMPLE.read_bytes().splitlines(keepends=True)[:400]))  # the first 100 records
    return path


def test_compress_then_decompress_by_name(reads, tmp_path):
    original = reads.read_bytes()
    os.utime(reads, (1_600_000_000, 1_600_000_000))
    reads.chmod(0o640)
    assert run("compress", reads).returncode == 0
    archive = tmp_path / "reads.lz"
    assert reads.read_bytes() == original  # the input is kept by default
    assert archive.stat().st_mtime == 1_600_000_000 and archive.stat().st_mode & 0o777 == 0o640
    reads.unlink()
    assert run("decompress", archive).returncode == 0
    assert reads.read_bytes() == original
    assert reads.stat().st_mtime == 1_600_000_000
    assert archive.exists()


def test_gzip_input_and_stored_name(reads, tmp_path):
    original = reads.read_bytes()
    subprocess.run(["gzip", "-k", str(reads)], check=True)
    reads.unlink()
    assert run("compress", tmp_path / "reads.fq.gz").returncode == 0
    assert run("decompress", tmp_path / "reads.lz").returncode == 0
    assert reads.read_bytes() == original


def test_pipeline_through_stdin_and_stdout(reads):
    original = reads.read_bytes()
    packed = run("compress", "-c", stdin=original)
    assert packed.returncode == 0 and packed.stdout[:4] == b"\x89LZQ"
    assert run("compress", "-", stdin=original).stdout == packed.stdout  # no FILE or '-' = stdin to stdout
    unpacked = run("decompress", "-c", stdin=packed.stdout)
    assert unpacked.returncode == 0 and unpacked.stdout == original
    assert run("cat", "-", stdin=packed.stdout).stdout == original


def test_output_option_and_refusing_to_overwrite(reads, tmp_path):
    target = tmp_path / "custom.lz"
    assert run("compress", "-o", target, reads).returncode == 0
    first = target.read_bytes()
    again = run("compress", "-o", target, reads)
    assert again.returncode == 1
    assert again.stderr.decode() == f"lstmzip: {reads}: {target} already exists; use -f to overwrite\n"
    assert target.read_bytes() == first
    assert run("compress", "-f", "-o", target, reads).returncode == 0
    out = tmp_path / "out.fq"
    assert run("decompress", "-o", out, target).returncode == 0
    assert out.read_bytes() == reads.read_bytes()


def test_rm_removes_the_input_only_after_success(reads, tmp_path):
    bad = tmp_path / "bad.fq"
    bad.write_bytes(b"@r\nACGT\n+\nIII\n")
    result = run("compress", "--rm", bad)
    assert result.returncode == 1 and bad.exists()
    assert not (tmp_path / "bad.lz").exists()
    assert run("compress", "--rm", reads).returncode == 0
    assert not reads.exists() and (tmp_path / "reads.lz").exists()


def test_invalid_fastq_names_file_and_line_and_leaves_nothing(tmp_path):
    bad = tmp_path / "reads.fq"
    bad.write_bytes(b"@r\nACGT\n+\nIIII\n@s\nACGT\n+\nIII\n")
    result = run("compress", bad)
    assert result.returncode == 1
    assert result.stderr.decode() == f"lstmzip: {bad}:8: quality line has 3 characters, sequence has 4\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reads.fq"]  # no output, no temporary file


def test_corrupt_archive_leaves_no_output(reads, tmp_path):
    assert run("compress", reads).returncode == 0
    archive = tmp_path / "reads.lz"
    data = bytearray(archive.read_bytes())
    data[-100] ^= 0x55
    archive.write_bytes(bytes(data))
    reads.unlink()
    result = run("decompress", archive)
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"lstmzip: {archive}: ")
    assert b"Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reads.lz"]


def test_lzip_file_is_named(tmp_path):
    fake = tmp_path / "x.lz"
    fake.write_bytes(b"LZIP\x01\x0c" + bytes(30))
    result = run("decompress", "-c", fake)
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"lstmzip: {fake}: this is an lzip file, not an lstmzip archive (decompress it with lzip -d)\n")


def test_errors_on_one_file_do_not_stop_the_others(reads, tmp_path):
    missing = tmp_path / "missing.fq"
    result = run("compress", missing, reads)
    assert result.returncode == 1
    assert result.stderr.decode() == f"lstmzip: {missing}: No such file or directory\n"
    assert (tmp_path / "reads.lz").exists()


def test_usage_errors_exit_2(reads):
    assert run("compress", "--no-such-option", reads).returncode == 2
    assert run("compress", "-o", "x.lz", reads, reads).returncode == 2
    assert run("frobnicate").returncode == 2


def test_refuses_to_write_compressed_data_to_a_terminal(reads):
    leader, follower = pty.openpty()
    try:
        result = subprocess.run([*LSTMZIP, "compress", "-c", str(reads)], stdout=follower, stderr=subprocess.PIPE)
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"lstmzip: {reads}: compressed data not written to a terminal; use -f to force\n")


def test_test_and_list(reads, tmp_path):
    assert run("compress", "-3", reads).returncode == 0
    archive = tmp_path / "reads.lz"
    tested = run("test", archive)
    assert tested.returncode == 0
    size = reads.stat().st_size
    assert tested.stderr.decode() == f"lstmzip: {archive}: ok, 100 records, {size:,} bytes\n"
    listed = json.loads(run("list", "--json", archive).stdout)
    (entry,) = listed["files"]
    assert entry["records"] == 100 and entry["bases"] == 15_000 and entry["raw_bytes"] == size
    assert entry["archive_bytes"] == archive.stat().st_size and entry["blocks"] == 1 and entry["level"] == 3
    assert sum(entry["streams"].values()) == entry["archive_bytes"]
    assert entry["name"] == "reads.fq"
    text = run("list", archive).stdout.decode()
    assert "100" in text and "reads.lz" in text


def test_threads_do_not_change_the_archive(reads):
    original = reads.read_bytes()
    one = run("compress", "-c", "-T1", reads).stdout
    two = run("compress", "-c", "-T2", reads).stdout
    assert one == two
    assert run("decompress", "-c", "-T2", stdin=one).stdout == original


def test_verbose_reports_streams(reads):
    result = run("compress", "-v", "-c", reads)
    report = result.stderr.decode()
    for word in ("names", "bits/base", "bits/quality", "bits/name", "ratio", "MB/s"):
        assert word in report


def test_verbose_says_why_no_network_was_trained(reads):
    bases = sum(len(line) for line in reads.read_bytes().split(b"\n")[1::4])
    lines = run("compress", "-v", "-c", reads).stderr.decode().splitlines()
    assert f"lstmzip:   LSTM: none trained: the first block has {bases:,} bases; this level trains from 4,000,000 " \
           "(below, training costs more than it saves)" in lines
    assert "lstmzip:   LSTM: none trained: this level trains no network" in run("compress", "-1", "-v", "-c", reads).stderr.decode()


def test_the_command_line_starts_without_numpy_numba_or_the_models():
    """--version and --help answer at once: importing the command line (and the package) loads none of
    them; the commands import what they use."""
    probe = ("import sys, lstmzip, lstmzip.cli\n"
             "heavy = ('numpy', 'numba', 'constriction', 'tensorflow', 'plotly', 'lstmzip.pipeline', 'lstmzip.files')\n"
             "print(sorted(m for m in heavy if m in sys.modules))\n")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout == b"[]\n"
    assert run("--version").stdout == b"lstmzip, version 0.1.0\n"
    assert b"compress" in run("--help").stdout


def test_list_reads_the_index_without_numba_constriction_or_the_coders():
    """`lstmzip list` is quick: it reads headers, indexes and the statistics section, and loads none of
    the modules that decode (an archive with both networks, two members and a statistics section)."""
    golden = Path(__file__).parent / "golden" / "v3"
    probe = ("import sys\n"
             "from lstmzip import cli\n"
             "try:\n"
             "    cli.main(['list', '--json', *sys.argv[1:]])\n"
             "except SystemExit as end:\n"
             "    assert end.code == 0, end.code\n"
             "heavy = ('numba', 'constriction', 'tensorflow', 'plotly', 'lstmzip.pipeline', 'lstmzip.streams',\n"
             "         'lstmzip.lstm', 'lstmzip.learning', 'lstmzip.files')\n"
             "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n")
    listed = subprocess.run([sys.executable, "-c", probe, str(golden / "hiseqx_200.level6_lstm.lz"),
                             str(golden / "two_members.level1_level6.lz")], capture_output=True, check=True)
    assert listed.stderr == b"[]\n"
    assert [f["records"] for f in json.loads(listed.stdout)["files"]] == [200, 90]
