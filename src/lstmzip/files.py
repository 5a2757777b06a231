"""Files around the compressor, for the command line and the Python API alike: where input comes from,
what outputs are named, and outputs written to a temporary file that is renamed only when complete (and
removed on any error, Ctrl-C or SIGTERM), so no partial output survives.

The operations below are what `lstmzip compress`, `decompress`, `cat` and `test` do to one input; the CLI
only parses options around them and turns their errors into messages and exit statuses.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from . import archive, container, members, pairs, pipeline
from .errors import FastqError, LstmzipError, UsageError
from .fastq import open_input

FASTQ_SUFFIXES = (".fastq.gz", ".fq.gz", ".fastq", ".fq")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SUFFIX = ".lz"
MATE_MARKERS = "_.-"  # what separates a mate number from the name before it


@dataclass
class Result:
    stats: pipeline.Stats
    paired: bool = False


def open_source(name: str) -> tuple[BinaryIO, Path | None]:
    """'-' is standard input; the path is None for it."""
    if name == "-":
        return sys.stdin.buffer, None
    path = Path(name)
    if path.is_dir():
        raise LstmzipError("is a directory")
    return open(path, "rb"), path


def regular_file_size(source: BinaryIO) -> int | None:
    try:
        st = os.fstat(source.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def check_size_unchanged(source: BinaryIO, size: int | None) -> None:
    """gzip's check: a file that grew or shrank while it was read (a copy still running, a log rotated)
    gives an archive of no version of it, and --rm would then delete data."""
    now = regular_file_size(source)
    if size is not None and now != size:
        raise LstmzipError(f"file changed size while it was read ({size:,} bytes at the start, {now:,} now)")


# Paths that an interruption must remove: temporary outputs, and outputs of a set (a pair) whose other
# files are not yet in place. A stop signal ends lstmzip at once (see __main__.py) and removes them.
_unfinished: set[str] = set()


def remove_unfinished() -> None:
    for path in list(_unfinished):
        with contextlib.suppress(OSError):
            os.unlink(path)
    _unfinished.clear()


@contextlib.contextmanager
def output_files(paths: list[Path], force: bool, like: Path | None = None,
                 mtimes: list[int | None] | None = None) -> Iterator[list[BinaryIO]]:
    """Temporary files beside `paths`, all renamed to them once all are complete, and removed on any
    failure (with any already renamed). like: copy its mode and times (else the mode open() would give);
    mtimes: then set these."""
    for path in paths:
        if path.exists() and not force:
            raise LstmzipError(f"{path} already exists; use -f to overwrite")
    temporary: list[tuple[str, BinaryIO]] = []
    renamed: list[Path] = []
    try:
        for path in paths:
            held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # no stop between creating and noting
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
                _unfinished.add(tmp)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
            temporary.append((tmp, os.fdopen(fd, "wb")))
        yield [out for _, out in temporary]
        for (tmp, out), mtime in zip(temporary, mtimes or [None] * len(paths)):
            out.close()
            if like is not None:
                st = like.stat()
                os.chmod(tmp, st.st_mode & 0o7777)
                os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
            else:  # mkstemp's files are private
                os.chmod(tmp, 0o666 & ~_umask())
            if mtime is not None:
                os.utime(tmp, (mtime, mtime))
        for (tmp, _), path in zip(temporary, paths):
            _unfinished.add(str(path))
            os.replace(tmp, path)
            _unfinished.discard(tmp)
            renamed.append(path)
        _unfinished.difference_update(str(path) for path in paths)
    except BaseException:
        for tmp, out in temporary:
            with contextlib.suppress(OSError):
                out.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        for path in renamed:
            with contextlib.suppress(OSError):
                path.unlink()
        _unfinished.difference_update([tmp for tmp, _ in temporary] + [str(path) for path in paths])
        raise


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def compressed_name(path: Path) -> tuple[Path, str]:
    """reads.fq(.gz) -> reads.lz, stored name reads.fq; other names get .lz appended."""
    name = path.name
    for suffix in FASTQ_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stored = name[:-3] if suffix.endswith(".gz") else name
            return path.with_name(name[: -len(suffix)] + SUFFIX), stored
    return path.with_name(name + SUFFIX), name[:-3] if name.endswith(".gz") else name


def pair_archive_name(first: Path, second: Path) -> Path | None:
    """The default archive of a pair: the common start of both names without the mate marker
    (sample_R1.fq.gz + sample_R2.fq.gz -> sample.lz), beside the first file; None if they share none."""
    stems = []
    for path in (first, second):
        name = path.name
        stems.append(next((name[: -len(s)] for s in FASTQ_SUFFIXES if name.endswith(s) and len(name) > len(s)), name))
    common = os.path.commonprefix(stems)
    if common[-1:] in ("R", "r") and all(stem[len(common) : len(common) + 1].isdigit() for stem in stems):
        common = common[:-1]  # sample_R1 / sample_R2: the R belongs to the mate number
    common = common.rstrip(MATE_MARKERS)
    return first.with_name(common + SUFFIX) if common else None


def _stored_name_ok(stored) -> bool:
    return (isinstance(stored, str) and stored == os.path.basename(stored) and stored not in ("", ".", "..")
            and "\0" not in stored)


def decompressed_name(path: Path, stored: str | None) -> Path:
    if _stored_name_ok(stored):
        return path.with_name(stored)
    if path.name.endswith(SUFFIX) and len(path.name) > len(SUFFIX):
        return path.with_name(path.name[: -len(SUFFIX)])
    raise LstmzipError(f"{path}: unknown suffix and no stored name; use -c or -o")


def report_name(path: Path) -> Path:
    """reads.lz -> reads.html, beside the archive (`lstmzip report`)."""
    name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) and len(path.name) > len(SUFFIX) else path.name
    return path.with_name(name + ".html")


def _mtime(value) -> int | None:
    return value if type(value) is int else None


def _write_compressed(run: Callable[[BinaryIO], pipeline.Stats], target: Path | None, force: bool,
                      like: Path | None, stdout: BinaryIO) -> Result:
    if target is None:
        if stdout.isatty() and not force:
            raise LstmzipError("compressed data not written to a terminal; use -f to force")
        stats = run(stdout)
        stdout.flush()
        return Result(stats)
    with output_files([target], force, like) as (out,):
        return Result(run(out))


def compress_file(name: str, output: str | None, to_stdout: bool, *, force: bool, level: int, threads: int,
                  remove: bool = False, progress: Callable[[int], None] | None = None,
                  block_bytes: int | None = None, model=None) -> Result:
    """Compress one FASTQ file ('-': standard input) to output, its default name, or standard output;
    model: a modelfile.Model to use instead of training (its level then replaces level)."""
    source, path = open_source(name)
    with source:
        size = regular_file_size(source)
        mtime = int(path.stat().st_mtime) if path else None
        stored = compressed_name(path)[1] if path else None
        if to_stdout or (path is None and not output):
            target = None
        else:
            target = Path(output) if output else compressed_name(path)[0]

        def run(out: BinaryIO) -> pipeline.Stats:
            try:
                stats = pipeline.compress_stream(open_input(source), out, level, threads, stored, mtime, progress,
                                                 block_bytes=block_bytes, model=model)
            except FastqError:
                check_size_unchanged(source, size)  # a changed size explains a broken last record
                raise
            check_size_unchanged(source, size)
            return stats

        result = _write_compressed(run, target, force, path, sys.stdout.buffer)
    if remove and path and target is not None:
        path.unlink()
    return result


def compress_pair_files(first: str, second: str, output: str | None, to_stdout: bool, *, force: bool, level: int,
                        threads: int, remove: bool = False, progress: Callable[[int], None] | None = None,
                        block_bytes: int | None = None, mate1_names: bool = False, model=None) -> Result:
    """Compress two FASTQ files of a paired-end run into one archive."""
    if "-" in (first, second):
        raise UsageError("--pair takes two files, not standard input")
    paths = [Path(first), Path(second)]
    target = None
    if not to_stdout:
        target = Path(output) if output else pair_archive_name(*paths)
        if target is None:
            raise UsageError("the two names have no common start to name the archive after; give it with -o")
    with contextlib.ExitStack() as stack:
        sources = _open_each(stack, (first, second), lambda name: open_source(name)[0])
        sizes = [regular_file_size(source) for source in sources]
        mates = tuple({"name": compressed_name(path)[1], "mtime": int(path.stat().st_mtime)} for path in paths)

        def sizes_unchanged() -> None:
            for path, source, size in zip(paths, sources, sizes):
                try:
                    check_size_unchanged(source, size)
                except LstmzipError as error:
                    error.file = str(path)
                    raise

        def run(out: BinaryIO) -> pipeline.Stats:
            try:
                stats = pairs.compress_pair(sources[0], sources[1], out, level, threads, mates, progress,
                                            block_bytes=block_bytes, mate1_names=mate1_names, model=model)
            except LstmzipError:
                sizes_unchanged()  # a changed size explains a broken last record or a missing mate
                raise
            sizes_unchanged()
            return stats

        result = _write_compressed(run, target, force, paths[0], sys.stdout.buffer)
    result.paired = True
    if remove and target is not None:
        for path in paths:
            path.unlink()
    return result


class _Replayed:
    """A stream whose first bytes can be read once more: the header, looked at before decoding (stdin too)."""

    def __init__(self, stream: BinaryIO):
        self.stream, self.kept, self.replaying = stream, bytearray(), False

    def read(self, size: int = -1) -> bytes:
        if not self.replaying:
            data = self.stream.read(size)
            self.kept += data
            return data
        if size < 0 or size > len(self.kept):
            data, self.kept = bytes(self.kept), bytearray()
            return data + self.stream.read(-1 if size < 0 else size - len(data))
        data, self.kept = bytes(self.kept[:size]), self.kept[size:]
        return data

    def first_member(self) -> members.Member:
        header, models, _ = container.read_header(self)
        self.replaying = True
        return members.open_member(1, header, models)


def decompress_file(name: str, outputs: tuple[str, ...], to_stdout: bool, *, force: bool, threads: int,
                    mate: int | None = None, remove: bool = False, progress: Callable[[int], None] | None = None,
                    verify_only: bool = False) -> Result:
    """Decompress one archive ('-': standard input): to standard output (a paired archive interleaved), to
    outputs, or beside it under its stored name(s); verify_only: decode and check, write nothing."""
    source, path = open_source(name)
    stats = pipeline.Stats()
    with source:
        to_stdout = to_stdout or (path is None and not outputs)
        paired = False
        if verify_only:
            for _ in archive.read(source, threads, None, progress, stats):
                pass
        elif to_stdout:
            for chunk in archive.read(source, threads, mate, progress, stats):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        else:
            source = _Replayed(source)
            member = source.first_member()
            header, pair, paired = member.header, member.header.get("pair"), member.paired
            if paired and mate is None:
                _restore_pair(source, path, outputs, pair, force, threads, progress, stats)
            else:
                if len(outputs) > 1:
                    raise UsageError("-o is given twice, but the archive is not paired" if not paired else
                                     "-o is given twice, but --mate writes one file")
                if paired and not outputs:
                    stored, mtime = pair[mate - 1].get("name"), pair[mate - 1].get("mtime")
                else:
                    stored, mtime = header.get("name"), header.get("mtime")
                target = Path(outputs[0]) if outputs else decompressed_name(path, stored)
                with output_files([target], force, path, [_mtime(mtime)]) as (out,):
                    for chunk in archive.read(source, threads, mate, progress, stats):
                        out.write(chunk)
    if remove and path and not to_stdout and not verify_only:
        path.unlink()
    return Result(stats, paired=paired)


def _restore_pair(source: BinaryIO, path: Path | None, outputs: tuple[str, ...], pair: list, force: bool,
                  threads: int, progress, stats: pipeline.Stats) -> None:
    if len(outputs) == 1:
        raise UsageError("the archive is paired: give -o twice (mate 1's file, then mate 2's), or --mate")
    if outputs:
        targets = [Path(output) for output in outputs]
    else:  # from a file (from standard input, without -o, it goes to standard output)
        names = [mate.get("name") for mate in pair]
        if not all(map(_stored_name_ok, names)):
            raise LstmzipError("the archive does not store the names of its two files; use -o twice or -c")
        targets = [path.with_name(stored) for stored in names]
    if targets[0].resolve() == targets[1].resolve():
        raise LstmzipError(f"both files of the pair would be {targets[0]}; use -o twice")
    with output_files(targets, force, path, [_mtime(mate.get("mtime")) for mate in pair]) as outs:
        for ones, twos in archive.read_mates(source, threads, progress, stats):
            outs[0].write(ones)
            outs[1].write(twos)


def cat_range(name: str, records: slice | None, block: int | None, *, mate: int | None, threads: int) -> Result:
    """Records (pairs) of a seekable archive, or one block, to standard output."""
    source, _ = open_source(name)
    stats = pipeline.Stats()
    with source:
        for chunk in archive.read_range(source, records, block, mate, threads, stats):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    return Result(stats)


def load_model(name: str):
    """A model file (`compress --model`), checked; errors name it."""
    from . import modelfile

    try:
        return modelfile.read(name)
    except LstmzipError as error:
        error.file = name
        raise
    except OSError as error:
        raise _naming(error, name) from None


def train_files(names: tuple[str, ...], output: str, *, force: bool, level: int, block_bytes: int | None = None):
    """Train a model on a sample of these FASTQ files ('-' or none: standard input) and write it to
    output. Returns what modelfile.train does (the model, the training report, why nothing was trained)."""
    from . import modelfile

    with contextlib.ExitStack() as stack:
        sources = _open_each(stack, names or ("-",), lambda name: open_source(name)[0])
        trained = modelfile.train(sources, level, block_bytes, list(names))
    with output_files([Path(output)], force) as (out,):
        out.write(trained[0].data)
    return trained


def join_files(names: tuple[str, ...], output: str | None, to_stdout: bool, *, force: bool) -> Result:
    """Join archives made with one model into one archive, written to output or standard output."""
    from . import joining

    with contextlib.ExitStack() as stack:
        sources = list(zip(names, _open_each(stack, names, lambda name: open(name, "rb"))))
        return _write_compressed(lambda out: joining.join(sources, out), None if to_stdout else Path(output), force,
                                 None, sys.stdout.buffer)


def _open_each(stack: contextlib.ExitStack, names, opener: Callable) -> list:
    """opener(name) of each name, entered in stack; an error opening one says which."""
    opened = []
    for name in names:
        try:
            opened.append(stack.enter_context(opener(name)))
        except (OSError, LstmzipError) as error:
            raise _naming(error, name) from None
    return opened


def _naming(error: Exception, name: str) -> LstmzipError:
    """The error as an LstmzipError about this file (the command line prints the name first)."""
    failed = LstmzipError(getattr(error, "strerror", None) or str(error))
    failed.file = name
    return failed
