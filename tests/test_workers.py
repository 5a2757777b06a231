"""The worker processes: results and errors come back, a dead worker is an error and not a hang, and no
error, signal or kill ever leaves lstmzip waiting forever or leaves a worker behind.

The CLI runs here each get their own process group (a session), so a Ctrl-C can be sent the way a
terminal sends it, to the whole group, and whatever survives the run can be found."""

import gzip
import io
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from lstmzip.errors import CorruptArchiveError, FastqError, LstmzipError
from lstmzip.workers import Pool, WorkerDied

from conftest import CORPUS, EXAMPLE, decompress_bytes, group_processes

LSTMZIP = [sys.executable, "-m", "lstmzip"]
HANG = 120  # seconds after which a run counts as hung (every run here takes a few)


def _fail(kind, *args):
    raise kind(*args)


def test_pool_returns_results_and_errors_in_order():
    with Pool(2) as pool:
        tasks = [pool.submit(pow, n, 2) for n in range(20)]
        corrupt = pool.submit(_fail, CorruptArchiveError, "bad")
        fastq = pool.submit(_fail, FastqError, 12, "quality line has 3 characters, sequence has 4")
        assert [task.get() for task in tasks] == [n * n for n in range(20)]
        with pytest.raises(CorruptArchiveError, match="^bad$"):
            corrupt.get()
        with pytest.raises(FastqError) as error:
            fastq.get()
        assert (error.value.line, error.value.detail) == (12, "quality line has 3 characters, sequence has 4")


def _unpicklable():
    return lambda: 0


def test_an_unpicklable_result_is_an_error_and_the_worker_goes_on():
    with Pool(1) as pool:
        bad = pool.submit(_unpicklable)
        with pytest.raises(LstmzipError, match="^internal error "):
            bad.get()
        assert pool.submit(pow, 3, 3).get() == 27


def _kill_self():
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_worker_is_an_error_not_a_hang():
    with pytest.raises(WorkerDied, match=r"^a worker process ended unexpectedly \(killed by signal 9; out of memory\?\)$"):
        with Pool(2) as pool:
            pool.submit(_kill_self).get()


def _die(*args):
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_while_decoding_is_not_called_damage(monkeypatch):
    """WorkerDied passes through decoding unchanged, front to back and through the index: this machine's
    trouble (out of memory), not a corrupt archive."""
    from lstmzip import archive, pipeline

    from conftest import compress_bytes

    packed = compress_bytes(EXAMPLE.read_bytes()[:20_000].rsplit(b"\n@", 1)[0] + b"\n", level=1)
    monkeypatch.setattr(pipeline, "decode_names", _die)  # the worker that decodes the names dies
    for read in (lambda: pipeline.decompress_stream(io.BytesIO(packed), io.BytesIO(), 2),
                 lambda: b"".join(archive.read_range(io.BytesIO(packed), slice(0, 3), threads=2))):
        with pytest.raises(WorkerDied) as caught:
            read()
        assert not isinstance(caught.value, CorruptArchiveError)
        assert str(caught.value) == "a worker process ended unexpectedly (killed by signal 9; out of memory?)"


def run_in_group(args, *, slow_workers=False, ctrl_c_at_fork=False, **kwargs):
    """Run lstmzip in a new session; returns (exit status, stderr) and asserts that it ended in time and
    left no process. slow_workers: every forked process sleeps 0.3 s first (a loaded machine), so an
    early error reaches the pool while its workers are still starting. ctrl_c_at_fork: a Ctrl-C to the
    whole group just after the first worker is forked."""
    script = "import os, signal, sys, time\n"
    if slow_workers:
        script += "os.register_at_fork(after_in_child=lambda: time.sleep(0.3))\n"
    if ctrl_c_at_fork:
        script += ("fired = []\n"
                   "os.register_at_fork(after_in_parent=lambda: fired or (fired.append(1), os.killpg(0, signal.SIGINT)))\n")
    script += "from lstmzip.__main__ import run\nsys.argv[0] = 'lstmzip'\nrun()\n"
    process = subprocess.Popen([sys.executable, "-c", script, *map(str, args)], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    try:
        _, stderr = process.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"lstmzip {' '.join(map(str, args))} hung")
    deadline = time.monotonic() + 2
    while group_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_processes(process.pid) == [], "a worker outlived lstmzip"
    return process.returncode, stderr.decode()


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """An archive of the example whose only block fails its checksum, and one that is fine."""
    directory = tmp_path_factory.mktemp("damaged")
    archive = directory / "good.lz"
    subprocess.run([*LSTMZIP, "compress", "-1", "-o", archive, EXAMPLE], check=True)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x10
    (directory / "bad.lz").write_bytes(bytes(data))
    return directory


def test_damaged_first_block_with_slow_workers_ends(damaged):
    code, stderr = run_in_group(["decompress", "-T2", "-o", damaged / "out.fq", damaged / "bad.lz"], slow_workers=True)
    assert (code, stderr) == (1, f"lstmzip: {damaged / 'bad.lz'}: block 1 is corrupt (checksum mismatch)\n")
    assert not (damaged / "out.fq").exists()


def test_bad_fastq_in_second_block_with_slow_workers_ends(tmp_path):
    lines = EXAMPLE.read_bytes().split(b"\n")
    lines[2401] = lines[2401][:-1]  # record 601's sequence: far beyond the first 64 KiB block
    reads = tmp_path / "reads.fq"
    reads.write_bytes(b"\n".join(lines))
    code, stderr = run_in_group(["compress", "-1", "-T2", "--block-size", "64K", reads], slow_workers=True)
    length = len(lines[2401])
    assert (code, stderr) == (1, f"lstmzip: {reads}:2404: quality line has {length + 1} characters, "
                                 f"sequence has {length}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reads.fq"]


@pytest.mark.parametrize("command", ["compress", "decompress"])
def test_ctrl_c_while_slow_workers_start_ends(damaged, command):
    source = EXAMPLE if command == "compress" else damaged / "good.lz"
    target = damaged / f"ctrl-c.{command}"
    code, stderr = run_in_group([command, "-T2", "-o", target, source], slow_workers=True, ctrl_c_at_fork=True)
    assert (code, stderr) == (130, "lstmzip: interrupted\n")
    assert not target.exists() and not any(p.name.endswith(".tmp") for p in damaged.iterdir())


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    """Seven blocks of real reads (3.6 MB): a decompression that keeps both workers busy for a while."""
    source = CORPUS / "hiseqx_151.fq.gz"
    if not source.exists():
        pytest.skip("corpus not here")
    directory = tmp_path_factory.mktemp("long")
    reads = directory / "reads.fq"
    reads.write_bytes(gzip.decompress(source.read_bytes()))
    subprocess.run([*LSTMZIP, "compress", "-1", "--block-size", "512K", reads], check=True)
    return directory


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return f.read().split()


def test_sigkill_of_lstmzip_leaves_no_worker_and_says_nothing(long_run):
    process = subprocess.Popen([*LSTMZIP, "decompress", "-T2", "-c", long_run / "reads.lz"], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 2:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    time.sleep(0.3)  # the workers are decoding blocks now
    process.kill()
    process.wait()
    time.sleep(1)
    assert group_processes(process.pid) == []
    assert process.stderr.read() == b""  # returns once the last worker, which shares the pipe, is gone


@pytest.mark.parametrize("seed", range(6))
def test_stop_signals_at_random_moments(long_run, seed):
    """Ctrl-C (SIGINT to the whole group) or SIGTERM (to lstmzip alone) at any moment of a compress or a
    decompress: the run ends as interrupted (or had already finished, exactly), leaving nothing."""
    rng = random.Random(seed)
    command = rng.choice(["compress", "decompress"])
    signum = rng.choice([signal.SIGINT, signal.SIGTERM])
    source = long_run / ("reads.fq" if command == "compress" else "reads.lz")
    target = long_run / f"out.{command}"
    args = [command, "-1" if command == "compress" else "-q", "-T2", "--block-size", "512K", "-o", target, source]
    if command == "decompress":
        args.remove("--block-size"), args.remove("512K")
    process = subprocess.Popen([*LSTMZIP, *map(str, args)], start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    time.sleep(rng.uniform(0, 3))
    if signum == signal.SIGINT:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=HANG)
    time.sleep(0.5)
    assert group_processes(process.pid) == []
    expected = (long_run / "reads.fq").read_bytes()
    if process.returncode == 0:  # it had finished
        assert stderr == b""
        assert target.exists()
    else:
        assert (process.returncode, stderr.decode()) in [(130 if signum == signal.SIGINT else 143, "lstmzip: interrupted\n"),
                                                         (-signum, "")]  # before Python had started
    # an output is never partial: absent, or (renamed into place before the signal came) complete
    if target.exists():
        assert (target.read_bytes() if command == "decompress" else decompress_bytes(target.read_bytes(), threads=2)) == expected
    assert not any(p.name.endswith(".tmp") for p in long_run.iterdir())
    target.unlink(missing_ok=True)


def test_ctrl_c_during_training_stops_the_training_process(long_run, tmp_path):
    """The networks train in a spawned process (TensorFlow): a Ctrl-C or a kill must end it too."""
    reads = long_run / "reads.fq"
    process = subprocess.Popen([*LSTMZIP, "compress", "-2", "-T2", "-o", tmp_path / "out.lz", reads], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not _children(process.pid):  # the training process has been spawned
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    time.sleep(1.5)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=HANG)
    assert (process.returncode, stderr.decode()) == (130, "lstmzip: interrupted\n")
    time.sleep(0.5)
    assert group_processes(process.pid) == []
    assert list(tmp_path.iterdir()) == []
