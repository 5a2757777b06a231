"""One corpus file through every tool: unpack and check it, compress, decompress, compare, and
collect lstmzip's listing, its startup times, a pipe round trip and fqxv's estimate."""
from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import peers
from .checks import CHUNK, files_identical, same_reads
from .corpus import read_corpus_readme, read_peers_readme, stem, unpack
from .listing import parse_list_json
from .measure import run_measured, startup_seconds


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args, lz_argv: list[str], workdir: Path):
        self.args, self.lz_argv, self.workdir = args, lz_argv, workdir
        self.lstmzip = peers.lstmzip(lz_argv, args.threads, args.level)
        self.fqzcomp5 = [] if args.no_fqzcomp5 else peers.fqzcomp5(str(args.fqzcomp5), args.threads)
        self.general = [] if args.no_peers else peers.general()
        self.corpus_info = read_corpus_readme(args.corpus)
        self.peers_readme = Path(args.fqzcomp5).resolve().parent.parent / "README.md"
        self.peer_refs = read_peers_readme(self.peers_readme)
        self.fqxv = peers.fqxv_version()
        self.failures: list[str] = []
        self.results: list[dict] = []

    def fail(self, fd: dict, what: str) -> None:
        self.failures.append(f"{fd['stem']}: {what}")

    # -- one tool: compress plain -> archive, decompress archive -> back, compare
    def measure_tool(self, fd: dict, tool: peers.Tool, keep_archive: bool = False) -> dict:
        row = {"tool": tool.label, "ref": tool.ref, "lossy": tool.lossy, "bytes": None, "rt": "",
               "exact": None, "notes": [], "c": None, "d": None}
        if tool.missing:
            row["rt"] = "skipped"
            row["notes"].append(tool.missing)
            return row
        plain, work = fd["plain"], fd["work"]
        arc = work / f"{fd['stem']}{tool.ext}"
        back = work / f"{arc.name}.back.fq"
        log(f"  {tool.label}: compress")
        row["c"] = rc = run_measured(*peers.substitute(tool.compress, plain, arc))
        if not rc.ok or not arc.exists():
            row["rt"] = "fails" if tool.lossy else "FAIL"
            row["notes"].append(f"compress exited {rc.rc}: {rc.err_tail()}")
            if not tool.lossy:
                self.fail(fd, f"{tool.label} compress exited {rc.rc}")
            return row
        row["bytes"] = arc.stat().st_size
        log(f"  {tool.label}: decompress")
        row["d"] = rd = run_measured(*peers.substitute(tool.decompress, arc, back))
        recorded_bytes, recorded_exact = self.peer_refs.get((fd["stem"], tool.ref), (None, True))
        row["exact"] = rd.ok and files_identical(plain, back)
        if row["exact"]:
            row["rt"] = "ok" if recorded_exact else "ok (the peers README records it as not exact)"
        elif not rd.ok:
            row["rt"] = "decompress fails" if tool.lossy else "FAIL"
            row["notes"].append(f"decompress exited {rd.rc}: {rd.err_tail()}")
            if not tool.lossy:
                self.fail(fd, f"{tool.label} decompress exited {rd.rc}")
        elif tool.lossy:
            same = same_reads(plain, back)
            row["rt"] = "lossy (names, bases, qualities ok)" if same else "lossy (reads differ)"
        elif not recorded_exact:
            row["rt"] = "not exact (as the peers README records)"
        else:
            row["rt"] = "FAIL"
            row["notes"].append("output differs from input")
            self.fail(fd, f"{tool.label} round trip: output differs from input")
        if recorded_bytes is not None and recorded_bytes != row["bytes"]:
            row["notes"].append(f"the peers README records {recorded_bytes:,} bytes")
        back.unlink(missing_ok=True)
        if not keep_archive:
            arc.unlink(missing_ok=True)
        return row

    def pipeline_check(self, fd: dict) -> str:
        """cat plain | lstmzip compress -c | lstmzip decompress -c, compared by size and md5."""
        a = self.args
        lz = shlex.join(self.lz_argv)
        cflags = f"-T{a.threads}" + (f" -{a.level}" if a.level is not None else "")
        cmd = (f"set -o pipefail; cat {shlex.quote(str(fd['plain']))} | {lz} compress {cflags} -c"
               f" | {lz} decompress -T{a.threads} -c")
        log("  lstmzip: stdin/stdout pipeline check")
        h, n = hashlib.md5(), 0
        with tempfile.TemporaryFile(dir=fd["work"]) as ferr:
            p = subprocess.Popen(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=ferr)
            while chunk := p.stdout.read(CHUNK):
                h.update(chunk)
                n += len(chunk)
            rc = p.wait()
            ferr.seek(0)
            err = " // ".join(l.strip() for l in ferr.read().decode("utf-8", "replace").splitlines()
                              if l.strip())[-400:]
        if rc == 0 and n == fd["size"] and h.hexdigest() == fd["md5"]:
            return "ok"
        why = f"exit {rc}: {err}" if rc != 0 else f"output differs ({n:,} bytes, md5 {h.hexdigest()})"
        self.fail(fd, f"lstmzip stdin/stdout pipeline: {why}")
        fd["notes"].append(f"lstmzip pipeline: {why}")
        return "FAIL"

    def lstmzip_list(self, arc: Path, fd: dict) -> dict:
        try:
            p = subprocess.run(self.lz_argv + ["list", "--json", str(arc)], capture_output=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            fd["notes"].append(f"`lstmzip list --json` failed: {e}")
            return {}
        listing = parse_list_json(p.stdout.decode("utf-8", "replace"))
        if p.returncode != 0 or not listing:
            fd["notes"].append(f"`lstmzip list --json` exited {p.returncode}, no usable JSON: "
                               f"{p.stderr.decode('utf-8', 'replace').strip()[-300:]}")
        return listing

    def run_lstmzip(self, fd: dict) -> None:
        self.warm_up(fd)
        row = self.measure_tool(fd, self.lstmzip, keep_archive=True)
        row["lstmzip"] = True
        fd["rows"].append(row)
        arc = fd["work"] / f"{fd['stem']}{self.lstmzip.ext}"
        if row["bytes"] is None:
            return
        fd["list"] = listing = self.lstmzip_list(arc, fd)
        if listing.get("archive_bytes") not in (None, row["bytes"]):
            row["notes"].append(f"list reports archive_bytes {listing['archive_bytes']:,}, "
                                f"file has {row['bytes']:,}")
        log("  lstmzip list: startup time")
        fd["list_startup"] = startup_seconds(self.lz_argv + ["list", str(arc)])
        arc.unlink()
        if not self.args.no_pipe_check:
            row["rt"] = f"{row['rt'] or 'FAIL'}, pipe {self.pipeline_check(fd)}"

    def run_file(self, src: Path) -> dict:
        st = stem(src.name)
        work = self.workdir / st
        work.mkdir(parents=True, exist_ok=True)
        plain = work / f"{st}.fq"
        log(f"{st}: gunzip")
        size, md5 = unpack(src, plain)
        fd = {"stem": st, "work": work, "plain": plain, "size": size, "md5": md5, "rows": [], "notes": [],
              "load": os.getloadavg(), "list": {}, "list_startup": None, "fqxv": None}
        exp = self.corpus_info.get(st, {})
        if not exp.get("md5"):
            fd["md5_check"] = "not checked (file not in corpus README)"
        elif exp["md5"] != md5 or exp.get("size") not in (None, size):
            fd["md5_check"] = f"MISMATCH (expected md5 {exp['md5']}, {exp.get('size') or '?'} bytes)"
            self.fail(fd, "decompressed corpus file does not match the README md5/size")
            shutil.rmtree(work, ignore_errors=True)
            return fd
        else:
            fd["md5_check"] = "matches corpus README"
        self.run_lstmzip(fd)
        for tool in self.fqzcomp5:
            fd["rows"].append(self.measure_tool(fd, tool))
        if self.fqxv:
            log(f"  fqxv estimate (level {self.args.fqxv_level})")
            fd["fqxv"] = peers.fqxv_estimate(plain, self.args.fqxv_level)
            fx = fd["fqxv"]
            if fx.get("error"):
                fd["notes"].append(f"fqxv estimate failed: {fx['error']}")
            elif not fx["exhausted"]:
                fd["notes"].append(f"fqxv estimated from its first {fx['sample_reads']:,} reads only: its "
                                   "figures describe that sample, so no ratio is given")
        for tool in self.general:
            fd["rows"].append(self.measure_tool(fd, tool))
        shutil.rmtree(work, ignore_errors=True)
        return fd

    def warm_up(self, fd: dict, records: int = 1000) -> None:
        """One untimed round trip of the file's first records with the settings measured: numba compiles
        lstmzip's kernels on their first use after an install (seconds; the nanopore quality model's only
        on nanopore data) and caches them, which the timed run would otherwise pay for (ga2_ecoli, first in
        a fresh checkout, compressed in 6.1 s instead of about 1.3)."""
        sample = fd["work"] / "warm-up.fq"
        archive, back = sample.with_suffix(self.lstmzip.ext), sample.with_suffix(".back.fq")
        with open(fd["plain"], "rb") as src, open(sample, "wb") as out:
            out.writelines(line for _, line in zip(range(4 * records), src))
        log(f"  lstmzip: warm-up round trip of the first {records:,} records (untimed)")
        run_measured(*peers.substitute(self.lstmzip.compress, sample, archive))
        run_measured(*peers.substitute(self.lstmzip.decompress, archive, back))
        for path in (sample, archive, back):
            path.unlink(missing_ok=True)

    def startup(self) -> list[tuple[str, tuple]]:
        """Median of 5 runs of `lstmzip --version` and of a peer's trivial command or two."""
        cmds = [("lstmzip --version", self.lz_argv + ["--version"])]
        if self.fqzcomp5 and not self.fqzcomp5[0].missing:
            cmds.append(("fqzcomp5 -h", [self.fqzcomp5[0].compress[0], "-h"]))
        if shutil.which("gzip"):
            cmds.append(("gzip --version", ["gzip", "--version"]))
        log("startup times: " + ", ".join(label for label, _ in cmds))
        return [(label, startup_seconds(argv)) for label, argv in cmds]
