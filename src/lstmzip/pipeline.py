"""Compress and decompress byte streams, block by block, with up to N worker processes.

The blocks are cut by content alone and every block is coded independently, so the archive is the same
for any number of workers. Within a block, names, bases and qualities are separate tasks, so even a
one-block file keeps two workers busy. At most a few blocks are in flight, which bounds memory.
"""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
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


class _Inline:
    """The executor used for one thread: runs each task at once, in this process."""

    def submit(self, fn: Callable, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as error:  # raised where a worker's would be: at result()
            future.set_exception(error)
        return future

    def shutdown(self, wait=True, cancel_futures=False) -> None:
        pass


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the workers


def make_executor(threads: int):
    threads = os.cpu_count() or 1 if threads == 0 else threads
    if threads <= 1:
        return _Inline()
    return ProcessPoolExecutor(max_workers=threads, initializer=_ignore_sigint)


def _encode_block(executor, block: Block, params: dict):
    return (
        streams.encode_layout(block),
        streams.encode_lengths(block.lengths),
        executor.submit(encode_names, block.names),
        executor.submit(streams.encode_bases, block.seq, block.lengths, params),
        executor.submit(streams.encode_qualities, block.qual, block.lengths, params),
    )


def compress_stream(src: BinaryIO, dst: BinaryIO, level: int, threads: int, name: str | None = None,
                    mtime: int | None = None, progress: Callable[[int], None] | None = None) -> Stats:
    params = levels.params_for_level(level)
    header = {"creator": f"lstmzip {__version__}", "level": level, "params": params, "name": name, "mtime": mtime}
    writer = container.ArchiveWriter(dst, header)
    stats = Stats()
    started = time.monotonic()
    executor = make_executor(threads)
    pending: deque = deque()
    depth = 1 if isinstance(executor, _Inline) else 2

    def finish_one() -> None:
        block, raw, parts = pending.popleft()
        coded = [part.result() if isinstance(part, Future) else part for part in parts]
        writer.write_block(block.records, len(raw), len(block.seq), coded, xxhash.xxh64_intdigest(raw))
        stats.records += block.records
        stats.bases += len(block.seq)
        stats.raw_bytes += len(raw)
        for key, part in zip(streams.STREAM_NAMES, coded):
            stats.stream_bytes[key] += len(part)
        if progress:
            progress(len(raw))

    try:
        for block in read_blocks(src, params["block_records"], params["block_bytes"]):
            raw = format_block(block)
            pending.append((block, raw, _encode_block(executor, block, params)))
            while len(pending) > depth:
                finish_one()
        while pending:
            finish_one()
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
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
    executor = make_executor(threads)
    pending: deque = deque()
    depth = 1 if isinstance(executor, _Inline) else 2

    def finish_one() -> None:
        info, block_number, layout, plus_texts, final_newline, lengths, parts = pending.popleft()
        try:
            names, seq, qual = (part.result() for part in parts)
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

    try:
        for number, (info, parts) in enumerate(container.read_blocks(src, params, header_size), 1):
            layout, plus_texts, final_newline = streams.decode_layout(parts[0], info.records, info.raw_size)
            lengths = streams.decode_lengths(parts[1], info.records, info.raw_size)
            if int(lengths.sum()) != info.bases:
                raise CorruptArchiveError(f"block {number}: read lengths do not match the block header")
            for key, part in zip(streams.STREAM_NAMES, parts):
                stats.stream_bytes[key] += len(part)
            tasks = [executor.submit(_decode_part, kind, data, lengths, params, info.records)
                     for kind, data in zip(("names", "bases", "qualities"), parts[2:])]
            pending.append((info, number, layout, plus_texts, final_newline, lengths, tasks))
            while len(pending) > depth:
                finish_one()
        while pending:
            finish_one()
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    stats.seconds = time.monotonic() - started
    return header, stats
