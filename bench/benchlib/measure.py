"""Run one command and measure it: wall time, peak memory of its whole process tree, its CPU time
and the CPU the rest of the machine used meanwhile.

Memory is PSS (proportional set size, from /proc/PID/smaps_rollup): a page shared by n processes
counts 1/n in each, so the sum over a tree of forked workers is the physical memory the tree holds.
Summed RSS would count every shared page (libraries, copy-on-write memory the workers inherit) once
per process and overstate it.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

SAMPLE_S = 0.05     # PSS sampling interval ...
MAX_DUTY = 0.10     # ... stretched so that sampling takes at most this share of one core
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None  # exited meanwhile
    return int(stat[stat.rindex(b")") + 2:].split()[1])  # after "(comm)": state, ppid


def pss_kib(pid: int) -> int:
    """PSS of one process in KiB (0 once it has exited or become a zombie)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class ProcessTree:
    """A process and all its descendants, as they come and go.

    Each pid's parent is read once, when the pid first shows up in /proc, so a call costs a
    listdir plus the stat of new pids (a full scan of /proc/*/stat took ~8 ms here). A process
    stays a member while it lives, even if its parent exits and it is reparented."""

    def __init__(self, root: int):
        self.members = {root}
        self.others: set[int] = set()

    def pids(self) -> set[int]:
        live = {int(d) for d in os.listdir("/proc") if d.isdigit()}
        self.members &= live
        self.others &= live
        parents = {pid: _ppid(pid) for pid in live - self.members - self.others}
        grew = True
        while grew:  # a new child of a new child joins on a later pass
            grew = False
            for pid, ppid in list(parents.items()):
                if ppid in self.members:
                    self.members.add(pid)
                    del parents[pid]
                    grew = True
        self.others |= parents.keys()
        return set(self.members)


class PeakPSS:
    """`with PeakPSS(pid) as peak: ...` samples the summed PSS of pid's tree in a thread, every
    SAMPLE_S seconds or less often where a sample is slow (smaps_rollup walks every page table:
    14 ms for a 660 MB process on a loaded machine), so the sampler never takes over MAX_DUTY of
    one core. peak.kib is the largest sum seen, peak.samples the number of samples that found a
    live process, peak.interval the mean time between samples."""

    def __init__(self, root: int):
        self.tree = ProcessTree(root)
        self.kib = 0
        self.samples = 0
        self._start = time.perf_counter()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    @property
    def interval(self) -> float | None:
        return (time.perf_counter() - self._start) / self.samples if self.samples else None

    def _poll(self) -> None:
        while True:
            t0 = time.perf_counter()
            total = sum(pss_kib(pid) for pid in self.tree.pids())
            if total:
                self.samples += 1
                self.kib = max(self.kib, total)
            cost = time.perf_counter() - t0
            if self._done.wait(max(SAMPLE_S, cost / MAX_DUTY - cost)):
                return

    def __enter__(self) -> "PeakPSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


@dataclass
class Run:
    rc: int
    wall: float                 # seconds, process start to exit
    pss_kib: int | None         # peak summed PSS of the tree; None: ended before the first sample
    pss_samples: int
    pss_interval: float | None  # mean seconds between samples
    cpu_s: float | None         # user + system CPU of the tree (every waited-for process)
    other_cores: float | None   # CPU the rest of the machine used meanwhile, in cores
    err: bytes

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def err_tail(self, n: int = 400) -> str:
        text = " // ".join(l.strip() for l in self.err.decode("utf-8", "replace").splitlines() if l.strip())
        return text[-n:]


def run_measured(argv: list[str], stdin: Path | None = None, stdout: Path | None = None,
                 feed: Callable | None = None, drain: Callable | None = None) -> Run:
    """Runs argv and measures it. stdin/stdout: a file to read / write, or None; feed(pipe) writes
    the command's stdin and drain(pipe) reads its stdout, each in a thread (and must close it).
    The command is reaped with wait4, whose rusage gives the CPU time of it and of every descendant
    it waited for. (Not its ru_maxrss: Python starts commands with vfork, so the child records this
    script's RSS as its own high-water mark at exec.)"""
    with ExitStack() as stack:
        fin = (stack.enter_context(open(stdin, "rb")) if stdin else
               subprocess.PIPE if feed else subprocess.DEVNULL)
        fout = (stack.enter_context(open(stdout, "wb")) if stdout else
                subprocess.PIPE if drain else subprocess.DEVNULL)
        ferr = stack.enter_context(tempfile.TemporaryFile())
        busy0, t0 = busy_cpu_s(), time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdin=fin, stdout=fout, stderr=ferr)
        except OSError as e:
            return Run(127, 0.0, None, 0, None, None, None, f"{argv[0]}: {e}".encode())
        pumps = [threading.Thread(target=fn, args=(pipe,), daemon=True)
                 for fn, pipe in ((feed, proc.stdin), (drain, proc.stdout)) if fn]
        with PeakPSS(proc.pid) as peak:
            for t in pumps:
                t.start()
            for t in pumps:
                t.join()
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        busy = busy_cpu_s() - busy0
        proc.returncode = os.waitstatus_to_exitcode(status)
        ferr.seek(0)
        err = ferr.read()
    cpu = usage.ru_utime + usage.ru_stime
    # /proc/stat counts in clock ticks (10 ms): below a second the difference is noise.
    other = max(0.0, (busy - cpu) / wall) if wall >= 1 else None
    return Run(proc.returncode, wall, peak.kib or None, peak.samples, peak.interval, cpu, other, err)


def startup_seconds(argv: list[str], runs: int = 5) -> tuple[float | None, list[float], int]:
    """(median wall seconds, all of them, last exit status) of `runs` runs of argv, output discarded."""
    times, rc = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        try:
            rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL).returncode
        except OSError:
            return None, [], 127
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, rc
