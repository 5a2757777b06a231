#!/usr/bin/env python3
"""Benchmark lstmzip against fqzcomp5, fqxv's estimate, gzip, xz, zstd and CRAM 3.1 on the corpus.

Standard library only (Python 3.11; fqxv optional). See bench/README.md for how to run it and what
it needs. Writes a Markdown report (default docs/benchmarks.md) and exits non-zero if any lossless
round trip failed (or a corpus file did not match its md5). The parts live in bench/benchlib/.
"""
from __future__ import annotations

import argparse
import datetime
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from benchlib import peers
from benchlib.corpus import stem
from benchlib.machine import busy_processes, first_line, load_average, machine_info
from benchlib.report import render
from benchlib.runner import Bench, log

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_FQZCOMP5 = REPO.parent / "shared" / "peers" / "bin" / "fqzcomp5"
DEFAULT_OUT = REPO / "docs" / "benchmarks.md"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="directory of *.fq.gz and README.md")
    ap.add_argument("--files", nargs="+", metavar="NAME", help="subset, e.g. ga2_ecoli hiseqx_151")
    ap.add_argument("--lstmzip", default="lstmzip", metavar="CMD", help="command that runs lstmzip")
    ap.add_argument("--level", type=int, default=None, help="lstmzip level (default: no level flag)")
    ap.add_argument("--threads", type=int, default=2, help="lstmzip -T and fqzcomp5 -t")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown report to write")
    ap.add_argument("--fqzcomp5", type=Path, default=DEFAULT_FQZCOMP5, metavar="PATH",
                    help="fqzcomp5 binary; its ../README.md records which corpus rows are not exact")
    ap.add_argument("--no-fqzcomp5", action="store_true", help="skip fqzcomp5 (and so the time ratios)")
    ap.add_argument("--fqxv-level", type=int, default=5, metavar="N", help="level for fqxv.estimate")
    ap.add_argument("--no-peers", action="store_true", help="skip gzip, xz, zstd and CRAM")
    ap.add_argument("--no-pipe-check", action="store_true", help="skip the stdin/stdout round trip (time)")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch directory (default: a temp dir)")
    return ap.parse_args(argv)


def select_files(corpus: Path, names: list[str] | None) -> list[Path]:
    """The corpus files to run; exits 2 naming any that are not there."""
    all_files = sorted(corpus.glob("*.fq.gz"))
    if names:
        want = {stem(f) for f in names}
        missing = want - {stem(f.name) for f in all_files}
        if missing:
            log(f"error: not in {corpus}: {', '.join(sorted(missing))}")
            sys.exit(2)
        all_files = [f for f in all_files if stem(f.name) in want]
    if not all_files:
        log(f"error: no *.fq.gz in {corpus}")
        sys.exit(2)
    return all_files


def main() -> int:
    a = parse_args()
    lz_argv = shlex.split(a.lstmzip)
    if not lz_argv or shutil.which(lz_argv[0]) is None:
        log(f"error: lstmzip command {a.lstmzip!r} not found (install the package, or pass --lstmzip CMD)")
        return 2
    files = select_files(a.corpus, a.files)
    if a.workdir:
        a.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lstmzip-bench-", dir=a.workdir) as workdir:
        b = Bench(a, lz_argv, Path(workdir))
        if not b.corpus_info:
            log(f"warning: no usable {a.corpus / 'README.md'}: no md5 check, no reference sizes")
        rev = first_line(["git", "-C", str(REPO), "describe", "--always", "--dirty"])
        log("machine: load average and busy processes")
        ctx = {"files": files, "command": shlex.join([sys.executable] + sys.argv), "cwd": os.getcwd(),
               "started": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
               "machine": machine_info(), "load_start": load_average(), "busy_start": busy_processes(),
               "lz_version": first_line(lz_argv + ["--version"]) or "not available",
               "repo_rev": f"`{REPO}` at {rev}" if rev else f"`{REPO}` (no git revision)",
               "versions": {t.label: peers.version(t) for t in b.fqzcomp5 + b.general}}
        ctx["startup"] = b.startup()
        log(f"work dir {workdir}; fqxv {b.fqxv or 'not installed'}")
        a.out.parent.mkdir(parents=True, exist_ok=True)
        for f in files:
            b.results.append(b.run_file(f))
            a.out.write_text(render(b, ctx, done=False))
        log("machine: load average and busy processes")
        ctx["load_end"], ctx["busy_end"] = load_average(), busy_processes()
        a.out.write_text(render(b, ctx, done=True))
    log(f"wrote {a.out}")
    if b.failures:
        log("FAILURES:\n  " + "\n  ".join(b.failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
