#!/usr/bin/env python3
"""Scale: a long FASTQ stream through `lstmzip compress -c | lstmzip decompress -c`.

    python3 bench/scale.py --sizes 70e6 2e9 [--file nextseq_dropseq] [--level N] [--threads 2]

For each size, one corpus file (decompressed) is written again and again into the compressor's stdin
until the stream holds that many bytes (whole copies; the last one cut at a record boundary). The
decompressor's output is hashed and must equal the stream's hash. Reports bytes, archive bytes, wall
time, MB/s and the peak tree RSS of each side (bench.py's TreeRSS: the process and its workers, polled
every 50 ms), and appends a Markdown table to --out (not run in CI; see bench/README.md).
"""
from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import DEFAULT_CORPUS, TreeRSS, log, machine_info  # noqa: E402

PIECE = 1 << 20


def feed(pipe, data: bytes, size: int, digest) -> None:
    """Write `data` repeatedly into pipe up to `size` bytes, the last copy cut after a whole record."""
    left = size
    try:
        while left > 0:
            part = data if len(data) <= left else data[: _record_end(data, left)]
            if not part:
                break
            for start in range(0, len(part), PIECE):
                chunk = part[start : start + PIECE]
                digest.update(chunk)
                pipe.write(chunk)
            left -= len(part)
    finally:
        pipe.close()


def _record_end(data: bytes, limit: int) -> int:
    """Offset just after the last whole 4-line record that ends within data[:limit]."""
    offset = lines = last = 0
    while (newline := data.find(b"\n", offset, limit)) >= 0:
        offset, lines = newline + 1, lines + 1
        if lines % 4 == 0:
            last = offset
    return last


def drain(pipe, digest, counter: list) -> None:
    while chunk := pipe.read(PIECE):
        digest.update(chunk)
        counter[0] += len(chunk)


def count_bytes(pipe_in, pipe_out, counter: list) -> None:
    """Between the two lstmzip processes: pass the archive on and count it."""
    try:
        while chunk := pipe_in.read(PIECE):
            counter[0] += len(chunk)
            pipe_out.write(chunk)
    finally:
        pipe_out.close()


def run_one(lstmzip: list[str], data: bytes, size: int, level: int | None, threads: int) -> dict:
    level_flag = [f"-{level}"] if level else []
    # Each side runs under `sh -c '...; exit'` so that TreeRSS (which counts descendants) sees lstmzip.
    sh = lambda argv: ["sh", "-c", shlex.join(argv) + "; exit $?"]  # noqa: E731
    comp = subprocess.Popen(sh([*lstmzip, "compress", "-c", f"-T{threads}", *level_flag]),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    decomp = subprocess.Popen(sh([*lstmzip, "decompress", "-c", f"-T{threads}"]),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    sent, received, archive = hashlib.sha256(), hashlib.sha256(), [0]
    out_bytes = [0]
    started = time.perf_counter()
    threads_ = [threading.Thread(target=feed, args=(comp.stdin, data, size, sent)),
                threading.Thread(target=count_bytes, args=(comp.stdout, decomp.stdin, archive)),
                threading.Thread(target=drain, args=(decomp.stdout, received, out_bytes))]
    with TreeRSS(comp.pid) as comp_rss, TreeRSS(decomp.pid) as decomp_rss:
        for t in threads_:
            t.start()
        for t in threads_:
            t.join()
        rcs = comp.wait(), decomp.wait()
    wall = time.perf_counter() - started
    return {"bytes": out_bytes[0], "archive": archive[0], "wall": wall, "ok": rcs == (0, 0)
            and sent.digest() == received.digest(), "comp_mib": comp_rss.peak_kib / 1024,
            "decomp_mib": decomp_rss.peak_kib / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[70e6, 2e9], help="stream sizes in bytes")
    parser.add_argument("--file", default="nextseq_dropseq", help="corpus file repeated to make the stream")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--lstmzip", default="lstmzip")
    parser.add_argument("--level", type=int)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="append the Markdown table to this file")
    args = parser.parse_args()
    data = gzip.decompress((args.corpus / f"{args.file}.fq.gz").read_bytes())
    rows = []
    for size in map(int, args.sizes):
        log(f"{size:,} bytes ...")
        r = run_one(shlex.split(args.lstmzip), data, size, args.level, args.threads)
        log(f"  {r}")
        rows.append((size, r))
    command = "python3 bench/scale.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [f"Measured {datetime.date.today()} with `{command}` (stream: {args.file} repeated; "
             f"level {args.level or 'default'}, -T{args.threads} on both sides, which run at the same time).",
             "", *(f"- {k}: {v}" for k, v in machine_info()), "",
             "| stream bytes | archive bytes | wall s | MB/s | compress peak tree RSS MiB "
             "| decompress peak tree RSS MiB | identical |", "|---:|---:|---:|---:|---:|---:|---|"]
    for size, r in rows:
        lines.append(f"| {r['bytes']:,} | {r['archive']:,} | {r['wall']:.0f} | {r['bytes'] / r['wall'] / 1e6:.2f} "
                     f"| {r['comp_mib']:.0f} | {r['decomp_mib']:.0f} | {'yes' if r['ok'] else 'NO'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n" + text)
    return 0 if all(r["ok"] for _, r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
