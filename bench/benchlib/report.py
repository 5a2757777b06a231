"""The Markdown report of a bench.py run."""
from __future__ import annotations

from .measure import MAX_DUTY, SAMPLE_S
from .listing import STREAMS

LIMIT_MIB = 1024  # issue 9: peak PSS at most 1 GiB on each side


def fmt_int(v) -> str:
    return "" if v is None else f"{v:,}"


def fmt_f(v, nd=3) -> str:
    return "" if v is None else f"{v:.{nd}f}"


def div(a, b):
    return None if a is None or not b else a / b


def pair(a: str, b: str) -> str:
    return "" if not a and not b else f"{a} / {b}"


def md_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return out + [""]


def _run(row: dict | None, side: str):
    return (row or {}).get(side)


def mbs(row: dict | None, side: str, size: int) -> str:
    run = _run(row, side)
    return fmt_f(div(size / 1e6, run.wall), 2) if run and run.ok else ""


def pss(row: dict | None, side: str) -> str:
    """Peak PSS in MiB, in bold over issue 9's limit."""
    run = _run(row, side)
    if not run or run.pss_kib is None:
        return ""
    mib = run.pss_kib / 1024
    return f"**{mib:,.0f}**" if mib > LIMIT_MIB else f"{mib:,.0f}"


def other_load(row: dict | None, side: str) -> str:
    run = _run(row, side)
    return fmt_f(run.other_cores, 2) if run else ""


def time_ratio(lz: dict | None, fq: dict | None, side: str) -> str:
    a, b = _run(lz, side), _run(fq, side)
    return fmt_f(div(a.wall, b.wall), 1) if a and b and a.ok and b.ok else ""


def find_row(fd: dict, *, lstmzip: bool = False, ref: str | None = None) -> dict | None:
    for r in fd["rows"]:
        if (lstmzip and r.get("lstmzip")) or (ref and r.get("ref") == ref):
            return r
    return None


def startup_cell(result) -> tuple[str, str, str]:
    median, times, rc = result
    if median is None:
        return "", "", "not run"
    return f"{median:.3f}", f"{min(times):.3f} – {max(times):.3f}", str(rc)


def machine_section(bench, ctx: dict) -> list[str]:
    a = bench.args
    L = ["## Machine and software", ""]
    L += [f"- {k}: {v}" for k, v in ctx["machine"]]
    L += [f"- load average at start: {ctx['load_start']}; at end: {ctx.get('load_end') or '(not finished)'}",
          f"- other busy processes (≥ 5 % of a core over 2 s) at start: {ctx['busy_start']}; at end: "
          f"{ctx.get('busy_end') or '(not finished)'}",
          f"- lstmzip: `{a.lstmzip}` — `--version`: {ctx['lz_version']}; repository {ctx['repo_rev']}",
          f"- lstmzip settings: `-T{a.threads}`"
          + (f" `-{a.level}`" if a.level is not None else " (no level flag: lstmzip's default level)")]
    for tool in bench.fqzcomp5[:1] + bench.general:
        L.append(f"- {tool.compress[0].rsplit('/', 1)[-1]}: {ctx['versions'][tool.label]}")
    L.append(f"- fqxv: {bench.fqxv}, `fqxv.estimate(level={a.fqxv_level})`" if bench.fqxv else
             "- fqxv: not installed (`pip install fqxv`): its columns are blank")
    L += [f"- corpus: `{a.corpus}`", ""]
    return L


def method_section(bench) -> list[str]:
    a = bench.args
    lvl = f" -{a.level}" if a.level is not None else ""
    L = ["## Method", "",
         "- Sizes are bytes of the compressed file; ratio = plain FASTQ bytes / compressed bytes.",
         "- MB/s = 10^6 bytes of plain FASTQ per second of whole-process wall time (process start to exit, "
         "files on the local disk, page-cached input); one run each, after an untimed lstmzip round trip of the "
         "file's first 1,000 records (numba compiles and caches its kernels on first use). Absolute speeds on a shared "
         "machine are noisy, so each file also gives lstmzip's wall time divided by fqzcomp5's (default "
         "level) from the same run, minutes apart: 20 means lstmzip took 20 times as long (the speed ratio "
         "is its inverse).",
         "- Other load (cores): CPU time the whole machine spent busy while the command ran (from "
         "`/proc/stat`), less the command's own CPU time (user + system of it and every process it waited "
         "for, from `wait4`), per second of wall time: what other developers' jobs (and this script's "
         "sampler) took meanwhile. Blank under 1 s, where the clock ticks make it noise.",
         f"- Peak PSS (the figure issue 9 limits, 1 GiB on each side; larger values are in bold): while the "
         f"command runs, a thread of this script finds the command's process and all its descendants "
         f"(forked workers and training processes included) and sums their PSS from "
         f"`/proc/PID/smaps_rollup`, every {SAMPLE_S * 1000:.0f} ms, or less often where one sample is "
         f"slow (reading smaps_rollup walks the page tables), so that sampling never takes over "
         f"{MAX_DUTY:.0%} of one core; the largest sum is kept. PSS counts a page shared by n processes "
         "as 1/n in each, so the sum is the physical memory the tree holds; the summed RSS that "
         "earlier reports showed counted shared libraries and the copy-on-write memory forked workers "
         "inherit once per process and overstated it. Peaks shorter than a sampling interval can be "
         "missed; blank: the command ended before the first sample.",
         f"- lstmzip: `lstmzip compress -T{a.threads}{lvl} -c plain.fq > out.lz`, `lstmzip decompress "
         f"-T{a.threads} -c out.lz > back.fq`, compared byte for byte with the input. \"pipe\" is the "
         "check that `cat plain.fq | lstmzip compress -c | lstmzip decompress -c` (same -T/level flags) "
         "gives the input bytes back (not timed).",
         "- bits/base = 8 × bases stream / bases, bits/qual = 8 × qualities stream / quality values, "
         "bits/name = 8 × names stream / records, all from `lstmzip list --json out.lz`; blank where the "
         "listing lacks a field.",
         "- Startup: wall time of `lstmzip --version`, of `lstmzip list out.lz` (each file's archive) and "
         "of a peer's trivial command, median of 5 runs, output discarded (issue 9 asks ≤ 0.3 s for "
         "lstmzip's).",
         f"- fqzcomp5 (`{bench.fqzcomp5[0].compress[0] if bench.fqzcomp5 else a.fqzcomp5}`): "
         f"`fqzcomp5 -t {a.threads} plain.fq out.fqz5` and `fqzcomp5 -9 -t {a.threads} ...`, each "
         f"decompressed with `fqzcomp5 -d -t {a.threads} out.fqz5 back.fq` and compared byte for byte. "
         f"Rows the peers README (`{bench.peers_readme}`) records as not exact are marked, not failed.",
         f"- fqxv: `fqxv.estimate(plain.fq, level={a.fqxv_level})` (Python package, optional) codes up to "
         "1 M records with fqxv's real codecs and gives archive bytes per stream (names, sequence = bases, "
         "qualities; other = the rest of its archive); exact where the whole file fits in its sample. "
         "Its byte-exactness is not verified (it is known to drop the text of a `+name` line).",
         "- gzip, xz, zstd run single-threaded, as invoked: `gzip -9`, `xz -9` (the corpus README's figures "
         "use `xz -9e`; this uses plain `-9`), `zstd -19`, each decompressed with `-d -c` and compared "
         "byte for byte.",
         "- CRAM 3.1: `samtools import -0 plain.fq -O cram,version=3.1,archive,level=9 -o out.cram`; "
         "decompression timed as `samtools fastq out.cram > back.fq`. CRAM drops the name comments, so it "
         "is not lossless: its round trip is only checked for names (up to the first white space), bases "
         "and qualities and is marked lossy; it does not count as a failure.", ""]
    return L


def size_summary(bench, results: list[dict]) -> list[str]:
    L = ["## Summary: sizes", "",
         "fqzcomp5 columns: this run's archives (\"not exact\" where the round trip was not "
         "byte-identical); best exact = the corpus README's \"best exact\" column (smallest byte-identical "
         "result of the tools measured there). Ratios below 1 mean lstmzip is smaller.", ""]
    rows = []
    for fd in results:
        lz = find_row(fd, lstmzip=True) or {}
        cells, exact = [], []
        for ref in ("fqzcomp5", "fqzcomp5 -9"):
            r = find_row(fd, ref=ref) or {}
            cells.append(fmt_int(r.get("bytes")) + ("" if r.get("exact") or r.get("bytes") is None
                                                    else " (not exact)"))
            if r.get("exact"):
                exact.append(r["bytes"])
        best = bench.corpus_info.get(fd["stem"], {}).get("best_exact")
        rows.append([fd["stem"], fmt_int(fd["size"]), fmt_int(lz.get("bytes")), *cells,
                     fmt_f(div(lz.get("bytes"), min(exact) if exact else None)), fmt_int(best),
                     fmt_f(div(lz.get("bytes"), best)), lz.get("rt") or fd.get("md5_check", "")])
    header = ["file", "plain bytes", "lstmzip bytes", "fqzcomp5", "fqzcomp5 -9",
              "lstmzip / smaller exact fqzcomp5", "best exact", "lstmzip / best exact", "round trip"]
    return L + md_table(header, rows, {1, 2, 3, 4, 5, 6, 7})


def speed_summary(bench, ctx: dict, results: list[dict]) -> list[str]:
    machine = dict(ctx["machine"])
    L = ["## Summary: speed and memory", "",
         f"Machine: {machine.get('CPU')}, {machine.get('cores')}; load average at start "
         f"{ctx['load_start']}, at end {ctx.get('load_end') or '(not finished)'}. Time ratio = lstmzip's "
         f"wall time / fqzcomp5's (default level, -t {bench.args.threads}), both measured in this run. "
         f"Peak PSS over 1 GiB in bold.", ""]
    rows = []
    for fd in results:
        lz, fq = find_row(fd, lstmzip=True), find_row(fd, ref="fqzcomp5")
        lst = startup_cell(fd["list_startup"])[0] if fd.get("list_startup") else ""
        rows.append([fd["stem"], pair(mbs(lz, "c", fd["size"]), mbs(lz, "d", fd["size"])),
                     pair(mbs(fq, "c", fd["size"]), mbs(fq, "d", fd["size"])),
                     time_ratio(lz, fq, "c"), time_ratio(lz, fq, "d"),
                     pair(pss(lz, "c"), pss(lz, "d")), pair(pss(fq, "c"), pss(fq, "d")),
                     pair(other_load(lz, "c"), other_load(lz, "d")), lst])
    header = ["file", "lstmzip MB/s (c / d)", "fqzcomp5 MB/s (c / d)", "time ratio, compress",
              "time ratio, decompress", "lstmzip peak PSS MiB (c / d)", "fqzcomp5 peak PSS MiB (c / d)",
              "other load during lstmzip, cores (c / d)", "`lstmzip list` s"]
    return L + md_table(header, rows, {1, 2, 3, 4, 5, 6, 7, 8})


def startup_section(ctx: dict, results: list[dict]) -> list[str]:
    L = ["## Startup", "",
         "Wall time of a trivial command, 5 runs in this run (issue 9: ≤ 0.3 s for lstmzip's).", ""]
    rows = [[f"`{label}`", *startup_cell(res)] for label, res in ctx["startup"][:1]]
    rows += [[f"`lstmzip list {fd['stem']}.lz`", *startup_cell(fd["list_startup"])]
             for fd in results if fd.get("list_startup")]
    rows += [[f"`{label}`", *startup_cell(res)] for label, res in ctx["startup"][1:]]
    return L + md_table(["command", "median s", "min – max s", "exit status"], rows, {1, 2})


def streams_section(bench, results: list[dict]) -> list[str]:
    L = ["## Streams", "",
         "Bytes per stream: lstmzip's from `lstmzip list --json` (other = everything else in the archive: "
         "header, models, lengths, index), fqxv's from its estimate (its \"sequence\" is bases), beside "
         "fqzcomp5's whole archives from this run. Ratios below 1 mean lstmzip's stream is smaller.", ""]
    if not bench.fqxv:
        L += ["fqxv is not installed (`pip install fqxv`, or `pip install -e '.[bench]'`): its columns are "
              "blank.", ""]
    rows = []
    for fd in results:
        ours = (fd.get("list") or {}).get("streams") or {}
        fx = fd.get("fqxv") or {}
        theirs = fx.get("streams") or {}
        usable = bool(theirs) and fx.get("exhausted")
        for s in STREAMS:
            rows.append([fd["stem"], s, fmt_int(ours.get(s)), fmt_int(theirs.get(s)),
                         fmt_f(div(ours.get(s), theirs.get(s))) if usable else "", "", ""])
        lz = find_row(fd, lstmzip=True) or {}
        f5 = [fmt_int((find_row(fd, ref=ref) or {}).get("bytes")) for ref in ("fqzcomp5", "fqzcomp5 -9")]
        rows.append([fd["stem"], "**whole archive**", fmt_int(lz.get("bytes")), fmt_int(fx.get("archive")),
                     fmt_f(div(lz.get("bytes"), fx.get("archive"))) if usable else "", *f5])
    return L + md_table(["file", "stream", "lstmzip", "fqxv estimate", "lstmzip / fqxv", "fqzcomp5",
                         "fqzcomp5 -9"], rows, {2, 3, 4, 5, 6})


def file_section(fd: dict) -> list[str]:
    L = [f"## {fd['stem']}", "",
         f"{fmt_int(fd['size'])} bytes plain, md5 `{fd['md5']}` ({fd['md5_check']}); load average at its "
         f"start {fd['load'][0]:.2f}.", ""]
    if not fd["rows"]:
        return L
    rows, notes = [], []
    lst = fd.get("list") or {}
    s = lst.get("streams") or {}
    for r in fd["rows"]:
        b = r.get("bytes")
        bpb = bpq = bpn = None
        if r.get("lstmzip"):
            bpb = div(8 * s["bases"], lst.get("bases")) if s.get("bases") is not None else None
            bpq = (div(8 * s["qualities"], lst.get("quality_values"))
                   if s.get("qualities") is not None else None)
            bpn = div(8 * s["names"], lst.get("records")) if s.get("names") is not None else None
        tool = r["tool"] + (" (lossy)" if r.get("lossy") else "")
        rows.append([tool, fmt_int(b), fmt_f(div(fd["size"], b)), fmt_f(bpb), fmt_f(bpq), fmt_f(bpn, 2),
                     mbs(r, "c", fd["size"]), mbs(r, "d", fd["size"]), pair(pss(r, "c"), pss(r, "d")),
                     pair(other_load(r, "c"), other_load(r, "d")),
                     r.get("rt", "")])
        notes += [f"- {tool}: {n}" for n in r.get("notes", [])]
        sampled = [f"{side} {run.pss_samples} samples, one per {run.pss_interval * 1000:.0f} ms"
                   for side, run in (("compress", r.get("c")), ("decompress", r.get("d")))
                   if run and run.pss_interval and run.wall >= 1]
        if sampled and (r.get("lstmzip") or r.get("ref")):
            notes.append(f"- {tool}: PSS sampled: {', '.join(sampled)}")
    L += md_table(["tool", "bytes", "ratio", "bits/base", "bits/qual", "bits/name", "compress MB/s",
                   "decompress MB/s", "peak PSS MiB (c / d)", "other load, cores (c / d)", "round trip"],
                 rows, {1, 2, 3, 4, 5, 6, 7, 8, 9})
    if s:
        L += ["lstmzip streams (bytes): " + ", ".join(f"{k} {fmt_int(v) or '?'}" for k, v in s.items())
              + f"; records {fmt_int(lst.get('records')) or '?'}, bases {fmt_int(lst.get('bases')) or '?'}, "
              f"quality values {fmt_int(lst.get('quality_values')) or '?'}, "
              f"blocks {fmt_int(lst.get('blocks')) or '?'}, "
              f"level {lst.get('level') if lst.get('level') is not None else '?'}.", ""]
    notes += [f"- {n}" for n in fd["notes"]]
    if notes:
        L += ["Notes:", "", *notes, ""]
    return L


def render(bench, ctx: dict, done: bool) -> str:
    results = bench.results
    L = ["# lstmzip benchmarks", ""]
    if not done:
        L += [f"**Incomplete: {len(results)} of {len(ctx['files'])} files done so far.**", ""]
    L += ["Produced by `bench/bench.py` (see `bench/README.md`).", "", "Command line:", "", "```",
          ctx["command"], "```", "", f"Run in `{ctx['cwd']}`, started {ctx['started']}.", ""]
    L += machine_section(bench, ctx) + method_section(bench)
    L += size_summary(bench, results) + speed_summary(bench, ctx, results) + startup_section(ctx, results)
    L += streams_section(bench, results)
    for fd in results:
        L += file_section(fd)
    if done:
        L += ["## Result", ""]
        L += (["**FAILURES:**", "", *(f"- {f}" for f in bench.failures), ""] if bench.failures
              else ["All lossless round trips ok.", ""])
    return "\n".join(L).rstrip("\n") + "\n"
