#!/usr/bin/env python3
"""A shared model (lstmzip train, compress --model) against per-file training, on corpus slices.

    python3 bench/shared_model.py [--train nextseq_dropseq] [--out FILE]

Trains one model on the whole of --train (default nextseq_dropseq), then compresses slices of that file
and other corpus files with and without it (`compress -T2 -c`, default level), checks that each archive
decodes to its input, and prints a Markdown table: bytes and wall time of both, and the size change.
Wall times are whole commands on a shared machine: read them beside the load average printed above the
table. Not run in CI (about 8 minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import gzip
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib.machine import load_average, machine_info
from benchlib.measure import run_measured
from benchlib.runner import log

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
# (corpus file, first record, records; 0 records: the whole file)
SLICES = [("{train}", 0, 4_000), ("{train}", 60_000, 4_000), ("{train}", 240_000, 4_000),
          ("{train}", 100_000, 60_000), ("{train}", 190_000, 60_000),
          ("hiseqx_151", 0, 0), ("miseq_n701", 0, 0), ("hiseq_phred64_dots", 0, 0), ("ga2_ecoli", 0, 0)]


def records(path: Path, first: int, count: int) -> bytes:
    with gzip.open(path, "rb") as f:
        data = f.read()
    if not count:
        return data
    lines = data.split(b"\n")
    return b"\n".join(lines[4 * first : 4 * (first + count)]) + b"\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default="nextseq_dropseq", help="corpus file the model is trained on")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--lstmzip", default="lstmzip", help="command that runs lstmzip")
    parser.add_argument("--out", type=Path, help="also append the table to this file")
    args = parser.parse_args()
    lstmzip = shlex.split(args.lstmzip)
    lines = [f"Machine: {', '.join(f'{k} {v}' for k, v in machine_info())}; load average at start {load_average()}.", ""]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        whole = work / f"{args.train}.fq"
        whole.write_bytes(records(args.corpus / f"{args.train}.fq.gz", 0, 0))
        model = work / "shared.lzm"
        log(f"training on {whole.name}")
        trained = run_measured([*lstmzip, "train", "-o", str(model), str(whole)])
        if trained.rc:
            sys.exit(f"train failed: {trained.err.decode(errors='replace')}")
        described = json.loads(subprocess.run([*lstmzip, "list", "--json", str(model)], capture_output=True,
                                              check=True).stdout)["models"][0]
        weights = sum(r["parameters"] for r in described["learning"].values())
        lines += [f"`lstmzip train -o shared.lzm {whole.name}`: {trained.wall:.1f} s, {model.stat().st_size:,} bytes, "
                  f"{weights:,} weights ({', '.join(described['learning']) or 'no networks'}).", "",
                  f"`lstmzip compress -T2 -c [--model shared.lzm] F` (default level):", "",
                  "| file (bytes) | without a model | with shared.lzm | size |", "|---|---:|---:|---:|"]
        for name, first, count in SLICES:
            name = name.format(train=args.train)
            data = records(args.corpus / f"{name}.fq.gz", first, count)
            source = work / "slice.fq"
            source.write_bytes(data)
            label = (f"{name} records {first + 1:,}-{first + count:,}" if count else name) + f" ({len(data) / 1e6:.2f} MB)"
            cells = []
            for extra in ([], ["--model", str(model)]):
                log(f"{label} {' '.join(extra[:1])}")
                out = work / "slice.lz"
                run = run_measured([*lstmzip, "compress", "-T2", "-c", *extra, str(source)], stdout=out)
                back = subprocess.run([*lstmzip, "decompress", "-c", str(out)], capture_output=True).stdout
                if run.rc or back != data:
                    sys.exit(f"{label}: compress failed or did not round-trip: {run.err.decode(errors='replace')}")
                cells.append((out.stat().st_size, run.wall))
            (plain, plain_s), (shared, shared_s) = cells
            lines.append(f"| {label} | {plain:,} B, {plain_s:.1f} s | {shared:,} B, {shared_s:.1f} s | "
                         f"{100 * (shared / plain - 1):+.1f} % |")
    lines += ["", f"Load average at the end {load_average()}."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
