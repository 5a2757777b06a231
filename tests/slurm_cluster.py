"""A one-node SLURM cluster for a test: Debian's slurm-wlm and munge started as daemons (no systemd) with a
munge key, a munge socket and a slurm.conf of its own in a private directory, so nothing of the machine's
own configuration is used or changed; everything is stopped when the test ends. Where it cannot start
(not installed, not root, a daemon that fails), Unavailable says why, for the test to skip with."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

TOOLS = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "sinfo", "scancel")
START_SECONDS = 60


class Unavailable(Exception):
    """Why SLURM cannot run here."""


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _memory_mb() -> int:
    with open("/proc/meminfo") as f:
        total_kb = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    return total_kb // 1024 // 2  # what the node offers jobs: half the machine, which is shared


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _config(root: Path, ports: list[int], cpus: int) -> str:
    return "\n".join([
        "ClusterName=lstmzip-test",
        "SlurmctldHost=localhost(127.0.0.1)",
        f"SlurmctldPort={ports[0]}",
        f"SlurmdPort={ports[1]}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={root}/munge.socket",
        f"StateSaveLocation={root}/state",
        f"SlurmdSpoolDir={root}/spool",
        f"SlurmctldPidFile={root}/slurmctld.pid",
        f"SlurmdPidFile={root}/slurmd.pid",
        f"SlurmctldLogFile={root}/slurmctld.log",
        f"SlurmdLogFile={root}/slurmd.log",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "SchedulerType=sched/backfill",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/none",
        "MpiDefault=none",
        "ReturnToService=2",
        "MinJobAge=600",  # finished jobs stay visible to squeue, which the Snakemake plugin then asks
        "SlurmdTimeout=60",
        f"NodeName=node1 NodeHostname=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={_memory_mb()} State=UNKNOWN",
        "PartitionName=main Nodes=node1 Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


@contextlib.contextmanager
def cluster(root: Path) -> Iterator[dict]:
    """Start munged, slurmctld and slurmd under root; yield the environment for SLURM's clients."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise Unavailable(f"{', '.join(missing)} not installed (Debian: apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        raise Unavailable("slurmd must run as root to start jobs, and this is not root")
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)  # munged refuses a socket directory others may write to
    for sub in ("state", "spool"):
        (root / sub).mkdir(exist_ok=True)
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    conf = root / "slurm.conf"
    cpus = os.cpu_count() or 1
    conf.write_text(_config(root, _free_ports(2), cpus))
    # The Snakemake job-step plugin runs each job's srun without the SLURM_* variables it inherits,
    # SLURM_CONF among them (a real cluster keeps its slurm.conf where srun looks by default): an srun
    # first on PATH that knows this cluster's
    (root / "bin").mkdir(exist_ok=True)
    wrapper = root / "bin" / "srun"
    wrapper.write_text(f"#!/bin/sh\nSLURM_CONF={conf} exec {shutil.which('srun')} \"$@\"\n")
    wrapper.chmod(0o755)
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    daemons: list[subprocess.Popen] = []

    def start(*command: str) -> None:
        daemons.append(subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, env=env, start_new_session=True))

    try:
        start("munged", "--foreground", "--force", f"--socket={root}/munge.socket", f"--key-file={key}",
              f"--pid-file={root}/munged.pid", f"--log-file={root}/munged.log", f"--seed-file={root}/munged.seed")
        _wait(lambda: subprocess.run(["munge", "-n", "-S", f"{root}/munge.socket"], capture_output=True).returncode == 0,
              daemons, f"munged did not start: {_tail(root / 'munged.log')}")
        start("slurmctld", "-D", "-c", "-f", str(conf))
        start("slurmd", "-D", "-f", str(conf), "-N", "node1")
        _wait(lambda: _idle(env), daemons,
              f"the node did not come up: slurmctld: {_tail(root / 'slurmctld.log')}; slurmd: {_tail(root / 'slurmd.log')}")
        yield env
    finally:
        for daemon in reversed(daemons):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(daemon.pid, signal.SIGTERM)
        for daemon in reversed(daemons):
            try:
                daemon.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()


def _idle(env: dict) -> bool:
    result = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=env)
    return result.returncode == 0 and result.stdout.strip() in ("idle", "mixed", "allocated")


def _wait(ready, daemons: list[subprocess.Popen], failure: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not ready():
        if time.monotonic() > deadline or any(d.poll() is not None for d in daemons):
            raise Unavailable(failure)
        time.sleep(0.5)
