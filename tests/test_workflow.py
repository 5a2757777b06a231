"""The Snakemake workflow (workflow/Snakefile) on corpus slices: every FASTQ and R1/R2 pair of a directory
compressed and tested, inputs removed only after their test, one large FASTQ by scatter/gather whose
archive is byte for byte `compress --model` of the whole from standard input; nothing on the terminal but
Snakemake's log. Run locally, and on a one-node SLURM cluster started by the test (skipped, with the
reason, where SLURM cannot start)."""

import gzip
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, corpus_records, fastq

SNAKEFILE = ROOT / "workflow" / "Snakefile"
pytestmark = pytest.mark.skipif(importlib.util.find_spec("snakemake") is None, reason="Snakemake is not installed")


def inputs(directory: Path) -> dict[str, bytes]:
    """A pair, a gzip file, a plain file, and one large enough to be scattered: {name: FASTQ bytes}."""
    directory.mkdir()
    made = {
        "ga2_R1.fq": fastq(corpus_records("ga2_ecoli", 500)),
        "ga2_R2.fq": fastq(corpus_records("ga2_ecoli_2", 500)),
        "hiseqx.fq.gz": fastq(corpus_records("hiseqx_151", 300)),
        "ont.fastq": fastq(corpus_records("ont_seqkit", 40)),
        "big.fq": fastq(corpus_records("nextseq_dropseq", 7000)),
    }
    for name, data in made.items():
        (directory / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return made


def environment(extra: dict | None = None) -> dict:
    """lstmzip and snakemake of this Python first on PATH, as the workflow's jobs find them."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, **(extra or {})}
    env["PATH"] = f"{env['PATH']}{os.pathsep}{bin_dir}" if extra else f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def snakemake(where: Path, *options: str, env: dict, config: dict) -> subprocess.CompletedProcess:
    settings = [f"{key}={value}" for key, value in config.items()]
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(where),
                           *options, "--config", *settings], capture_output=True, text=True, env=env)


def check_results(where: Path, made: dict[str, bytes], result: subprocess.CompletedProcess, block_size: str,
                  env: dict) -> None:
    assert result.returncode == 0, result.stderr[-4000:]
    out = where / "out"
    for name in ("ga2", "hiseqx", "ont", "big"):
        assert (out / f"{name}.lz.tested").exists()
    assert not (where / "in").exists() or list((where / "in").iterdir()) == []  # inputs removed after their tests
    run = lambda *args, stdin=None: subprocess.run([sys.executable, "-m", "lstmzip", *map(str, args)],  # noqa: E731
                                                   input=stdin, capture_output=True, env=env)
    restored = run("decompress", "-c", out / "ga2.lz").stdout
    assert run("cat", "--mate", "1", out / "ga2.lz").stdout == made["ga2_R1.fq"]
    assert run("cat", "--mate", "2", out / "ga2.lz").stdout == made["ga2_R2.fq"] and restored
    for name, source in (("hiseqx", "hiseqx.fq.gz"), ("ont", "ont.fastq"), ("big", "big.fq")):
        assert run("decompress", "-c", out / f"{name}.lz").stdout == made[source]
    # scatter/gather: the joined archive is the one-shot archive with the workflow's model
    model = out / "scatter" / "big" / "model.lzm"
    one_shot = run("compress", "--model", model, "--block-size", block_size, "-c", stdin=made["big.fq"])
    assert one_shot.returncode == 0 and (out / "big.lz").read_bytes() == one_shot.stdout
    blocks = run("list", "--json", out / "big.lz").stdout
    assert b'"blocks": 8' in blocks  # over three chunks
    assert not list((out / "scatter" / "big").glob("chunk.*"))  # temporary: removed once joined
    # only Snakemake's log on the terminal: lstmzip's messages (and TensorFlow's) go to the jobs' logs
    terminal = result.stdout + result.stderr
    for foreign in ("lstmzip:", "tensorflow", "oneDNN", "Traceback", "I0000"):
        assert foreign not in terminal
    assert all(log.stat().st_size == 0 for log in (out / "logs").iterdir())


def test_workflow_runs_locally(tmp_path):
    made = inputs(tmp_path / "in")
    config = {"input_dir": "in", "output_dir": "out", "level": 2, "threads": 2, "remove_inputs": "true",
              "scatter_bytes": "1M", "chunks": 3, "block_size": "256K"}
    env = environment()
    result = snakemake(tmp_path, "--cores", "2", env=env, config=config)
    check_results(tmp_path, made, result, "256K", env)
    assert "Job stats:" in result.stderr and "compress_chunk        3" in result.stderr
    assert (tmp_path / "out" / "scatter" / "big" / "model.lzm").read_bytes()[:4] == b"\x89LZM"
    again = snakemake(tmp_path, "--cores", "2", env=env, config=config)  # the inputs are gone: nothing to do
    assert again.returncode == 0 and "rule compress" not in again.stderr and "rule test" not in again.stderr


def test_workflow_on_a_one_node_slurm_cluster(tmp_path):
    """The same workflow, every job through sbatch (snakemake-executor-plugin-slurm, the workflow's
    profiles/slurm), on a SLURM cluster of this machine alone."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip("snakemake-executor-plugin-slurm is not installed")
    import slurm_cluster

    made = inputs(tmp_path / "in")
    config = {"input_dir": "in", "output_dir": "out", "level": 1, "threads": 1, "remove_inputs": "true",
              "scatter_bytes": "1M", "chunks": 3, "block_size": "256K"}
    started = time.monotonic()
    try:
        with slurm_cluster.cluster(tmp_path / "slurm") as cluster_env:
            env = environment(cluster_env)
            result = snakemake(tmp_path, "--profile", str(ROOT / "workflow" / "profiles" / "slurm"), "--jobs", "4",
                               "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "3",
                               env=env, config=config)
            jobs = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i %T"], capture_output=True, text=True,
                                  env=env).stdout.split("\n")
    except slurm_cluster.Unavailable as why:
        pytest.skip(f"SLURM cannot start here: {why}")
    check_results(tmp_path, made, result, "256K", env)
    completed = [line for line in jobs if line.endswith("COMPLETED")]
    assert len(completed) == 13, jobs  # every job but `all` ran through SLURM
    print(f"SLURM workflow: {time.monotonic() - started:.0f} s")
