"""Run the fuzzers of tests/test_fuzz.py and tests/test_fuzz_cli.py for a long time (CI runs them briefly).

    python fuzz/run.py --seconds 3600 [--target roundtrip|decoder|cli|all]

Targets: roundtrip (odd FASTQ must come back exactly), decoder (damaged and crafted archives, paired
and multi-member ones too, must be refused or decode exactly, in process, read front to back and through
the index, and be described or refused as list and report read them), cli (`lstmzip decompress -T2` of damaged archives and `compress
-T2` of FASTQ damaged in a later block, as separate process groups: no hang, traceback, leftover process
or file, or wrong data).

Each round runs EXAMPLES fresh random examples per property; the first failure stops the run, and
hypothesis prints the falsifying input (and keeps it in .hypothesis/ to replay it first next time):
turn it into a regression test. Here, unlike in CI, an example that takes over DEADLINE seconds fails
(a hang), and the process may not map more than MEMORY GiB (unbounded memory fails as MemoryError).
Prints rounds, examples and hours at the end.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"roundtrip": ["tests/test_fuzz.py::test_any_fastq_round_trips"],
           "decoder": ["tests/test_fuzz.py::test_damaged_archives_are_refused_or_exact",
                       "tests/test_fuzz.py::test_crafted_archives_are_refused_or_exact",
                       "tests/test_fuzz.py::test_damaged_archives_read_by_index_are_refused_or_exact",
                       "tests/test_fuzz.py::test_crafted_archives_are_described_or_refused"],
           "cli": ["tests/test_fuzz_cli.py::test_cli_decompress_of_damaged_archives",
                   "tests/test_fuzz_cli.py::test_cli_compress_of_fastq_damaged_in_a_later_block"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3600)
    parser.add_argument("--target", choices=[*TARGETS, "all"], default="all")
    parser.add_argument("--examples", type=int, default=500, help="examples per property per round")
    parser.add_argument("--deadline", type=float, default=30,
                        help="seconds one in-process example may take (a cli run has its own limit)")
    parser.add_argument("--memory", type=float, default=3, help="GiB of address space the fuzzer may map")
    args = parser.parse_args()
    names = sum(TARGETS.values(), []) if args.target == "all" else TARGETS[args.target]
    env = os.environ | {"LSTMZIP_FUZZ_EXAMPLES": str(args.examples), "LSTMZIP_FUZZ_DEADLINE": str(args.deadline),
                        "OPENBLAS_NUM_THREADS": "1"}
    limit = int(args.memory * (1 << 30))

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    started, rounds = time.monotonic(), 0
    while time.monotonic() - started < args.seconds:
        result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *names],
                                cwd=ROOT, env=env, preexec_fn=limit_memory)
        if result.returncode:
            print(f"FAILED in round {rounds + 1}", file=sys.stderr)
            return 1
        rounds += 1
    hours = (time.monotonic() - started) / 3600
    print(f"{rounds} rounds, {rounds * args.examples * len(names)} examples, {hours:.2f} h, no failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
