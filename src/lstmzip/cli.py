"""Command line: parses arguments, maps files to outputs, and turns errors into messages and exit codes.

Exit status: 0 ok, 1 error (bad input, corrupt archive, I/O, out of memory), 2 usage, 130 interrupted
(143 for SIGTERM), 141 quietly when the reader of stdout goes away.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import stat
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Callable

import click

from . import __version__
from .errors import FastqError, LstmzipError
from .levels import DEFAULT_LEVEL, MAX_BLOCK_BYTES, MIN_BLOCK_BYTES

# numpy, numba and the models are imported by the commands that use them: `--version` and `--help` start
# at once, and a Ctrl-C while they load is handled like any other.

FASTQ_SUFFIXES = (".fastq.gz", ".fq.gz", ".fastq", ".fq")
SUFFIX = ".lz"


class Interrupted(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt (so no handler of Exception catches it): clean up,
    then exit 143 (130 for Ctrl-C)."""

    def __init__(self, status: int):
        self.status = status


def _on_sigterm(signum, frame):
    raise Interrupted(143)


def _say(message: str) -> None:
    click.echo(f"lstmzip: {message}", err=True)


def _progress_bar(total: int | None, quiet: bool):
    """A progress bar on stderr, only when stderr is a terminal."""
    if quiet or not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, leave=False, file=sys.stderr)


@contextlib.contextmanager
def _output_file(path: Path, force: bool, like: Path | None, mtime: int | None = None):
    """A temporary file beside `path`, renamed to it on success and removed on any failure."""
    if path.exists() and not force:
        raise LstmzipError(f"{path} already exists; use -f to overwrite")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        if like is not None:
            st = like.stat()
            os.chmod(tmp, st.st_mode & 0o7777)
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _compressed_name(path: Path) -> tuple[Path, str]:
    """reads.fq(.gz) -> reads.lz, stored name reads.fq; other names get .lz appended."""
    name = path.name
    for suffix in FASTQ_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stored = name[:-3] if suffix.endswith(".gz") else name
            return path.with_name(name[: -len(suffix)] + SUFFIX), stored
    return path.with_name(name + SUFFIX), name[:-3] if name.endswith(".gz") else name


def _decompressed_name(path: Path, stored: str | None) -> Path:
    if stored and stored == os.path.basename(stored) and stored not in (".", "..") and "\0" not in stored:
        return path.with_name(stored)
    if path.name.endswith(SUFFIX) and len(path.name) > len(SUFFIX):
        return path.with_name(path.name[: -len(SUFFIX)])
    raise LstmzipError(f"{path}: unknown suffix and no stored name; use -c or -o")


def _stored_header(path: Path) -> dict:
    from . import container

    with open(path, "rb") as f:
        return container.read_header(f)[0]


def _run_each(files: tuple[str, ...], action: Callable[[str], None]) -> None:
    """Run action per file; report errors, go on with the next file, exit 1 if any failed."""
    failed = False
    for name in files or ("-",):
        label = "stdin" if name == "-" else name
        try:
            action(name)
        except FastqError as error:
            _say(f"{label}:{error.line}: {error.detail}")
            failed = True
        except LstmzipError as error:
            _say(f"{label}: {error}")
            failed = True
        except OSError as error:
            if isinstance(error, BrokenPipeError):
                _quiet_broken_pipe()
            _say(f"{label}: {error.strerror or error}")
            failed = True
        except (KeyboardInterrupt, Interrupted) as stop:
            _say("interrupted")
            sys.exit(stop.status if isinstance(stop, Interrupted) else 130)
        except MemoryError:
            _say(f"{label}: out of memory")
            failed = True
        except Exception as error:  # a bug: still one line and exit 1, and the other files go on
            _say(f"{label}: internal error ({type(error).__name__}: {error}); please report it")
            failed = True
    if failed:
        sys.exit(1)


def _quiet_broken_pipe() -> None:
    """The reader of stdout went away (lstmzip cat F | head): stop quietly, as a killed C tool would."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(141)


def _open_source(name: str) -> tuple[BinaryIO, Path | None]:
    if name == "-":
        return sys.stdin.buffer, None
    path = Path(name)
    if path.is_dir():
        raise LstmzipError("is a directory")
    return open(path, "rb"), path


def _regular_file_size(source: BinaryIO) -> int | None:
    try:
        st = os.fstat(source.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _check_size_unchanged(source: BinaryIO, size: int | None) -> None:
    """gzip's check: a file that grew or shrank while it was read (a copy still running, a log rotated)
    gives an archive of no version of it, and --rm would then delete data."""
    now = _regular_file_size(source)
    if size is not None and now != size:
        raise LstmzipError(f"file changed size while it was read ({size:,} bytes at the start, {now:,} now)")


def _verbose_report(stats) -> None:
    """The numbers `list --json` gives, as text."""
    n, archive_bytes = stats.bases, stats.archive_bytes
    s = stats.stream_bytes
    per = lambda key, count: f"{8 * s[key] / count:.3f}" if count else "-"
    other = archive_bytes - s["names"] - s["bases"] - s["qualities"]
    _say(f"  names     {s['names']:>12,} B  {per('names', stats.records)} bits/name")
    _say(f"  bases     {s['bases']:>12,} B  {per('bases', n)} bits/base")
    _say(f"  qualities {s['qualities']:>12,} B  {per('qualities', n)} bits/quality")
    _say(f"  other     {other:>12,} B  (line layout {s['layout']:,}, read lengths {s['lengths']:,}, "
         f"header and models, statistics, index)")
    _say(f"  statistics {stats.statistics_bytes:>11,} B  {100 * stats.statistics_bytes / archive_bytes:.3f} % of the "
         f"archive (coding cost by position and base letter, for lstmzip report)")
    if stats.untrained_because:
        _say(f"  LSTM: none trained: {stats.untrained_because}")
    for kind, report in stats.learning.items():
        _say(f"  LSTM for {kind}: {'used' if report['used'] else 'not used'}; on a check sample "
             f"{report['bits_per_symbol_without']} -> {report['bits_per_symbol_with']} bits/symbol; "
             f"{report['parameters']:,} weights in {report['weight_bytes']:,} B; hidden {report['hidden']}; "
             f"{report['epochs']} epochs in {report['train_seconds']} s")
    ratio = stats.raw_bytes / archive_bytes if archive_bytes else 0
    speed = stats.raw_bytes / stats.seconds / 1e6 if stats.seconds else 0
    _say(f"  {stats.records:,} records, {stats.raw_bytes:,} -> {archive_bytes:,} B, ratio {ratio:.2f}, {speed:.2f} MB/s")


class ByteSize(click.ParamType):
    """A number of bytes, with an optional K, M or G suffix (powers of 1024), as xz's --block-size."""

    name = "SIZE"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = value.strip().upper().removesuffix("IB").removesuffix("B")
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text[:-1] if scale > 1 else text
        if not digits.isdigit():
            self.fail(f"{value!r} is not a size (e.g. 65536, 512K, 8M)", param, ctx)
        size = int(digits) * scale
        if not MIN_BLOCK_BYTES <= size <= MAX_BLOCK_BYTES:
            self.fail(f"{value} is outside {MIN_BLOCK_BYTES >> 10}K .. {MAX_BLOCK_BYTES >> 20}M", param, ctx)
        return size


def _threads_option(f):
    return click.option("-T", "--threads", type=click.IntRange(min=0), default=0, show_default=True,
                        help="Worker processes (0 = all cores). The output does not depend on it.")(f)


def _common_output_options(f):
    for option in reversed([
        click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write to standard output."),
        click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (one input only)."),
        click.option("-f", "--force", is_flag=True, help="Overwrite existing files; allow a terminal."),
        click.option("--rm", "remove", is_flag=True, help="Remove the input after success."),
        click.option("-q", "--quiet", is_flag=True, help="No messages but errors."),
        click.option("-v", "--verbose", is_flag=True, help="Report sizes and speed."),
    ]):
        f = option(f)
    return _threads_option(f)


def _check_output_options(files, output, to_stdout):
    if output and (len(files) > 1 or to_stdout):
        raise click.UsageError("-o takes one input file and cannot be combined with -c")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lstmzip")
def main():
    """Lossless FASTQ compressor."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # KeyboardInterrupt, handled per command
    signal.signal(signal.SIGTERM, _on_sigterm)


@main.command()
@click.argument("files", nargs=-1, type=click.Path())
@_common_output_options
@click.option("-1", "level", flag_value=1, help="Fastest.")
@click.option("-2", "level", flag_value=2, hidden=True)
@click.option("-3", "level", flag_value=3, hidden=True)
@click.option("-4", "level", flag_value=4, hidden=True)
@click.option("-5", "level", flag_value=5, hidden=True)
@click.option("-6", "level", flag_value=6, help="Default.")
@click.option("-7", "level", flag_value=7, hidden=True)
@click.option("-8", "level", flag_value=8, hidden=True)
@click.option("-9", "level", flag_value=9, help="Smallest.")
@click.option("--block-size", type=ByteSize(), default=None,
              help="Cut a block every SIZE bytes of input (default: the level's, 32M; K, M, G suffixes). "
                   "Smaller blocks need less memory and make record ranges cheaper to read, at some cost in size.")
def compress(files, to_stdout, output, force, remove, quiet, verbose, threads, level, block_size):
    """Compress FASTQ (plain or gzip) FILES to FILE.lz; no FILE or - reads standard input."""
    _check_output_options(files, output, to_stdout)
    level = level or DEFAULT_LEVEL

    def one(name: str) -> None:
        from . import pipeline
        from .fastq import open_input

        source, path = _open_source(name)
        with source:
            size = _regular_file_size(source)
            mtime = int(path.stat().st_mtime) if path else None
            if to_stdout or (path is None and not output):
                if sys.stdout.isatty() and not force:
                    raise LstmzipError("compressed data not written to a terminal; use -f to force")
                target, stored = None, (_compressed_name(path)[1] if path else None)
            else:
                target, stored = _compressed_name(path) if path else (None, None)
                target = Path(output) if output else target
            with _progress_bar(path.stat().st_size if path else None, quiet) as bar:
                def run(out: BinaryIO):
                    try:
                        stats = pipeline.compress_stream(open_input(source), out, level, threads, stored, mtime,
                                                         bar.update if bar else None, block_bytes=block_size)
                    except FastqError:
                        _check_size_unchanged(source, size)  # a changed size explains a broken last record
                        raise
                    _check_size_unchanged(source, size)
                    return stats

                if target is None:
                    stats = run(sys.stdout.buffer)
                    sys.stdout.buffer.flush()
                else:
                    with _output_file(target, force, path) as out:
                        stats = run(out)
        if verbose:
            _say(f"{name}:")
            _verbose_report(stats)
        if remove and path and target is not None:
            path.unlink()

    _run_each(files, one)


def _decompress_files(files, to_stdout, output, force, remove, quiet, verbose, threads, verify_only=False):
    def one(name: str) -> None:
        from . import pipeline

        source, path = _open_source(name)
        with source:
            to_terminal = verify_only or to_stdout or (path is None and not output)
            if not to_terminal:
                header = _stored_header(path)
                target = Path(output) if output else _decompressed_name(path, header.get("name"))
            with _progress_bar(path.stat().st_size if path else None, quiet) as bar:
                progress = bar.update if bar else None
                if verify_only:
                    header, stats = pipeline.decompress_stream(source, None, threads, progress)
                elif to_terminal:
                    header, stats = pipeline.decompress_stream(source, sys.stdout.buffer, threads, progress)
                    sys.stdout.buffer.flush()
                else:
                    mtime = header.get("mtime") if isinstance(header.get("mtime"), int) else None
                    with _output_file(target, force, path, mtime) as out:
                        header, stats = pipeline.decompress_stream(source, out, threads, progress)
        if verbose or verify_only and not quiet:
            _say(f"{name}: ok, {stats.records:,} records, {stats.raw_bytes:,} bytes")
        if remove and path and not to_terminal:
            path.unlink()

    _run_each(files, one)


@main.command()
@click.argument("files", nargs=-1, type=click.Path())
@_common_output_options
def decompress(files, to_stdout, output, force, remove, quiet, verbose, threads):
    """Decompress FILE.lz to the stored name (or FILE without .lz); no FILE or - reads standard input."""
    _check_output_options(files, output, to_stdout)
    _decompress_files(files, to_stdout, output, force, remove, quiet, verbose, threads)


@main.command()
@click.argument("files", nargs=-1, type=click.Path())
@_threads_option
def cat(files, threads):
    """Decompress FILES to standard output (= decompress -c)."""
    _decompress_files(files, True, None, False, False, True, False, threads)


@main.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("-q", "--quiet", is_flag=True, help="No messages but errors.")
@_threads_option
def test(files, quiet, threads):
    """Decode FILES and verify every checksum; write nothing."""
    _decompress_files(files, False, None, False, False, quiet, False, threads, verify_only=True)


@main.command(name="list")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(files, as_json):
    """Show records, sizes, ratio and blocks of FILES, read from the index without decoding."""
    described = []

    def one(name: str) -> None:
        from .report import facts

        described.append(facts.gather(name).summary())

    try:
        _run_each(files, one)
    finally:
        if as_json:
            click.echo(json.dumps({"files": described}, indent=2))
        elif described:
            click.echo(f"{'records':>10} {'bases':>13} {'raw':>14} {'archive':>12} {'ratio':>7} {'blocks':>6} {'level':>5}  name")
            for d in described:
                click.echo(f"{d['records']:>10,} {d['bases']:>13,} {d['raw_bytes']:>14,} {d['archive_bytes']:>12,} "
                           f"{d['ratio'] or 0:>7.2f} {d['blocks']:>6} {d['level']:>5}  {d['file']}")


def _report_name(path: Path) -> Path:
    """reads.lz -> reads.html, beside the archive."""
    name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) and len(path.name) > len(SUFFIX) else path.name
    return path.with_name(name + ".html")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="One page for all FILES, side by side, in this file (- for standard output).")
@click.option("--multiqc", "multiqc_dir", type=click.Path(file_okay=False),
              help="Write MultiQC custom-content files into this directory (and no page, unless -o).")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing files.")
def report(files, output, multiqc_dir, force):
    """Describe archives as an offline HTML page (FILE.html beside each FILE.lz, or -o), from their
    header, index, block headers and statistics: nothing is decoded."""
    from .report import multiqc  # light: the rest is imported per file, by one()

    command = shlex.join(["lstmzip", *sys.argv[1:]])
    gathered = []

    def html_for(archives: list) -> str:
        from .report import page  # plotly: only here

        return page.render(archives, command, datetime.now(timezone.utc))

    def write(path: Path, text: str) -> None:
        with _output_file(path, force, None) as out:
            out.write(text.encode())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(path, 0o666 & ~umask)  # a page for others to read, not a private temporary file

    def one(name: str) -> None:
        from .report import facts

        archive = facts.gather(name)
        gathered.append(archive)
        if multiqc_dir:
            os.makedirs(multiqc_dir, exist_ok=True)
            for file_name, content in multiqc.files(archive).items():
                write(Path(multiqc_dir) / file_name, json.dumps(content, indent=1) + "\n")
        if not output and not multiqc_dir:
            write(_report_name(Path(name)), html_for([archive]))

    if multiqc_dir:
        samples = [multiqc.sample_name(name) for name in files]
        if len(set(samples)) < len(samples):
            raise click.UsageError("two archives have the same name: MultiQC would take them for one sample")
    _run_each(files, one)
    if output == "-":
        sys.stdout.write(html_for(gathered))
    elif output:
        _run_each((output,), lambda name: write(Path(name), html_for(gathered)))
