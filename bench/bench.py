#!/usr/bin/env python3
"""Benchmark lstmzip against gzip, xz, zstd and CRAM 3.1 on the development corpus.

Standard library only (Python 3.11).  See bench/README.md for how to run it and what
it needs.  Writes a Markdown report (default docs/benchmarks.md) and exits non-zero if
any lossless round trip failed (or a corpus file did not match its md5).
"""
from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import itertools
import json
import os
import platform
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_OUT = REPO / "docs" / "benchmarks.md"
GNU_TIME = "/usr/bin/time"
CHUNK = 1 << 20


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- corpus README

def parse_md_tables(text: str) -> list[tuple[list[str], list[dict[str, str]]]]:
    """All pipe tables of a Markdown text, as (header, rows as dicts keyed by header cell)."""
    tables = []
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    for line in text.splitlines() + [""]:
        s = line.strip()
        if s.startswith("|") and s.endswith("|") and len(s) > 1:
            cells = [c.strip() for c in s[1:-1].split("|")]
            if header is None:
                header, rows = cells, []
            elif all(re.fullmatch(r":?-+:?", c) for c in cells):
                continue
            else:
                rows.append(dict(zip(header, cells)))
        elif header is not None:
            tables.append((header, rows))
            header = None
    return tables


def stem(name: str) -> str:
    """'ga2_ecoli.fq.gz' -> 'ga2_ecoli'."""
    name = os.path.basename(name.strip().strip("`"))
    for suf in (".gz", ".fq", ".fastq"):
        if name.endswith(suf):
            name = name[: -len(suf)]
    return name


def exact_int(cell: str | None) -> int | None:
    """'84,586' -> 84586; anything annotated ('(not exact)', '(lossy*)', 'fails') -> None."""
    if cell is None:
        return None
    c = cell.strip().replace("*", "")
    if re.fullmatch(r"[\d,]+", c):
        return int(c.replace(",", ""))
    return None


def find_col(header: list[str], *patterns: str) -> str | None:
    for pat in patterns:
        for h in header:
            if re.fullmatch(pat, h.strip(), re.IGNORECASE):
                return h
    return None


def read_corpus_readme(corpus: Path) -> tuple[dict, dict]:
    """Returns (info, refs).
    info[stem] = {"md5": str|None, "size": int|None}
    refs[stem] = {"fqzcomp5": int|None, "best_exact": int|None, "cells": {column: cell}}"""
    info: dict[str, dict] = {}
    refs: dict[str, dict] = {}
    readme = corpus / "README.md"
    if not readme.is_file():
        log(f"warning: {readme} not found: no md5 check, no reference sizes")
        return info, refs
    for header, rows in parse_md_tables(readme.read_text(encoding="utf-8", errors="replace")):
        fcol = find_col(header, r"file")
        if fcol is None:
            continue
        md5col = find_col(header, r"md5.*")
        sizecol = find_col(header, r"bytes.*plain.*", r"bytes.*", r"size.*")
        bestcol = find_col(header, r"best exact.*")
        if md5col:
            for r in rows:
                info[stem(r.get(fcol, ""))] = {
                    "md5": (r.get(md5col) or "").strip("` ").lower() or None,
                    "size": exact_int(r.get(sizecol)) if sizecol else None,
                }
        if bestcol:
            fq5cols = [h for h in header if re.fullmatch(r"fqzcomp5( -\d+)?", h.strip())]
            for r in rows:
                cand = [v for v in (exact_int(r.get(c)) for c in fq5cols) if v is not None]
                best = exact_int(r.get(bestcol))
                if best is None:  # fall back: smallest exact figure of the row
                    allv = [exact_int(r.get(h)) for h in header if h not in (fcol, bestcol)]
                    allv = [v for v in allv if v is not None]
                    best = min(allv) if allv else None
                refs[stem(r.get(fcol, ""))] = {
                    "fqzcomp5": min(cand) if cand else None,
                    "fqzcomp5_cols": fq5cols,
                    "best_exact": best,
                    "cells": r,
                }
    return info, refs


# --------------------------------------------------------------------------- measuring

def tree_rss_kib(root: int) -> int:
    """Sum of VmRSS (KiB) over all descendants of `root` (not `root` itself), found by following
    the parent links (4th field of /proc/PID/stat) of every process in /proc."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue  # exited meanwhile
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])  # after "(comm)": state, ppid
            kids.setdefault(ppid, []).append(int(d))
    total, todo = 0, list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        todo += kids.get(pid, [])
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                total += next((int(l.split()[1]) for l in f if l.startswith(b"VmRSS:")), 0)
        except OSError:
            pass
    return total


class TreeRSS:
    """`with TreeRSS(pid) as t: ...` polls tree_rss_kib(pid) every `interval` seconds in a thread;
    t.peak_kib is the largest sum seen."""

    def __init__(self, root: int, interval: float = 0.05):
        self.root, self.interval, self.peak_kib = root, interval, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.root))
            if self._done.wait(self.interval):
                return

    def __enter__(self) -> "TreeRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


class Run:
    def __init__(self, rc: int, wall: float, rss_kib: int | None, tree_kib: int | None, err: bytes):
        self.rc, self.wall, self.rss_kib, self.tree_kib, self.err = rc, wall, rss_kib, tree_kib, err

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def err_tail(self, n: int = 400) -> str:
        t = " // ".join(l.strip() for l in self.err.decode("utf-8", "replace").splitlines() if l.strip())
        return t[-n:]


def _last_int_line(path: Path) -> int | None:
    try:
        lines = path.read_text(errors="replace").split()
    except OSError:
        return None
    for tok in reversed(lines):
        if tok.isdigit():
            return int(tok)
    return None


def run_measured(argv: list[str], stdin_path: Path | None, stdout_path: Path | None,
                 rss_method: str, scratch: Path) -> Run:
    """Runs argv with stdin/stdout redirected to files; returns exit status, whole-process
    wall time, peak RSS (KiB) of the largest process of the tree, and the peak of the summed
    RSS of the whole tree (TreeRSS around the wrapper, /usr/bin/time or a forked child, which
    itself is not counted)."""
    fin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    fout = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    ferr = tempfile.TemporaryFile(dir=scratch)
    try:
        if rss_method == "time":
            rssfile = scratch / "rss.txt"
            full = [GNU_TIME, "-f", "%M", "-o", str(rssfile)] + argv
            t0 = time.perf_counter()
            p = subprocess.Popen(full, stdin=fin, stdout=fout, stderr=ferr)
            with TreeRSS(p.pid) as tree:
                rc = p.wait()
            wall = time.perf_counter() - t0
            rss = _last_int_line(rssfile)
        else:
            # Fresh forked child: its RUSAGE_CHILDREN covers exactly this command's tree.
            r, w = os.pipe()
            sys.stdout.flush()
            sys.stderr.flush()
            t0 = time.perf_counter()
            pid = os.fork()
            if pid == 0:  # child
                os.close(r)
                try:
                    crc = subprocess.run(argv, stdin=fin, stdout=fout, stderr=ferr).returncode
                except OSError as e:
                    ferr.write(f"{e}\n".encode())
                    ferr.flush()
                    crc = 127
                ru = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                os.write(w, f"{crc} {ru}".encode())
                os._exit(0)
            os.close(w)
            with TreeRSS(pid) as tree, os.fdopen(r, "rb") as rf:
                data = rf.read().split()
            os.waitpid(pid, 0)
            wall = time.perf_counter() - t0
            rc = int(data[0]) if data else 255
            rss = int(data[1]) if len(data) > 1 else None
        ferr.seek(0)
        err = ferr.read()
    finally:
        for f in (fin, fout):
            if hasattr(f, "close"):
                f.close()
        ferr.close()
    # The tree's peak is at least its largest process's; this also covers commands that end
    # before the first sample.
    return Run(rc, wall, rss, max(tree.peak_kib, rss or 0) or None, err)


def files_identical(a: Path, b: Path) -> bool:
    if not a.exists() or not b.exists() or a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(CHUNK), fb.read(CHUNK)
            if x != y:
                return False
            if not x:
                return True


def _records(path: Path):
    """4-line records as (first token of name, sequence, quality); tolerant of CRLF."""
    with open(path, "rb") as f:
        while True:
            lines = [f.readline() for _ in range(4)]
            if not lines[0]:
                return
            name, seq, _, qual = (l.rstrip(b"\r\n") for l in lines)
            tok = name.split(None, 1)[0] if name.split() else name
            yield tok, seq, qual


def same_reads(a: Path, b: Path) -> bool:
    """Same record names (up to the first white space), bases and qualities, in order."""
    sentinel = object()
    for x, y in itertools.zip_longest(_records(a), _records(b), fillvalue=sentinel):
        if x != y:
            return False
    return True


# --------------------------------------------------------------------------- machine info

def first_line(argv: list[str]) -> str | None:
    try:
        p = subprocess.run(argv, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = (p.stdout or p.stderr).decode("utf-8", "replace").strip()
    if p.returncode != 0 or not out:
        return None
    return out.splitlines()[0].strip(" *")


def machine_info() -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    osname = platform.platform()
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osname = f"{line.split('=', 1)[1].strip().strip(chr(34))} (kernel {platform.release()})"
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return [
        ("CPU", cpu),
        ("cores", f"{os.cpu_count()} logical, {usable} usable by this process"),
        ("RAM", ram),
        ("OS", osname),
        ("Python", f"{platform.python_version()} ({sys.executable})"),
    ]


# --------------------------------------------------------------------------- lstmzip list

def _num(d, *keys):
    for k in keys:
        if isinstance(d, dict) and isinstance(d.get(k), (int, float)) and not isinstance(d.get(k), bool):
            return d[k]
    return None


def parse_list_json(text: str) -> dict:
    """Defensive reading of `lstmzip list --json`: sums the numeric fields over all entries
    of "files" (or takes the object itself); missing keys stay None."""
    try:
        doc = json.loads(text)
    except (ValueError, TypeError):
        return {}
    if isinstance(doc, dict) and isinstance(doc.get("files"), list):
        entries = doc["files"]
    elif isinstance(doc, list):
        entries = doc
    elif isinstance(doc, dict):
        entries = [doc]
    else:
        return {}
    entries = [e for e in entries if isinstance(e, dict)]
    if not entries:
        return {}

    def total(getter):
        vals = [getter(e) for e in entries]
        return None if any(v is None for v in vals) else sum(vals)

    out = {
        "records": total(lambda e: _num(e, "records", "reads")),
        "bases": total(lambda e: _num(e, "bases")),
        "quality_values": total(lambda e: _num(e, "quality_values", "qualities")),
        "raw_bytes": total(lambda e: _num(e, "raw_bytes")),
        "archive_bytes": total(lambda e: _num(e, "archive_bytes")),
        "blocks": total(lambda e: _num(e, "blocks")),
        "level": _num(entries[0], "level"),
        "streams": {},
    }
    names = set()
    for e in entries:
        if isinstance(e.get("streams"), dict):
            names.update(e["streams"])
    order = ["names", "bases", "qualities", "other"]
    for s in sorted(names, key=lambda k: (order.index(k) if k in order else len(order), k)):
        out["streams"][s] = total(lambda e: _num(e.get("streams") or {}, s))
    return out


# --------------------------------------------------------------------------- formatting

def fmt_int(v) -> str:
    return "" if v is None else f"{v:,}"


def fmt_f(v, nd=3) -> str:
    return "" if v is None else f"{v:.{nd}f}"


def mib_pair(row: dict, c: str, d: str) -> str:
    """'compress / decompress' in MiB from two KiB fields of a row; blank where missing."""
    if row.get(c) is None and row.get(d) is None:
        return ""
    return " / ".join("" if row.get(k) is None else f"{row[k] / 1024:.0f}" for k in (c, d))


def div(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def md_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return out


# --------------------------------------------------------------------------- benchmark

class Bench:
    def __init__(self, args):
        self.args = args
        self.lz_argv = shlex.split(args.lstmzip)
        self.rss_method = args.rss_method
        if self.rss_method == "auto":
            self.rss_method = "time" if os.access(GNU_TIME, os.X_OK) else "rusage"
        self.failures: list[str] = []
        self.results: list[dict] = []

    # -- one tool: compress plain -> arc, decompress arc -> back, compare
    def measure_tool(self, fd: dict, tool: str, comp: list[str], decomp: list[str] | None,
                     arc: Path, lossy_ok: bool = False, comp_reads_stdin: bool = True,
                     comp_writes_stdout: bool = True) -> dict:
        plain, work, size = fd["plain"], fd["work"], fd["size"]
        row = {"tool": tool, "bytes": None, "rt": "", "notes": []}
        log(f"  {tool}: compress")
        rc = run_measured(comp, plain if comp_reads_stdin else None,
                          arc if comp_writes_stdout else None, self.rss_method, work)
        row["c_wall"], row["c_rss"], row["c_tree"] = rc.wall, rc.rss_kib, rc.tree_kib
        if not rc.ok or not arc.exists():
            row["rt"] = "fails" if lossy_ok else "FAIL"
            row["notes"].append(f"compress exited {rc.rc}: {rc.err_tail()}")
            if not lossy_ok:
                self.failures.append(f"{fd['stem']}: {tool} compress exited {rc.rc}")
            return row
        row["bytes"] = arc.stat().st_size
        row["c_mbs"] = size / 1e6 / rc.wall if rc.wall > 0 else None
        if decomp is None:
            return row
        back = work / f"{arc.name}.back.fq"
        log(f"  {tool}: decompress")
        rd = run_measured(decomp, None, back, self.rss_method, work)
        row["d_wall"], row["d_rss"], row["d_tree"] = rd.wall, rd.rss_kib, rd.tree_kib
        if rd.ok:
            row["d_mbs"] = size / 1e6 / rd.wall if rd.wall > 0 else None
        if rd.ok and files_identical(plain, back):
            row["rt"] = "ok"
        elif lossy_ok and rd.ok and same_reads(plain, back):
            row["rt"] = "lossy (names, bases, qualities ok)"
        elif lossy_ok:
            row["rt"] = "lossy (reads differ)" if rd.ok else "decompress fails"
            if not rd.ok:
                row["notes"].append(f"decompress exited {rd.rc}: {rd.err_tail()}")
        else:
            row["rt"] = "FAIL"
            why = f"decompress exited {rd.rc}: {rd.err_tail()}" if not rd.ok else "output differs from input"
            row["notes"].append(why)
            self.failures.append(f"{fd['stem']}: {tool} round trip: {why}")
        back.unlink(missing_ok=True)
        return row

    def pipeline_check(self, fd: dict) -> str:
        """cat plain | lstmzip compress -c | lstmzip decompress -c, compared by size and md5."""
        a = self.args
        lz = a.lstmzip
        cflags = f"-T{a.threads}" + (f" -{a.level}" if a.level is not None else "")
        cmd = (f"set -o pipefail; cat {shlex.quote(str(fd['plain']))} | {lz} compress {cflags} -c"
               f" | {lz} decompress -T{a.threads} -c")
        log("  lstmzip: stdin/stdout pipeline check")
        h, n = hashlib.md5(), 0
        with tempfile.TemporaryFile(dir=fd["work"]) as ferr:
            p = subprocess.Popen(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=ferr)
            while True:
                b = p.stdout.read(CHUNK)
                if not b:
                    break
                h.update(b)
                n += len(b)
            rc = p.wait()
            ferr.seek(0)
            err = " // ".join(l.strip() for l in ferr.read().decode("utf-8", "replace").splitlines()
                              if l.strip())[-400:]
        if rc == 0 and n == fd["size"] and h.hexdigest() == fd["md5"]:
            return "ok"
        why = f"exit {rc}: {err}" if rc != 0 else f"output differs ({n:,} bytes, md5 {h.hexdigest()})"
        self.failures.append(f"{fd['stem']}: lstmzip stdin/stdout pipeline: {why}")
        fd.setdefault("pipe_notes", []).append(why)
        return "FAIL"

    def lstmzip_list(self, arc: Path, fd: dict) -> dict:
        try:
            p = subprocess.run(self.lz_argv + ["list", "--json", str(arc)], capture_output=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            fd["list_note"] = f"`lstmzip list --json` failed: {e}"
            return {}
        info = parse_list_json(p.stdout.decode("utf-8", "replace"))
        if p.returncode != 0 or not info:
            fd["list_note"] = (f"`lstmzip list --json` exited {p.returncode}, no usable JSON: "
                               f"{p.stderr.decode('utf-8', 'replace').strip()[-300:]}")
        return info

    def run_file(self, src: Path, info: dict) -> dict:
        a = self.args
        st = stem(src.name)
        work = self.workdir / st
        work.mkdir(parents=True, exist_ok=True)
        plain = work / f"{st}.fq"
        log(f"{st}: gunzip")
        h, n = hashlib.md5(), 0
        with gzip.open(src, "rb") as fi, open(plain, "wb") as fo:
            while True:
                b = fi.read(CHUNK)
                if not b:
                    break
                h.update(b)
                n += len(b)
                fo.write(b)
        fd = {"stem": st, "work": work, "plain": plain, "size": n, "md5": h.hexdigest(),
              "rows": [], "md5_check": ""}
        exp = info.get(st)
        if exp is None or not exp.get("md5"):
            fd["md5_check"] = "not checked (file not in corpus README)"
        elif exp["md5"] != fd["md5"] or (exp.get("size") is not None and exp["size"] != n):
            fd["md5_check"] = f"MISMATCH (expected md5 {exp['md5']}, {fmt_int(exp.get('size'))} bytes)"
            self.failures.append(f"{st}: decompressed corpus file does not match the README md5/size")
            shutil.rmtree(work, ignore_errors=True)
            return fd
        else:
            fd["md5_check"] = "matches corpus README"

        # lstmzip
        lz = self.lz_argv
        lvl = [f"-{a.level}"] if a.level is not None else []
        arc = work / f"{st}.lz"
        label = "lstmzip" + (f" -{a.level}" if a.level is not None else "") + f" -T{a.threads}"
        row = self.measure_tool(fd, label,
                                lz + ["compress", f"-T{a.threads}"] + lvl + ["-c", str(plain)],
                                lz + ["decompress", f"-T{a.threads}", "-c", str(arc)], arc,
                                comp_reads_stdin=False)
        row["lstmzip"] = True
        if row["bytes"] is not None:
            lst = self.lstmzip_list(arc, fd)
            fd["list"] = lst
            s = lst.get("streams") or {}
            row["bpb"] = div(8 * s["bases"], lst.get("bases")) if s.get("bases") is not None else None
            row["bpq"] = (div(8 * s["qualities"], lst.get("quality_values"))
                          if s.get("qualities") is not None else None)
            row["bpn"] = div(8 * s["names"], lst.get("records")) if s.get("names") is not None else None
            if lst.get("archive_bytes") not in (None, row["bytes"]):
                row["notes"].append(f"list reports archive_bytes {lst['archive_bytes']:,}, file has {row['bytes']:,}")
            if not self.args.no_pipe_check:
                fd["pipe"] = self.pipeline_check(fd)
                row["rt"] = f"{row['rt'] or 'FAIL'}, pipe {fd['pipe']}"
        fd["rows"].append(row)

        # peers
        if not a.no_peers:
            peers = [
                ("gzip -9", "gzip", ["gzip", "-9", "-c"], ["gzip", "-d", "-c"], ".gz"),
                ("xz -9", "xz", ["xz", "-9", "-c"], ["xz", "-d", "-c"], ".xz"),
                ("zstd -19", "zstd", ["zstd", "-19", "-q", "-c"], ["zstd", "-d", "-q", "-c"], ".zst"),
            ]
            for label, binary, comp, decomp, ext in peers:
                if shutil.which(binary) is None:
                    fd["rows"].append({"tool": label, "rt": "skipped", "notes": [f"`{binary}` not on PATH"]})
                    continue
                out = work / f"{st}{ext}"
                fd["rows"].append(self.measure_tool(fd, label, comp, decomp + [str(out)], out))
                out.unlink(missing_ok=True)
            label = "CRAM 3.1 archive"
            if shutil.which("samtools") is None:
                fd["rows"].append({"tool": label, "rt": "skipped", "notes": ["`samtools` not on PATH"]})
            else:
                out = work / f"{st}.cram"
                comp = ["samtools", "import", "-0", str(plain), "-O", "cram,version=3.1,archive,level=9",
                        "-o", str(out)]
                r = self.measure_tool(fd, label, comp, ["samtools", "fastq", str(out)], out, lossy_ok=True,
                                      comp_reads_stdin=False, comp_writes_stdout=False)
                r["lossy"] = True
                fd["rows"].append(r)
                out.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
        return fd

    # -- report
    def render(self, files: list[Path], refs: dict, machine: list, started: str, done: bool,
               lz_version: str, repo_rev: str) -> str:
        a = self.args
        L = ["# lstmzip benchmarks", ""]
        if not done:
            L += [f"**Incomplete: {len(self.results)} of {len(files)} files done so far.**", ""]
        L += ["Produced by `bench/bench.py` (see `bench/README.md`).", "",
              "Command line:", "", "```", f"{shlex.join([sys.executable] + sys.argv)}", "```", "",
              f"Run in `{os.getcwd()}`, started {started}.", "", "## Machine and software", ""]
        for k, v in machine:
            L.append(f"- {k}: {v}")
        L.append(f"- lstmzip: `{a.lstmzip}` — `--version`: {lz_version}; repository {repo_rev}")
        L.append(f"- lstmzip settings: `-T{a.threads}`"
                 + (f" `-{a.level}`" if a.level is not None else " (no level flag: lstmzip's default level)"))
        if not a.no_peers:
            for b, argv in (("gzip", ["gzip", "--version"]), ("xz", ["xz", "--version"]),
                            ("zstd", ["zstd", "--version"]), ("samtools", ["samtools", "--version"])):
                v = first_line(argv) if shutil.which(b) else None
                L.append(f"- {b}: {v or 'not installed (skipped)'}")
        L.append(f"- corpus: `{a.corpus}`")
        L += ["", "## Method", "",
              "- Sizes are bytes of the compressed file; ratio = plain FASTQ bytes / compressed bytes.",
              "- MB/s = 10^6 bytes of plain FASTQ per second of whole-process wall time (process start to "
              "exit, files on the local disk, page-cached input); one run each, no warm-up.",
              "- Memory, shown as compress / decompress. Peak tree RSS: while each timed command runs, a "
              "thread of this script finds the command's process and all its descendants (worker processes "
              "included) every 50 ms by following the parent links in `/proc/*/stat`, sums their `VmRSS` "
              "from `/proc/PID/status`, and keeps the largest sum, or the largest-process figure below where "
              "that is larger (e.g. a command that ends before the first sample). Peaks shorter than 50 ms "
              "can be missed, and pages shared between processes (libraries, copy-on-write memory of forked "
              "workers) are counted once per process. Largest process: "
              + ("`/usr/bin/time -f %M` around each command" if self.rss_method == "time" else
                 "`getrusage(RUSAGE_CHILDREN).ru_maxrss` read in a freshly forked child that ran the command")
              + ", the peak RSS of the largest single process of the command's tree.",
              f"- lstmzip: `lstmzip compress -T{a.threads}"
              + (f" -{a.level}" if a.level is not None else "")
              + f" -c plain.fq > out.lz`, `lstmzip decompress -T{a.threads} -c out.lz > back.fq`, compared "
              "byte for byte with the input. \"pipe\" is the check that `cat plain.fq | lstmzip compress -c | "
              "lstmzip decompress -c` (same -T/level flags) gives the input bytes back (not timed).",
              "- bits/base = 8 × bases stream / bases, bits/qual = 8 × qualities stream / quality values, "
              "bits/name = 8 × names stream / records, all from `lstmzip list --json out.lz`; blank where the "
              "listing lacks a field.",
              "- Peers run single-threaded, as invoked: `gzip -9`, `xz -9` (the corpus README's figures use "
              "`xz -9e`; this uses plain `-9`), `zstd -19`, each decompressed with `-d -c` and compared byte for "
              "byte.",
              "- CRAM 3.1: `samtools import -0 plain.fq -O cram,version=3.1,archive,level=9 -o out.cram`; "
              "decompression timed as `samtools fastq out.cram > back.fq`. CRAM drops the name comments, so it "
              "is not lossless: its round trip is only checked for names (up to the first white space), bases "
              "and qualities and is marked lossy; it does not count as a failure.",
              ""]

        L += ["## Summary", "",
              "fqzcomp5 = smaller exact figure of `fqzcomp5` and `fqzcomp5 -9` from the corpus README; "
              "best exact = the README's \"best exact\" column (smallest byte-identical result of the tools "
              "measured there). Ratios below 1 mean lstmzip is smaller.", ""]
        rows = []
        for fd in self.results:
            lzb = next((r.get("bytes") for r in fd["rows"] if r.get("lstmzip")), None)
            ref = refs.get(fd["stem"], {})
            f5, be = ref.get("fqzcomp5"), ref.get("best_exact")
            lzr = next((r for r in fd["rows"] if r.get("lstmzip")), {})
            speed = " / ".join(fmt_f(lzr.get(k), 2) for k in ("c_mbs", "d_mbs")) if lzr.get("c_mbs") else ""
            rows.append([fd["stem"], fmt_int(fd["size"]), fmt_int(lzb), fmt_int(f5), fmt_f(div(lzb, f5)),
                         fmt_int(be), fmt_f(div(lzb, be)), speed,
                         next((r.get("rt", "") for r in fd["rows"] if r.get("lstmzip")), fd["md5_check"])])
        L += md_table(["file", "plain bytes", "lstmzip bytes", "fqzcomp5", "lstmzip / fqzcomp5",
                       "best exact", "lstmzip / best exact", "lstmzip MB/s (c / d)", "round trip"], rows,
                      {1, 2, 3, 4, 5, 6, 7})
        L.append("")

        for fd in self.results:
            L += [f"## {fd['stem']}", "",
                  f"{fmt_int(fd['size'])} bytes plain, md5 `{fd['md5']}` ({fd['md5_check']}).", ""]
            if not fd["rows"]:
                continue
            rows = []
            notes = []
            for r in fd["rows"]:
                b = r.get("bytes")
                tool = r["tool"] + (" (lossy)" if r.get("lossy") else "")
                rows.append([tool, fmt_int(b), fmt_f(div(fd["size"], b)), fmt_f(r.get("bpb")),
                             fmt_f(r.get("bpq")), fmt_f(r.get("bpn"), 2), fmt_f(r.get("c_mbs"), 2),
                             fmt_f(r.get("d_mbs"), 2), mib_pair(r, "c_tree", "d_tree"),
                             mib_pair(r, "c_rss", "d_rss"),
                             r.get("rt", "")])
                notes += [f"- {tool}: {n}" for n in r.get("notes", [])]
            L += md_table(["tool", "bytes", "ratio", "bits/base", "bits/qual", "bits/name", "compress MB/s",
                           "decompress MB/s", "peak tree RSS MiB (c / d)", "largest process MiB (c / d)",
                           "round trip"], rows, {1, 2, 3, 4, 5, 6, 7, 8, 9})
            L.append("")
            lst = fd.get("list")
            if lst:
                s = lst.get("streams") or {}
                parts = [f"{k} {fmt_int(v) or '?'}" for k, v in s.items()]
                L.append("lstmzip streams (bytes): " + (", ".join(parts) if parts else "not listed")
                         + f"; records {fmt_int(lst.get('records')) or '?'}, bases {fmt_int(lst.get('bases')) or '?'}"
                         f", quality values {fmt_int(lst.get('quality_values')) or '?'}"
                         f", blocks {fmt_int(lst.get('blocks')) or '?'}, level {lst.get('level') if lst.get('level') is not None else '?'}.")
                L.append("")
            if fd.get("list_note"):
                notes.append(f"- {fd['list_note']}")
            notes += [f"- lstmzip pipeline: {n}" for n in fd.get("pipe_notes", [])]
            if notes:
                L += ["Notes:", ""] + notes + [""]
        if done:
            L += ["## Result", ""]
            if self.failures:
                L += ["**FAILURES:**", ""] + [f"- {f}" for f in self.failures] + [""]
            else:
                L += ["All lossless round trips ok.", ""]
        return "\n".join(L).rstrip("\n") + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="directory of *.fq.gz and README.md")
    ap.add_argument("--files", nargs="+", metavar="NAME", help="subset, e.g. ga2_ecoli hiseqx_151")
    ap.add_argument("--lstmzip", default="lstmzip", metavar="CMD", help="command that runs lstmzip")
    ap.add_argument("--level", type=int, default=None, help="lstmzip level (default: no level flag)")
    ap.add_argument("--threads", type=int, default=2, help="lstmzip -T")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown report to write")
    ap.add_argument("--no-peers", action="store_true", help="skip gzip, xz, zstd and CRAM")
    ap.add_argument("--no-pipe-check", action="store_true", help="skip the stdin/stdout round trip (time)")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch directory (default: a temp dir)")
    ap.add_argument("--rss-method", choices=["auto", "time", "rusage"], default="auto",
                    help="largest-process figure: /usr/bin/time -f %%M if present (auto), else getrusage "
                         "in a forked child; peak tree RSS is sampled from /proc either way")
    a = ap.parse_args()

    lz_argv = shlex.split(a.lstmzip)
    if not lz_argv or shutil.which(lz_argv[0]) is None:
        log(f"error: lstmzip command {a.lstmzip!r} not found (install the package, or pass --lstmzip CMD)")
        return 2
    if a.rss_method == "time" and not os.access(GNU_TIME, os.X_OK):
        log(f"error: {GNU_TIME} not found (apt-get install time)")
        return 2

    corpus = a.corpus
    all_files = sorted(corpus.glob("*.fq.gz"))
    if a.files:
        want = {stem(f) for f in a.files}
        files = [f for f in all_files if stem(f.name) in want]
        missing = want - {stem(f.name) for f in files}
        if missing:
            log(f"error: not in {corpus}: {', '.join(sorted(missing))}")
            return 2
    else:
        files = all_files
    if not files:
        log(f"error: no *.fq.gz in {corpus}")
        return 2
    info, refs = read_corpus_readme(corpus)

    b = Bench(a)
    tmp = None
    if a.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="lstmzip-bench-")
        b.workdir = Path(tmp.name)
    else:
        b.workdir = a.workdir
        b.workdir.mkdir(parents=True, exist_ok=True)

    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    machine = machine_info()
    lz_version = first_line(lz_argv + ["--version"]) or "not available"
    rev = first_line(["git", "-C", str(REPO), "describe", "--always", "--dirty"])
    repo_rev = f"`{REPO}` at {rev}" if rev else f"`{REPO}` (no git revision)"
    log(f"largest-process RSS via: {b.rss_method}, peak tree RSS via /proc; work dir {b.workdir}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        for f in files:
            b.results.append(b.run_file(f, info))
            a.out.write_text(b.render(files, refs, machine, started, False, lz_version, repo_rev))
        a.out.write_text(b.render(files, refs, machine, started, True, lz_version, repo_rev))
    finally:
        if tmp is not None:
            tmp.cleanup()
    log(f"wrote {a.out}")
    if b.failures:
        log("FAILURES:\n  " + "\n  ".join(b.failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
