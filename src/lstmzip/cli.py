"""Command line: parses arguments, and turns errors into messages and exit codes. What each command does to
a file is in files.py (which the Python API shares).

Exit status: 0 ok, 1 error (bad input, corrupt archive, I/O, out of memory), 2 usage, 130 interrupted
(143 for SIGTERM), 141 quietly when the reader of stdout goes away.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import click

from . import __version__, summaries
from .errors import FastqError, LstmzipError, UsageError
from .levels import DEFAULT_LEVEL, MAX_BLOCK_BYTES, MIN_BLOCK_BYTES

# numpy, numba and the models are imported by the commands that use them (files.py, archive.py and the
# report import them): `--version` and `--help` start at once, and a Ctrl-C while they load is handled
# like any other.
if TYPE_CHECKING:
    from . import files


def _say(message: str) -> None:
    click.echo(f"lstmzip: {message}", err=True)


@contextlib.contextmanager
def _progress(names: tuple[str, ...], quiet: bool):
    """A progress callback (bytes done) drawing a bar on stderr, only when stderr is a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    total = sum(os.path.getsize(name) for name in names if name != "-" and os.path.isfile(name)) or None
    with tqdm(total=total, unit="B", unit_scale=True, leave=False, file=sys.stderr) as bar:
        yield bar.update


def _run_each(names: tuple[str, ...], action: Callable[[str], None]) -> None:
    """Run action per file; report errors, go on with the next file, exit 1 if any failed (2 at once for
    options that do not fit a file)."""
    failed = False
    for name in names or ("-",):
        label = "stdin" if name == "-" else name
        try:
            action(name)
        except FastqError as error:
            _say(f"{error.file or label}:{error.line}: {error.detail}")
            failed = True
        except UsageError as error:
            _say(f"{label}: {error}")
            sys.exit(2)
        except LstmzipError as error:
            _say(f"{error.file or label}: {error.message}")
            failed = True
        except OSError as error:
            if isinstance(error, BrokenPipeError):
                _quiet_broken_pipe()
            _say(f"{label}: {error.strerror or error}")
            failed = True
        except KeyboardInterrupt:  # run in process (`lstmzip` itself ends in __main__'s handler)
            _say("interrupted")
            sys.exit(130)
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


class RecordRange(click.ParamType):
    """'START:END', 'START:' or ':END' as a slice (Python's notation; negative numbers count from the end)."""

    name = "START:END"

    def convert(self, value, param, ctx):
        if isinstance(value, slice):
            return value
        parts = value.split(":")
        try:
            if len(parts) != 2:
                raise ValueError
            start, stop = (int(part) if part.strip() else None for part in parts)
        except ValueError:
            self.fail(f"{value!r} is not a range START:END (either may be left out)", param, ctx)
        return slice(start, stop)


def _threads_option(f):
    return click.option("-T", "--threads", type=click.IntRange(min=0), default=0, show_default=True,
                        help="Worker processes (0 = all cores). The output does not depend on it.")(f)


def _mate_option(f):
    return click.option("--mate", type=click.IntRange(1, 2), help="Of a paired archive, write this mate's file only.")(f)


def _common_output_options(outputs: int = 1):
    return lambda f: _with_output_options(f, outputs)


def _with_output_options(f, outputs: int):
    output = (click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (one input only).")
              if outputs == 1 else
              click.option("-o", "--output", type=click.Path(dir_okay=False), multiple=True,
                           help="Write to this file (one input only); twice for the two files of a paired archive."))
    for option in reversed([
        click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write to standard output."),
        output,
        click.option("-f", "--force", is_flag=True, help="Overwrite existing files; allow a terminal."),
        click.option("--rm", "remove", is_flag=True, help="Remove the input after success."),
        click.option("-q", "--quiet", is_flag=True, help="No messages but errors."),
        click.option("-v", "--verbose", is_flag=True, help="Report sizes and speed."),
    ]):
        f = option(f)
    return _threads_option(f)


def _check_output_options(names, outputs: tuple[str, ...], to_stdout: bool) -> None:
    if outputs and (len(names) > 1 or to_stdout):
        raise click.UsageError("-o takes one input file and cannot be combined with -c")
    if len(outputs) > 2:
        raise click.UsageError("-o is given at most twice (the two files of a paired archive)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lstmzip")
def main():
    """Lossless FASTQ compressor."""


def _level_options(f):
    for option in reversed([
        click.option("-1", "level", flag_value=1, help="Fastest."),
        *[click.option(f"-{n}", "level", flag_value=n, hidden=True) for n in (2, 3, 4, 5)],
        click.option("-6", "level", flag_value=6, help="Default."),
        *[click.option(f"-{n}", "level", flag_value=n, hidden=True) for n in (7, 8)],
        click.option("-9", "level", flag_value=9, help="Smallest."),
        click.option("--block-size", type=ByteSize(), default=None,
                     help="Cut a block every SIZE bytes of input (default: the level's, 32M; K, M, G suffixes). "
                          "Smaller blocks need less memory and make record ranges cheaper to read, at some cost in size."),
    ]):
        f = option(f)
    return f


def _model_option(what: str):
    return click.option("--model", "model_file", type=click.Path(dir_okay=False),
                        help=f"A model file (lstmzip train): {what}")


def _load_model(model_file: str | None, level: int | None):
    """The model of --model (None without it); refused (exit 1) with one line if it cannot be used."""
    if model_file is None:
        return None
    if level is not None:
        raise click.UsageError("--model sets the level: -1 .. -9 cannot be combined with it")
    loaded = []

    def one(name: str) -> None:
        from . import files

        loaded.append(files.load_model(name))

    _run_each((model_file,), one)
    return loaded[0]


@main.command()
@click.argument("names", nargs=-1, type=click.Path(), metavar="[FILE]...")
@_common_output_options()
@click.option("--pair", is_flag=True, help="FILES are the two files of a paired-end run: one archive holds both.")
@_level_options
@_model_option("its level, parameters and networks; nothing is trained (each archive still holds the "
               "networks, and decodes without the model file).")
def compress(names, to_stdout, output, force, remove, quiet, verbose, threads, pair, level, block_size, model_file):
    """Compress FASTQ (plain or gzip) FILES to FILE.lz; no FILE or - reads standard input.
    With --pair, R1 R2 to one archive named after what both names share (sample_R1.fq, sample_R2.fq ->
    sample.lz)."""
    model = _load_model(model_file, level)
    level = level or DEFAULT_LEVEL
    if pair:
        if len(names) != 2:
            raise click.UsageError("--pair takes two files (mate 1's, then mate 2's)")
        if output and to_stdout:
            raise click.UsageError("-o cannot be combined with -c")
    else:
        _check_output_options(names, (output,) if output else (), to_stdout)

    def report(name: str, result: files.Result) -> None:
        if verbose:
            _say(f"{name}:")
            for line in summaries.compress_lines(result.stats, result.paired):
                _say(line)

    def one(name: str) -> None:
        from . import files

        with _progress((name,), quiet) as progress:
            result = files.compress_file(name, output, to_stdout, force=force, level=level, threads=threads,
                                         remove=remove, progress=progress, block_bytes=block_size, model=model)
        report(name, result)

    def both(label: str) -> None:
        from . import files

        with _progress(names, quiet) as progress:
            result = files.compress_pair_files(*names, output, to_stdout, force=force, level=level,
                                               threads=threads, remove=remove, progress=progress,
                                               block_bytes=block_size, mate1_names=verbose, model=model)
        report(label, result)

    _run_each((" + ".join(names),) if pair else names, both if pair else one)


@main.command()
@click.argument("names", nargs=-1, type=click.Path(), metavar="[FILE]...")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The model file to write (e.g. run.lzm).")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing file.")
@click.option("-q", "--quiet", is_flag=True, help="No messages but errors.")
@click.option("-v", "--verbose", is_flag=True, help="Report what was trained.")
@_level_options
def train(names, output, force, quiet, verbose, level, block_size):
    """Train the networks on a sample of FASTQ (plain or gzip) FILES, as compress would (the first block
    of one file; of several, the same amount from each), and write a model file for compress --model.
    No FILE or - reads standard input."""
    level = level or DEFAULT_LEVEL

    def one(_: str) -> None:
        from . import files

        model, report, why = files.train_files(names, output, force=force, level=level, block_bytes=block_size)
        if verbose:
            _say(f"{output}: model {model.sha256}, level {model.level}, trained on {model.sample['records']:,} "
                 f"records ({model.sample['bases']:,} bases)")
            for line in summaries.learning_lines(report, why):
                _say(line)

    _run_each((" + ".join(names) if names else "-",), one)


@main.command()
@click.argument("names", nargs=-1, required=True, type=click.Path(), metavar="FILE...")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="The archive to write.")
@click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write to standard output.")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing file; allow a terminal.")
@click.option("-q", "--quiet", is_flag=True, help="No messages but errors.")
@click.option("-v", "--verbose", is_flag=True, help="Report what was joined.")
def join(names, output, to_stdout, force, quiet, verbose):
    """Join archives made with one model (compress --model) into one archive: one header, one index, the
    blocks copied as they are. Of a FASTQ cut at block boundaries (lstmzip split), the result is the
    archive of the whole, as compress --model makes it from standard input."""
    if bool(output) == to_stdout:
        raise click.UsageError("give the archive to write with -o FILE, or -c for standard output")

    def one(_: str) -> None:
        from . import files

        stats = files.join_files(names, output, to_stdout, force=force).stats
        if verbose:
            _say(f"{output or 'stdout'}: {len(names)} archives joined: {stats.blocks:,} blocks, "
                 f"{stats.records:,} records, {stats.raw_bytes:,} -> {stats.archive_bytes:,} B")

    _run_each((output or "stdout",), one)


@main.command()
@click.argument("name", type=click.Path(dir_okay=False), metavar="FILE")
@click.option("--records", type=click.IntRange(min=1), help="A chunk every N records or more (at the first block boundary).")
@click.option("--chunks", type=click.IntRange(min=1), help="K chunks of as many blocks as can be (the last may be empty).")
@click.option("--prefix", help="Chunks are PREFIX.0001.fq, PREFIX.0002.fq, ... (default: FILE without .fq or "
                               ".fastq, and .gz, beside it).")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing files.")
@click.option("-q", "--quiet", is_flag=True, help="No messages but errors.")
@click.option("-v", "--verbose", is_flag=True, help="List the chunks written.")
@_level_options
@_model_option("cut blocks at its block size (the blocks compress --model makes).")
def split(name, records, chunks, prefix, force, quiet, verbose, level, block_size, model_file):
    """Cut a FASTQ file (plain or gzip) into plain FASTQ chunks at block boundaries: where compress, at
    this level or with this model and block size, cuts its blocks. Each chunk compressed with one model
    and lstmzip join of their archives give the archive of the whole file."""
    if (records is None) == (chunks is None):
        raise click.UsageError("give either --records N or --chunks K")
    model = _load_model(model_file, level)

    def one(name: str) -> None:
        from . import levels, splitting

        params = model.params_for(block_size) if model else levels.params_for_level(level or DEFAULT_LEVEL, block_size)
        written = splitting.split_file(name, params, records=records, chunks=chunks, prefix=prefix, force=force)
        if verbose:
            for path, size in written:
                _say(f"{path}: {size:,} bytes")

    _run_each((name,), one)


def _decompress_files(names, to_stdout, outputs, force, remove, quiet, verbose, threads, mate=None,
                      verify_only=False):
    def one(name: str) -> None:
        from . import files

        with _progress((name,), quiet) as progress:
            result = files.decompress_file(name, outputs, to_stdout, force=force, threads=threads, mate=mate,
                                           remove=remove, progress=progress, verify_only=verify_only)
        if verbose or verify_only and not quiet:
            stats = result.stats
            members = f"{stats.members} members, " if stats.members > 1 else ""
            _say(f"{name}: ok, {members}{stats.records:,} records, {stats.raw_bytes:,} bytes")

    _run_each(names, one)


@main.command()
@click.argument("names", nargs=-1, type=click.Path(), metavar="[FILE]...")
@_common_output_options(outputs=2)
@_mate_option
def decompress(names, to_stdout, output, force, remove, quiet, verbose, threads, mate):
    """Decompress FILE.lz to the stored name (or FILE without .lz); no FILE or - reads standard input.
    A paired archive gives back both files (-c: interleaved, R1 record then R2 record)."""
    _check_output_options(names, output, to_stdout)
    _decompress_files(names, to_stdout, output, force, remove, quiet, verbose, threads, mate)


@main.command()
@click.argument("names", nargs=-1, type=click.Path(), metavar="[FILE]...")
@_threads_option
@_mate_option
@click.option("--records", "records", type=RecordRange(),
              help="Only records START to END-1 (from 0, as Python slices; START: and :END work; pairs in a "
                   "paired archive). Needs a seekable archive.")
@click.option("--block", type=click.IntRange(min=1), help="Only block N (from 1; see list --blocks). Needs a seekable archive.")
def cat(names, threads, mate, records, block):
    """Decompress FILES to standard output (= decompress -c); a paired archive interleaved."""
    if records is not None and block is not None:
        raise click.UsageError("--records and --block cannot be combined")
    if records is None and block is None:
        _decompress_files(names, True, (), False, False, True, False, threads, mate)
        return

    def one(name: str) -> None:
        from . import files

        files.cat_range(name, records, block, mate=mate, threads=threads)

    _run_each(names, one)


@main.command()
@click.argument("names", nargs=-1, type=click.Path(), metavar="[FILE]...")
@click.option("-q", "--quiet", is_flag=True, help="No messages but errors.")
@_threads_option
def test(names, quiet, threads):
    """Decode FILES and verify every checksum; write nothing."""
    _decompress_files(names, False, (), False, False, quiet, False, threads, verify_only=True)


@main.command(name="list")
@click.argument("names", nargs=-1, required=True, type=click.Path(), metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--blocks", "with_blocks", is_flag=True, help="Also list each block: its first record, records, bytes, offset.")
def list_(names, as_json, with_blocks):
    """Show records, sizes, ratio and blocks of FILES (a row per member), read from the index without decoding,
    and the model an archive was made with. In a paired archive records count pairs. Of a model file
    (lstmzip train): its level, block size, networks and SHA-256."""
    described, models = [], []

    def one(name: str) -> None:
        from . import modelfile
        from .report import facts  # reads headers and indexes only: no numba, no coder (a quick `list`)

        if modelfile.is_model_file(name):
            from . import files

            models.append({"file": name, **files.load_model(name).describe()})
        else:
            described.append(facts.gather(name).summary(with_blocks))

    try:
        _run_each(names, one)
    finally:
        if as_json:
            click.echo(json.dumps({"files": described, **({"models": models} if models else {})}, indent=2))
        else:
            for line in [*(line for m in models for line in summaries.model_lines(m)),
                         *summaries.list_lines(described, with_blocks)]:
                click.echo(line)


@main.command()
@click.argument("names", nargs=-1, required=True, type=click.Path(), metavar="FILE...")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="One page for all FILES, side by side, in this file (- for standard output).")
@click.option("--multiqc", "multiqc_dir", type=click.Path(file_okay=False),
              help="Write MultiQC custom-content files into this directory (and no page, unless -o).")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing files.")
def report(names, output, multiqc_dir, force):
    """Describe archives as an offline HTML page (FILE.html beside each FILE.lz, or -o), from their
    header, index, block headers and statistics: nothing is decoded. A file of several members gets one
    page, with a column and a trace per member."""
    from .report import multiqc  # light: the rest is imported per file, by one() and write()

    command = shlex.join(["lstmzip", *sys.argv[1:]])
    gathered = []

    def html_for(archives: list) -> str:
        from .report import page  # plotly: only here

        return page.render(archives, command, datetime.now(timezone.utc))

    def write(path: Path, text: str) -> None:
        from . import files

        with files.output_files([path], force) as (out,):  # readable by others, as open() would make it
            out.write(text.encode())

    def one(name: str) -> None:
        from . import files
        from .report import facts

        archive = facts.gather(name)
        gathered.append(archive)
        if multiqc_dir:
            os.makedirs(multiqc_dir, exist_ok=True)
            for file_name, content in multiqc.files(archive).items():
                write(Path(multiqc_dir) / file_name, json.dumps(content, indent=1) + "\n")
        if not output and not multiqc_dir:
            write(files.report_name(Path(name)), html_for([archive]))

    if multiqc_dir:
        samples = [multiqc.sample_name(name) for name in names]
        if len(set(samples)) < len(samples):
            raise click.UsageError("two archives have the same name: MultiQC would take them for one sample")
    _run_each(names, one)
    if output == "-":
        sys.stdout.write(html_for(gathered))
    elif output:
        _run_each((output,), lambda name: write(Path(name), html_for(gathered)))
