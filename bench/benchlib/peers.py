"""How each compressor is run, and fqxv's per-stream estimate (an optional dependency)."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .machine import first_line

IN, OUT = "{in}", "{out}"


@dataclass
class Tool:
    """A compressor as the benchmark runs it. In `compress`, IN stands for the plain FASTQ and OUT
    for the archive; in `decompress`, IN for the archive and OUT for the file it gives back. A
    command without IN reads its standard input, one without OUT writes its standard output."""
    label: str
    compress: list[str]
    decompress: list[str]
    ext: str
    version: list[str] | None   # command whose first line names the version; None: it has none
    lossy: bool = False         # only names, bases and qualities are checked (CRAM)
    ref: str | None = None      # its column in the peers README, where exactness is recorded

    @property
    def missing(self) -> str | None:
        """Why it can't run, or None."""
        exe = self.compress[0]
        if os.sep in exe:
            return None if os.access(exe, os.X_OK) else f"`{exe}` not found"
        return None if shutil.which(exe) else f"`{exe}` not on PATH"


def lstmzip(argv: list[str], threads: int, level: int | None) -> Tool:
    lvl = [f"-{level}"] if level is not None else []
    return Tool("lstmzip" + "".join(f" {f}" for f in lvl) + f" -T{threads}",
                argv + ["compress", f"-T{threads}", *lvl, "-c", IN],
                argv + ["decompress", f"-T{threads}", "-c", IN], ".lz", argv + ["--version"])


def fqzcomp5(binary: str, threads: int) -> list[Tool]:
    """Default level and -9, as the peers README runs them."""
    t = ["-t", str(threads)]
    return [Tool(f"fqzcomp5{lvl} -t {threads}", [binary, *flag, *t, IN, OUT], [binary, "-d", *t, IN, OUT],
                 ".fqz5", None, ref=f"fqzcomp5{lvl}")
            for lvl, flag in (("", []), (" -9", ["-9"]))]


def general() -> list[Tool]:
    """gzip, xz, zstd (single-threaded as invoked) and CRAM 3.1 (lossy: drops name comments)."""
    return [
        Tool("gzip -9", ["gzip", "-9", "-c"], ["gzip", "-d", "-c", IN], ".gz", ["gzip", "--version"]),
        Tool("xz -9", ["xz", "-9", "-c"], ["xz", "-d", "-c", IN], ".xz", ["xz", "--version"]),
        Tool("zstd -19", ["zstd", "-19", "-q", "-c"], ["zstd", "-d", "-q", "-c", IN], ".zst",
             ["zstd", "--version"]),
        Tool("CRAM 3.1 archive", ["samtools", "import", "-0", IN, "-O", "cram,version=3.1,archive,level=9",
                                  "-o", OUT], ["samtools", "fastq", IN], ".cram", ["samtools", "--version"],
             lossy=True),
    ]


def version(tool: Tool) -> str:
    if tool.missing:
        return f"not installed (skipped): {tool.missing}"
    if tool.version is None:
        return f"`{tool.compress[0]}` (no version option)"
    return first_line(tool.version) or "version not reported"


def substitute(argv: list[str], src: Path, dest: Path) -> tuple[list[str], Path | None, Path | None]:
    """(argv with IN/OUT filled in, file for stdin or None, file for stdout or None)."""
    filled = [str(src) if a == IN else str(dest) if a == OUT else a for a in argv]
    return filled, None if IN in argv else src, None if OUT in argv else dest


def fqxv_version() -> str | None:
    try:
        import fqxv
    except ImportError:
        return None
    return getattr(fqxv, "__version__", "unknown version")


def fqxv_estimate(path: Path, level: int) -> dict:
    """fqxv.estimate's archive bytes in total and per stream (names, bases = its "sequence",
    qualities, other = the rest), and whether the whole file fit in its sample (`exhausted`, then
    the figures are exact, not extrapolated). {"error": text} where it fails."""
    import fqxv
    try:
        e = fqxv.estimate(str(path), level=level)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # noqa: BLE001 (a panic in the Rust side is a BaseException)
        return {"error": f"{type(err).__name__}: {err}"}
    streams = {"names": e.names_bytes, "bases": e.sequence_bytes, "qualities": e.quality_bytes}
    streams["other"] = e.archive_bytes - sum(streams.values())
    return {"archive": e.archive_bytes, "streams": streams, "exhausted": e.exhausted,
            "sample_reads": e.sample_reads}
