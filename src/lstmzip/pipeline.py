"""Compress and decompress byte streams, block by block, with up to N worker processes.

The blocks are cut by content alone and every block is coded independently, so the archive is the same
for any number of workers. Within a block, names, bases and qualities are separate tasks, so even a
one-block file keeps two workers busy. At most a few blocks are in flight, which bounds memory.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

import numpy as np
import xxhash

from . import __version__, container, levels, streams
from .errors import CorruptArchiveError, LstmzipError
from .fastq import Block, format_block, read_blocks
from .names import decode_names, encode_names


@dataclass
class Stats:
    records: int = 0
    bases: int = 0
    raw_bytes: int = 0
    stream_bytes: dict = field(default_factory=lambda: dict.fromkeys(streams.STREAM_NAMES, 0))
    seconds: float = 0.0


class _Done:
    """The result of a task run in this process, with the interface of multiprocessing's AsyncResult."""

    def __init__(self, fn: Callable, args: tuple):
        try:
            self.value, self.error = fn(*args), None
        except Exception as error:  # raised where a worker's would be: at get()
            self.value, self.error = None, error

    def get(self):
        if self.error is not None:
            raise self.error
        return self.value


class Workers:
    """Up to N processes for tasks; with one thread, tasks run in this process. On an error or Ctrl-C the
    processes are killed at once rather than left to finish their tasks."""

    def __init__(self, threads: int):
        threads = (os.cpu_count() or 1) if threads == 0 else threads
        self.pool = None
        if threads > 1:
            self.pool = multiprocessing.get_context("fork").Pool(threads, initializer=_worker_signals)

    def submit(self, fn: Callable, *args):
        return self.pool.apply_async(fn, args) if self.pool else _Done(fn, args)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if self.pool:
            if kind is None:
                self.pool.close()
            else:
                self.pool.terminate()
            self.pool.join()


def _worker_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler: terminate() must kill


def _encode_block(workers: Workers, block: Block, params: dict) -> list:
    return [
        workers.submit(streams.encode_layout, block),
        workers.submit(streams.encode_lengths, block.lengths),
        workers.submit(encode_names, block.names),
        workers.submit(streams.encode_bases, block.seq, block.lengths, params),
        workers.submit(streams.encode_qualities, block.qual, block.lengths, params),
    ]


def compress_stream(src: BinaryIO, dst: BinaryIO, level: int, threads: int, name: str | None = None,
                    mtime: int | None = None, progress: Callable[[int], None] | None = None) -> Stats:
    params = levels.params_for_level(level)
    header = {"creator": f"lstmzip {__version__}", "level": level, "params": params, "name": name, "mtime": mtime}
    writer = container.ArchiveWriter(dst, header)
    stats = Stats()
    started = time.monotonic()
    pending: deque = deque()
    depth = 2 if threads != 1 else 0  # blocks in flight beyond the one being written

    def finish_one() -> None:
        block, raw, parts = pending.popleft()
        coded = [part.get() for part in parts]
        writer.write_block(block.records, len(raw), len(block.seq), coded, xxhash.xxh64_intdigest(raw))
        stats.records += block.records
        stats.bases += len(block.seq)
        stats.raw_bytes += len(raw)
        for key, part in zip(streams.STREAM_NAMES, coded):
            stats.stream_bytes[key] += len(part)
        if progress:
            progress(len(raw))

    with Workers(threads) as workers:
        for block in read_blocks(src, params["block_records"], params["block_bytes"]):
            raw = format_block(block)
            pending.append((block, raw, _encode_block(workers, block, params)))
            while len(pending) > depth:
                finish_one()
        while pending:
            finish_one()
    writer.close()
    stats.seconds = time.monotonic() - started
    return stats


def _decode_part(kind: str, data: bytes, lengths: np.ndarray, params: dict, records: int):
    if kind == "names":
        return decode_names(data, records)
    if kind == "bases":
        return streams.decode_bases(data, lengths, params)
    return streams.decode_qualities(data, lengths, params)


def decompress_stream(src: BinaryIO, dst: BinaryIO | None, threads: int,
                      progress: Callable[[int], None] | None = None) -> tuple[dict, Stats]:
    """Decode an archive to dst (None: decode and verify only). Returns the header and the totals."""
    header, header_size = container.read_header(src)
    params = levels.check_params(header.get("params"))
    stats = Stats()
    started = time.monotonic()
    pending: deque = deque()
    depth = 2 if threads != 1 else 0

    def finish_one() -> None:
        info, block_number, layout, plus_texts, final_newline, lengths, parts = pending.popleft()
        try:
            names, seq, qual = (part.get() for part in parts)
        except LstmzipError as error:
            raise CorruptArchiveError(f"block {block_number}: {error}") from None
        except Exception as error:  # a damaged stream that slipped past its checksum
            raise CorruptArchiveError(f"block {block_number} is corrupt ({type(error).__name__})") from None
        raw = format_block(Block(names, seq, qual, lengths, layout, plus_texts, final_newline))
        if len(raw) != info.raw_size or xxhash.xxh64_intdigest(raw) != info.digest:
            raise CorruptArchiveError(f"block {block_number} decodes to wrong data (content hash mismatch)")
        if dst is not None:
            dst.write(raw)
        stats.records += info.records
        stats.bases += info.bases
        stats.raw_bytes += len(raw)
        if progress:
            progress(len(raw))

    with Workers(threads) as workers:
        for number, (info, parts) in enumerate(container.read_blocks(src, params, header_size), 1):
            layout, plus_texts, final_newline = streams.decode_layout(parts[0], info.records, info.raw_size)
            lengths = streams.decode_lengths(parts[1], info.records, info.raw_size)
            if int(lengths.sum()) != info.bases:
                raise CorruptArchiveError(f"block {number}: read lengths do not match the block header")
            for key, part in zip(streams.STREAM_NAMES, parts):
                stats.stream_bytes[key] += len(part)
            tasks = [workers.submit(_decode_part, kind, data, lengths, params, info.records)
                     for kind, data in zip(("names", "bases", "qualities"), parts[2:])]
            pending.append((info, number, layout, plus_texts, final_newline, lengths, tasks))
            while len(pending) > depth:
                finish_one()
        while pending:
            finish_one()
    stats.seconds = time.monotonic() - started
    return header, stats
