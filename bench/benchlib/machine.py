"""What the benchmark ran on, and what else was running: CPU, cores, RAM, OS, load."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time


def first_line(argv: list[str]) -> str | None:
    """First line a command prints (stdout, else stderr), or None if it fails."""
    try:
        p = subprocess.run(argv, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = (p.stdout or p.stderr).decode("utf-8", "replace").strip()
    if p.returncode != 0 or not out:
        return None
    return out.splitlines()[0].strip(" *")


def _proc_value(path: str, key: str, sep: str = ":") -> str | None:
    """The value of the first line `key<sep>value` of a file (key case-insensitive)."""
    try:
        with open(path) as f:
            for line in f:
                name, found, value = line.partition(sep)
                if found and name.strip().lower() == key.lower():
                    return value.strip()
    except OSError:
        pass
    return None


def machine_info() -> list[tuple[str, str]]:
    """(label, text) pairs: CPU, cores, RAM, OS, Python."""
    ram = _proc_value("/proc/meminfo", "MemTotal")
    osname = _proc_value("/etc/os-release", "PRETTY_NAME", "=")
    return [
        ("CPU", _proc_value("/proc/cpuinfo", "model name") or "unknown"),
        ("cores", f"{os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable by this process"),
        ("RAM", f"{int(ram.split()[0]) / 2**20:.1f} GiB" if ram else "unknown"),
        ("OS", f"{osname.strip(chr(34))} (kernel {platform.release()})" if osname else platform.platform()),
        ("Python", f"{platform.python_version()} ({sys.executable})"),
    ]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def _cpu_ticks() -> dict[int, tuple[str, int]]:
    """pid -> (command name, user + system clock ticks so far) for every process."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            comm = stat[stat.index(b"(") + 1: stat.rindex(b")")].decode("utf-8", "replace")
            fields = stat[stat.rindex(b")") + 2:].split()
            out[int(d)] = (comm, int(fields[11]) + int(fields[12]))  # utime, stime
    return out


def busy_processes(window: float = 2.0, min_share: float = 0.05) -> str:
    """The processes other than this one that used at least min_share of a core over the next
    `window` seconds, busiest first, e.g. 'python (pid 12737) 52 %, ...'; 'none' if there are none."""
    before = _cpu_ticks()
    time.sleep(window)
    after = _cpu_ticks()
    tck = os.sysconf("SC_CLK_TCK")
    busy = []
    for pid, (comm, ticks) in after.items():
        share = (ticks - before.get(pid, (comm, ticks))[1]) / tck / window
        if pid != os.getpid() and share >= min_share:
            busy.append((share, pid, comm))
    busy.sort(reverse=True)
    return ", ".join(f"{comm} (pid {pid}) {share:.0%}" for share, pid, comm in busy) or "none"
