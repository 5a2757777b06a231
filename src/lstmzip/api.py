"""The Python API: lstmzip.open, shaped like gzip.open and zstandard.open, lstmzip.open_pair for the two
files of a paired archive, and lstmzip.describe (what `lstmzip list --json` shows). It reads and writes
through the same code as the command line (archive.py, pairs.py, pipeline.py, files.py, report/facts.py),
and raises the exceptions the command line turns into messages: FastqError (input is not FASTQ),
CorruptArchiveError (damaged, truncated or foreign archive), LstmzipError (their base: any other error a
user can cause).
"""

from __future__ import annotations

import builtins
import io
import os
import shutil
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Union

from . import archive, files, levels, modelfile, pairs, pipeline, splitting
from .levels import DEFAULT_LEVEL
from .modelfile import Model
from .report import facts

__all__ = ["open", "open_pair", "describe", "train_model", "load_model", "join", "split", "LstmzipReader", "LstmzipWriter",
           "Pair", "Model"]

File = Union[str, bytes, "os.PathLike[str]", BinaryIO]
READ_BUFFER = 1 << 17


class _Chunks(io.RawIOBase):
    """A raw stream over decoded chunks of bytes."""

    def __init__(self, chunks: Iterator[bytes], on_close: Callable[[], None]):
        self._chunks, self._on_close, self._view = chunks, on_close, memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._view:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._view = memoryview(chunk)
        size = min(len(buffer), len(self._view))
        buffer[:size] = self._view[:size]
        self._view = self._view[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            try:
                self._on_close()
            finally:
                super().close()


class LstmzipReader(io.BufferedReader):
    """The exact FASTQ bytes of an archive (all its members), or of one mate or a range of records; made by
    lstmzip.open(file, "rb"). Supports read, readinto, readline, iteration, peek, close and `with`."""

    def __init__(self, chunks: Iterator[bytes], on_close: Callable[[], None], stats: pipeline.Stats):
        super().__init__(_Chunks(chunks, on_close), READ_BUFFER)
        self._stats = stats

    @property
    def blocks_decoded(self) -> int:
        """Blocks decoded so far (a range of records decodes only the blocks that hold it)."""
        return self._stats.blocks


class LstmzipWriter(io.BufferedIOBase):
    """Compresses what is written into an archive; made by lstmzip.open(file, "wb"). The models are fitted
    to the first block before the archive's header can be written, so what is written is kept in a
    temporary file and compressed on close(), which raises FastqError if it is not FASTQ. A path is
    written to a temporary file beside it and renamed when complete, so no partial archive is left."""

    def __init__(self, finish: Callable[[BinaryIO], None]):
        """finish: compresses the spooled data (and closes the spool)."""
        super().__init__()
        self._spool: BinaryIO = tempfile.TemporaryFile()
        self._finish = finish

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        self._spool.write(data)
        return memoryview(data).nbytes

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._spool.seek(0)
            self._finish(self._spool)
        finally:
            super().close()


class Pair(tuple):
    """Mate 1's and mate 2's file: unpacks as a tuple, and closes both at the end of a `with`."""

    def __enter__(self) -> "Pair":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for mate in self:
            mate.close()


def _mode(mode: str) -> tuple[str, bool]:
    """'r', 'w', 'x' or 'a', and whether the mode is text."""
    kind = mode.replace("b", "").replace("t", "")
    if kind not in ("r", "w", "x", "a") or len(mode) > 2 or ("b" in mode and "t" in mode) or len(set(mode)) != len(mode):
        raise ValueError(f"invalid mode: {mode!r}")
    return kind, "t" in mode


def _threads(threads: int) -> int:
    """Worker processes are forked only from the main thread (signals, and forking a threaded process)."""
    return threads if threading.current_thread() is threading.main_thread() else 1


def _is_path(file) -> bool:
    return isinstance(file, (str, bytes, os.PathLike))


def _source(file: File) -> tuple[BinaryIO, Callable[[], None]]:
    """The archive to read, and what closing the reader does to it (a file object passed in stays open)."""
    if _is_path(file):
        f = builtins.open(file, "rb")
        return f, f.close
    if not hasattr(file, "read"):
        raise TypeError("file must be a path or a binary file object")
    return file, lambda: None


class _Destination:
    """Where an archive goes: a path ('w' replaces it, 'x' only creates it, 'a' appends a member to it)
    or a file object (written to, left open)."""

    def __init__(self, file: File, kind: str):
        self.kind = kind
        if _is_path(file):
            self.path, self.file = Path(os.fsdecode(file)), None
            if kind == "x" and self.path.exists():
                raise FileExistsError(17, "File exists", str(self.path))
        elif hasattr(file, "write"):
            self.path, self.file = None, file
        else:
            raise TypeError("file must be a path or a binary file object")

    def write(self, compress: Callable[[BinaryIO], object]) -> None:
        if self.file is not None:
            compress(self.file)
        elif self.kind == "a":
            with tempfile.TemporaryFile() as member:  # compressed first: a failure appends nothing
                compress(member)
                member.seek(0)
                with builtins.open(self.path, "ab") as out:
                    end = out.tell()
                    try:
                        shutil.copyfileobj(member, out)
                        out.flush()
                    except BaseException:
                        out.truncate(end)
                        raise
        else:
            with files.output_files([self.path], force=self.kind == "w") as (out,):
                compress(out)


def _model(model, level: int | None) -> Model | None:
    if model is None or isinstance(model, Model):
        loaded = model
    elif _is_path(model):
        loaded = files.load_model(os.fsdecode(model))
    else:
        raise TypeError("model must be a Model or the path of a model file")
    if loaded is not None and level is not None:
        raise ValueError("a model sets the level: level cannot be given with it")
    return loaded


def _check_level(level: int | None) -> int:
    level = DEFAULT_LEVEL if level is None else level
    if type(level) is not int or not 1 <= level <= 9:
        raise ValueError("level must be 1 to 9")
    return level


def _text(f, text: bool, encoding, errors, newline):
    if text:
        return io.TextIOWrapper(f, io.text_encoding(encoding), errors, newline)
    if encoding is not None or errors is not None or newline is not None:
        raise ValueError("encoding, errors and newline are for text modes ('rt', 'wt', ...)")
    return f


def open(file: File, mode: str = "rb", *, level: int | None = None, threads: int = 0, encoding: str | None = None,
         errors: str | None = None, newline: str | None = None, mate: int | None = None,
         records: slice | None = None, block: int | None = None,
         model: Model | str | os.PathLike | None = None) -> LstmzipReader | LstmzipWriter | io.TextIOWrapper:
    """Open an lstmzip archive, as gzip.open does a gzip file.

    file: a path, a path-like or a file object (which is not closed). mode: "rb" or "rt" read the exact
    FASTQ bytes of every member in order; "wb"/"wt" compress what is written (on close), "xb"/"xt" the
    same but only if the file does not exist, "ab"/"at" append it as one more member. level: 1-9
    (default 6), for writing. threads: worker processes, 0 = all cores; the archive is the same for any.
    encoding, errors, newline: for text modes, as io.TextIOWrapper takes them.

    Reading only: mate=1 or 2 reads that mate of a paired archive (else pairs come interleaved);
    records=slice(START, END) reads those records (from 0, across members; pairs in a paired archive) and
    block=N block N (from 1), each decoding only the blocks that hold them (a seekable file is needed).
    Writing only: model, a Model (lstmzip.train_model, lstmzip.load_model) or a model file's path, whose level,
    parameters and networks are used instead of training (level cannot be given with it).
    """
    kind, text = _mode(mode)
    threads = _threads(threads)
    if kind == "r":
        if model is not None:
            raise ValueError("model is for writing")
        if records is not None and block is not None:
            raise ValueError("records and block cannot be combined")
        f, on_close = _source(file)
        stats = pipeline.Stats()
        try:
            if records is not None or block is not None:
                chunks = archive.read_range(f, records, block, mate, threads, stats)
            else:
                chunks = archive.read(f, threads, mate, None, stats)
        except BaseException:
            on_close()
            raise

        def close() -> None:
            chunks.close()
            on_close()

        binary: LstmzipReader | LstmzipWriter = LstmzipReader(chunks, close, stats)
    else:
        if mate is not None or records is not None or block is not None:
            raise ValueError("mate, records and block are for reading")
        model = _model(model, level)
        level = _check_level(level)
        destination = _Destination(file, kind)

        def finish(spool: BinaryIO) -> None:
            with spool:
                destination.write(lambda out: pipeline.compress_stream(spool, out, level, threads, model=model))

        binary = LstmzipWriter(finish)
    return _text(binary, text, encoding, errors, newline)


class _Mates:
    """One decoding of a paired archive for two readers: each block's mate 1 bytes wait while mate 2's are
    read, and the other way round (reading both in step keeps about one block in memory)."""

    def __init__(self, blocks: Iterator[tuple[bytes, bytes]], on_close: Callable[[], None]):
        self.blocks, self.on_close = blocks, on_close
        self.waiting: tuple[deque, deque] = (deque(), deque())
        self.open = [True, True]

    def chunks(self, mate: int) -> Iterator[bytes]:
        waiting = self.waiting[mate]
        while True:
            while not waiting:
                parts = next(self.blocks, None)
                if parts is None:
                    return
                for other, part, still_open in zip(self.waiting, parts, self.open):
                    if part and still_open:
                        other.append(part)
            yield waiting.popleft()

    def close(self, mate: int) -> None:
        self.open[mate] = False
        self.waiting[mate].clear()
        if not any(self.open):
            self.blocks.close()
            self.on_close()


def open_pair(file: File, mode: str = "rb", *, level: int | None = None, threads: int = 0,
              encoding: str | None = None, errors: str | None = None, newline: str | None = None,
              names: tuple[str, str] | None = None) -> Pair:
    """The two files of a paired archive, as a Pair (mate 1's, mate 2's) usable in `with`.

    "rb"/"rt": readers of mate 1's and mate 2's exact bytes, sharing one decoding (read them in step, as
    zip() does, to keep memory low). "wb"/"wt"/"xb"/"ab"...: writers whose data become one paired archive
    when both are closed; names: the file names to store for `lstmzip decompress`. Other arguments as
    for open().
    """
    kind, text = _mode(mode)
    threads = _threads(threads)
    if kind == "r":
        f, on_close = _source(file)
        stats = pipeline.Stats()
        mates = _Mates(archive.read_mates(f, threads, None, stats), on_close)
        readers = [LstmzipReader(mates.chunks(mate), lambda mate=mate: mates.close(mate), stats) for mate in (0, 1)]
        return Pair(_text(reader, text, encoding, errors, newline) for reader in readers)
    level = _check_level(level)
    destination = _Destination(file, kind)
    stored = tuple({"name": name, "mtime": None} for name in (names or (None, None)))
    spools: list[BinaryIO | None] = [None, None]

    def finish(mate: int, spool: BinaryIO) -> None:
        spools[mate] = spool
        if None not in spools:  # both are closed
            try:
                destination.write(lambda out: pairs.compress_pair(spools[0], spools[1], out, level, threads, stored))
            finally:
                for each in spools:
                    each.close()

    writers = [LstmzipWriter(lambda spool, mate=mate: finish(mate, spool)) for mate in (0, 1)]
    return Pair(_text(writer, text, encoding, errors, newline) for writer in writers)


def describe(file: File, blocks: bool = False) -> dict:
    """What `lstmzip list --json` shows of one file: totals, "members" (a row each) and, with blocks,
    "block_list" (each block's number, member, first record, records, bytes and offset). A seekable
    archive is needed; nothing is decoded."""
    f, on_close = _source(file)
    try:
        return facts.read(f, os.fsdecode(file) if _is_path(file) else getattr(f, "name", None)).summary(blocks)
    finally:
        on_close()


def train_model(inputs: File | list[File], output: str | os.PathLike | None = None, *, level: int | None = None,
                block_size: int | None = None) -> Model:
    """Train the networks on a sample of FASTQ input(s) (paths or binary file objects, plain or gzip) as
    `lstmzip train` does, and return the Model (written to output, if given, as a model file). Use it
    with open(..., "wb", model=...) or `lstmzip compress --model`."""
    level = _check_level(level)
    sources = inputs if isinstance(inputs, list) else [inputs]
    opened = [_source(source) for source in sources]
    try:
        model = modelfile.train([f for f, _ in opened], level, block_size)[0]
    finally:
        for _, on_close in opened:
            on_close()
    if output is not None:
        with files.output_files([Path(os.fsdecode(output))], force=True) as (out,):
            out.write(model.data)
    return model


def load_model(path: str | os.PathLike) -> Model:
    """A model file, checked (ModelFileError if it is damaged, foreign or for another format version)."""
    return files.load_model(os.fsdecode(path))


def join(archives: list[str | os.PathLike], output: str | os.PathLike) -> None:
    """Join archives made with one model into one archive at output, as `lstmzip join -f -o output` does."""
    files.join_files(tuple(os.fsdecode(a) for a in archives), os.fsdecode(output), False, force=True)


def split(file: str | os.PathLike, *, records: int | None = None, chunks: int | None = None,
          prefix: str | None = None, model: Model | str | os.PathLike | None = None, level: int | None = None,
          block_size: int | None = None) -> list[Path]:
    """Cut a FASTQ file at compress's block boundaries (of the model's, or the level's, block size), as
    `lstmzip split -f` does; returns the chunks' paths."""
    model = _model(model, level)
    params = model.params_for(block_size) if model else levels.params_for_level(_check_level(level), block_size)
    written = splitting.split_file(os.fsdecode(file), params, records=records, chunks=chunks, prefix=prefix, force=True)
    return [path for path, _ in written]
