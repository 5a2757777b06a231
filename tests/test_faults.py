"""Faults around the compressor: a full disk, an unwritable place, a reader that goes away, signals,
input that ends mid-record or changes size while it is read. Always: a clear message, the right exit
status, no partial output, the input untouched."""

import gzip
import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from conftest import CORPUS, EXAMPLE

LSTMZIP = [sys.executable, "-m", "lstmzip"]


def run(*args, **kwargs):
    return subprocess.run([*LSTMZIP, *map(str, args)], capture_output=True, **kwargs)


def test_disk_full_leaves_nothing(tmp_path):
    reads = tmp_path / "reads.fq"
    reads.write_bytes(EXAMPLE.read_bytes())
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # noqa: E731
    result = run("compress", "-1", reads, preexec_fn=limit)
    assert result.returncode == 1
    assert result.stderr.decode() == f"lstmzip: {reads}: File too large\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reads.fq"]
    assert reads.read_bytes() == EXAMPLE.read_bytes()


def test_unwritable_output_place(tmp_path):
    result = run("compress", "-o", "/proc/reads.lz", EXAMPLE)
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"lstmzip: {EXAMPLE}: ")
    missing = tmp_path / "no" / "such" / "dir.lz"
    result = run("compress", "-o", missing, EXAMPLE)
    assert result.returncode == 1
    assert result.stderr.decode() == f"lstmzip: {EXAMPLE}: No such file or directory\n"


def test_reader_going_away_is_quiet(tmp_path):
    archive = tmp_path / "reads.lz"
    assert run("compress", "-o", archive, EXAMPLE).returncode == 0
    pipeline = subprocess.run(f"{sys.executable} -m lstmzip cat {archive} | head -1", shell=True,
                              capture_output=True, executable="/bin/bash")
    assert pipeline.stdout == EXAMPLE.read_bytes().split(b"\n")[0] + b"\n"
    assert pipeline.stderr == b""


def test_input_ending_mid_record_is_refused(tmp_path):
    data = EXAMPLE.read_bytes()
    cut = data[: len(data) // 2]
    reads = tmp_path / "reads.fq"
    reads.write_bytes(cut)
    result = run("compress", reads)
    assert result.returncode == 1
    assert "unexpected end of file" in result.stderr.decode() or "quality line has" in result.stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reads.fq"]


@pytest.fixture(scope="module")
def big_input(tmp_path_factory):
    """About 70 MB of FASTQ: long enough to interrupt in the middle."""
    source = CORPUS / "nextseq_dropseq.fq.gz"
    if not source.exists():
        pytest.skip("corpus not here")
    path = tmp_path_factory.mktemp("big") / "reads.fq"
    path.write_bytes(gzip.decompress(source.read_bytes()))
    return path


def start_writing(args, directory):
    """Start lstmzip and return once its output file exists (it has opened its input and is working)."""
    process = subprocess.Popen([*LSTMZIP, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".tmp") for p in directory.iterdir()):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    return process


def interrupt(args, signum, directory):
    process = start_writing(args, directory)
    time.sleep(0.5)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    return process.returncode, stderr.decode()


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_during_compress_and_decompress(big_input, signum, status):
    directory = big_input.parent
    before = big_input.stat()
    code, stderr = interrupt(["compress", "-1", "-T2", big_input], signum, directory)
    assert (code, stderr) == (status, "lstmzip: interrupted\n")
    assert sorted(p.name for p in directory.iterdir()) == ["reads.fq"]
    assert big_input.stat().st_size == before.st_size and big_input.stat().st_mtime == before.st_mtime

    archive = directory / "reads.lz"
    assert run("compress", "-1", "-T2", "-o", archive, big_input).returncode == 0
    target = directory / "out.fq"
    code, stderr = interrupt(["decompress", "-T2", "-o", target, archive], signum, directory)
    assert (code, stderr) == (status, "lstmzip: interrupted\n")
    assert sorted(p.name for p in directory.iterdir()) == ["reads.fq", "reads.lz"]
    archive.unlink()


@pytest.mark.parametrize("change", ["shrink", "grow"])
def test_input_changing_size_while_read_is_refused(big_input, tmp_path, change):
    reads = tmp_path / "reads.fq"
    reads.write_bytes(big_input.read_bytes())
    size = reads.stat().st_size
    process = start_writing(["compress", "-1", reads], tmp_path)
    if change == "shrink":
        os.truncate(reads, size // 3)
    else:
        with open(reads, "ab") as f:
            f.write(b"@late\nACGT\n+\nIIII\n")
    _, stderr = process.communicate(timeout=300)
    now = reads.stat().st_size
    assert process.returncode == 1
    assert stderr.decode() == (f"lstmzip: {reads}: file changed size while it was read "
                               f"({size:,} bytes at the start, {now:,} now)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reads.fq"]


def test_ctrl_c_while_workers_start_is_not_lost():
    """A Ctrl-C that lands while the worker processes are forked: Python drops exceptions raised in
    at-fork handlers, so lstmzip holds the signal until the workers exist, then stops (and kills them)."""
    import multiprocessing

    from lstmzip.workers import Pool

    armed = [True]

    def ctrl_c_during_fork():
        if armed[0]:
            armed[0] = False
            os.kill(os.getpid(), signal.SIGINT)

    os.register_at_fork(before=ctrl_c_during_fork)  # stays registered, but fires only once
    with pytest.raises(KeyboardInterrupt):
        with Pool(2):
            pytest.fail("the Ctrl-C was lost")
    assert not armed[0] and multiprocessing.active_children() == []
