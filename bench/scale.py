#!/usr/bin/env python3
"""Scale: a long FASTQ stream through `lstmzip compress -c`, then the archive through `decompress -c`.

    python3 bench/scale.py --sizes 70e6 2e9 [--file nextseq_dropseq] [--level N] [--threads 2]

For each size, one corpus file (decompressed) is written again and again into the compressor's stdin
until the stream holds that many bytes (whole copies; the last one cut at a record boundary); the
archive goes to a file. Then `lstmzip decompress -c` of that file writes into a sink that hashes it,
and the hash must equal the stream's. Each side runs on its own and is timed, with its peak summed
PSS (the process and all its workers, see benchlib/measure.py). Prints a Markdown table and appends it
to --out (not run in CI; see bench/README.md).
"""
from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import shlex
import sys
import tempfile
from pathlib import Path

from benchlib.machine import busy_processes, load_average, machine_info
from benchlib.measure import run_measured
from benchlib.runner import log

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
PIECE = 1 << 20
TARGETS = {"compress MB/s": 6, "decompress MB/s": 10, "peak PSS MiB": 1024}  # issue 9, default level


def record_end(data: bytes, limit: int) -> int:
    """Offset just after the last whole 4-line record that ends within data[:limit]."""
    offset = lines = last = 0
    while (newline := data.find(b"\n", offset, limit)) >= 0:
        offset, lines = newline + 1, lines + 1
        if lines % 4 == 0:
            last = offset
    return last


def stream_pieces(data: bytes, size: int):
    """`data` again and again up to `size` bytes, the last copy cut after a whole record."""
    left = size
    while left > 0:
        part = data if len(data) <= left else data[: record_end(data, left)]
        if not part:
            return
        for start in range(0, len(part), PIECE):
            yield part[start: start + PIECE]
        left -= len(part)


def feeder(data: bytes, size: int, digest, counter: list):
    def feed(pipe) -> None:
        try:
            for chunk in stream_pieces(data, size):
                digest.update(chunk)
                counter[0] += len(chunk)
                pipe.write(chunk)
        except BrokenPipeError:
            pass  # the compressor died: its exit status says why
        finally:
            try:
                pipe.close()
            except BrokenPipeError:
                pass
    return feed


def sink(digest, counter: list):
    def drain(pipe) -> None:
        while chunk := pipe.read(PIECE):
            digest.update(chunk)
            counter[0] += len(chunk)
        pipe.close()
    return drain


def run_one(lstmzip: list[str], data: bytes, size: int, level: int | None, threads: int, work: Path) -> dict:
    level_flag = [f"-{level}"] if level else []
    archive = work / "stream.lz"
    sent, received, n_sent, n_received = hashlib.sha256(), hashlib.sha256(), [0], [0]
    log("  compress")
    comp = run_measured([*lstmzip, "compress", "-c", f"-T{threads}", *level_flag], stdout=archive,
                        feed=feeder(data, size, sent, n_sent))
    archive_bytes = archive.stat().st_size
    log("  decompress")
    decomp = run_measured([*lstmzip, "decompress", "-c", f"-T{threads}", str(archive)],
                          drain=sink(received, n_received))
    archive.unlink()
    return {"bytes": n_sent[0], "archive": archive_bytes, "comp": comp, "decomp": decomp,
            "ok": comp.ok and decomp.ok and n_sent == n_received and sent.digest() == received.digest(),
            "errors": [f"{side} exited {r.rc}: {r.err_tail()}" for side, r in
                       (("compress", comp), ("decompress", decomp)) if not r.ok]}


def targets(r: dict, level: int | None) -> str:
    """Issue 9's targets for the default level, met or which are not."""
    if level is not None:
        return "(set for the default level)"
    if not r["ok"]:
        return "not measured (failed)"
    missed = []
    for side in ("comp", "decomp"):
        run, name = r[side], "compress" if side == "comp" else "decompress"
        speed = r["bytes"] / run.wall / 1e6
        if speed < TARGETS[f"{name} MB/s"]:
            missed.append(f"{name} {speed:.2f} < {TARGETS[f'{name} MB/s']} MB/s")
        if run.pss_kib is not None and run.pss_kib / 1024 > TARGETS["peak PSS MiB"]:
            missed.append(f"{name} PSS {run.pss_kib / 1024:,.0f} > 1024 MiB")
    return "met" if not missed else "not met: " + "; ".join(missed)


def fmt_side(run, size: int) -> list[str]:
    return [f"{run.wall:.1f}", f"{size / run.wall / 1e6:.2f}" if run.ok else "",
            f"{run.pss_kib / 1024:,.0f}" if run.pss_kib else "",
            f"{run.other_cores:.2f}" if run.other_cores is not None else ""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[70e6, 2e9], help="stream sizes in bytes")
    parser.add_argument("--file", default="nextseq_dropseq", help="corpus file repeated to make the stream")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--lstmzip", default="lstmzip")
    parser.add_argument("--level", type=int)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="where the archive is written (default: a temp dir)")
    parser.add_argument("--out", type=Path, help="append the Markdown table to this file")
    args = parser.parse_args()
    data = gzip.decompress((args.corpus / f"{args.file}.fq.gz").read_bytes())
    load_start, busy_start = load_average(), busy_processes()
    rows = []
    with tempfile.TemporaryDirectory(prefix="lstmzip-scale-", dir=args.workdir) as work:
        for size in map(int, args.sizes):
            log(f"{size:,} bytes ...")
            r = run_one(shlex.split(args.lstmzip), data, size, args.level, args.threads, Path(work))
            log(f"  compress {r['comp'].wall:.1f} s, decompress {r['decomp'].wall:.1f} s, "
                f"{'identical' if r['ok'] else 'FAILED ' + '; '.join(r['errors'])}")
            rows.append(r)
    command = "python3 bench/scale.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [f"Measured {datetime.date.today()} with `{command}` (stream: {args.file} repeated; level "
             f"{args.level or 'default'}, -T{args.threads}; compress to a file, then decompress that file, "
             "each on its own).", "", *(f"- {k}: {v}" for k, v in machine_info()),
             f"- load average at start: {load_start}; at end: {load_average()}",
             f"- other busy processes (≥ 5 % of a core over 2 s) at start: {busy_start}; at end: "
             f"{busy_processes()}", "",
             "| stream bytes | archive bytes | compress s | compress MB/s | compress peak PSS MiB "
             "| other load, cores | decompress s | decompress MB/s | decompress peak PSS MiB "
             "| other load, cores | identical | issue 9 targets |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        cells = [f"{r['bytes']:,}", f"{r['archive']:,}", *fmt_side(r["comp"], r["bytes"]),
                 *fmt_side(r["decomp"], r["bytes"]), "yes" if r["ok"] else "NO", targets(r, args.level)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Targets (issue 9, default level): compress ≥ 6 MB/s, decompress ≥ 10 MB/s, peak PSS "
              "≤ 1 GiB on each side. MB/s = 10^6 stream bytes per second of the side's wall time; other "
              "load = CPU the rest of the machine used meanwhile (see bench/README.md)."]
    lines += [f"- {e}" for r in rows for e in r["errors"]]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:  # its own section of the report it is appended to
            f.write("\n## Scale\n\n" + text)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
