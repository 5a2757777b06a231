"""Compress and decompress byte streams, block by block, with up to N worker processes.

The blocks are cut by content alone and every block is coded independently, so the archive is the same
for any number of workers. Within a block, names, bases and qualities are separate tasks, so even a
one-block file keeps two workers busy. At most a few blocks are in flight, which bounds memory.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from functools import partial
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

import numpy as np
import xxhash

from . import __version__, base_quals, container, costs, learning, levels, streams, workers
from .errors import CorruptArchiveError, LstmzipError
from .fastq import Block, format_block, read_blocks
from .learning import Learned
from .names import decode_names, encode_names


@dataclass
class Stats:
    records: int = 0
    bases: int = 0
    raw_bytes: int = 0
    stream_bytes: dict = field(default_factory=lambda: dict.fromkeys(streams.STREAM_NAMES, 0))
    seconds: float = 0.0
    learning: dict = field(default_factory=dict)
    archive_bytes: int = 0
    statistics_bytes: int = 0  # the statistics section, framing included


def _encode_bases(seq: np.ndarray, lengths: np.ndarray, params: dict, lstm) -> tuple[bytes, costs.Costs]:
    """The bases stream and what its symbols cost (for the statistics section)."""
    spent = costs.Costs.for_reads(lengths)
    return streams.encode_bases(seq, lengths, params, lstm, spent), spent


def _encode_qualities(qual: np.ndarray, lengths: np.ndarray, params: dict, lstm, seq) -> tuple[bytes, costs.Costs]:
    spent = costs.Costs.for_reads(lengths)
    return streams.encode_qualities(qual, lengths, params, lstm, seq, spent), spent


def _encode_block(pool, block: Block, params: dict, learned: Learned) -> list:
    return [
        pool.submit(streams.encode_layout, block),
        pool.submit(streams.encode_lengths, block.lengths),
        pool.submit(encode_names, block.names),
        pool.submit(_encode_bases, block.seq, block.lengths, params, learned.bases),
        pool.submit(_encode_qualities, block.qual, block.lengths, params, learned.qualities, block.seq),
    ]


def _coded_size(block: Block, params: dict, kind: str, learned: Learned, reads: np.ndarray) -> int:
    """Bytes of one stream for a subset of a block's reads, with the given models (for learning.fit)."""
    starts = np.concatenate(([0], np.cumsum(block.lengths)[:-1]))[reads]
    index = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, block.lengths[reads])])
    seq, lengths = block.seq[index], block.lengths[reads]
    if kind == "bases":
        return len(streams.encode_bases(seq, lengths, params, learned.bases))
    return len(streams.encode_qualities(block.qual[index], lengths, params, learned.qualities, seq))


def _learn(block: Block | None, params: dict) -> Learned:
    training = params["training"]
    if block is None or training is None or len(block.seq) < training["min_symbols"]:
        return Learned()  # -1 never trains; small inputs cannot pay for the weights
    return learning.fit(block.seq, block.qual, block.lengths, training, partial(_coded_size, block, params))


def compress_stream(src: BinaryIO, dst: BinaryIO, level: int, threads: int, name: str | None = None,
                    mtime: int | None = None, progress: Callable[[int], None] | None = None,
                    learned: Learned | None = None, block_bytes: int | None = None) -> Stats:
    """learned: use these models instead of training on the input (tests, golden files);
    block_bytes: cut blocks at this many input bytes instead of the level's size."""
    params = levels.params_for_level(level, block_bytes)
    stats = Stats()
    started = time.monotonic()
    blocks = read_blocks(src, params["block_records"], params["block_bytes"])
    first = next(blocks, None)
    if first is not None:  # the quality model that suits the file, by trial on its first reads
        params = base_quals.choose(params, first.seq, first.qual, first.lengths)
    learned = learned if learned is not None else _learn(first, params)
    stats.learning = learned.report
    # per-epoch losses and what each network saved, for reports; not the training time, which would make
    # the archive depend on the machine's load
    stored_report = {kind: {k: v for k, v in report.items() if k != "train_seconds"}
                     for kind, report in learned.report.items()}
    header = {"creator": f"lstmzip {__version__}", "level": level, "params": params, "name": name, "mtime": mtime,
              "learning": stored_report}
    writer = container.ArchiveWriter(dst, header, learned.to_bytes())
    pending: deque = deque()
    depth = 2 if threads != 1 else 0  # blocks in flight beyond the one being written
    spent = {"bases": costs.Costs(), "qualities": costs.Costs()}

    def finish_one() -> None:
        block, raw, parts = pending.popleft()
        coded = [part.get() for part in parts]
        for key, index in (("bases", 3), ("qualities", 4)):
            coded[index], block_costs = coded[index]
            spent[key] = spent[key].merged(block_costs)
        writer.write_block(block.records, len(raw), len(block.seq), coded, xxhash.xxh64_intdigest(raw))
        stats.records += block.records
        stats.bases += len(block.seq)
        stats.raw_bytes += len(raw)
        for key, part in zip(streams.STREAM_NAMES, coded):
            stats.stream_bytes[key] += len(part)
        if progress:
            progress(len(raw))

    with workers.for_threads(threads) as pool:
        for block in itertools.chain([first] if first else [], blocks):
            raw = format_block(block)
            pending.append((block, raw, _encode_block(pool, block, params, learned)))
            while len(pending) > depth:
                finish_one()
        while pending:
            finish_one()
    # at most 1/1000 of the archive, which is at least what has been written so far
    payload = costs.pack(spent["bases"], spent["qualities"], writer.offset // 1000 - container.SECTION_OVERHEAD)
    writer.close((costs.VERSION, payload))
    stats.statistics_bytes = len(payload) + container.SECTION_OVERHEAD
    stats.archive_bytes = writer.offset
    stats.seconds = time.monotonic() - started
    return stats


def _decode_tasks(pool, parts: list[bytes], lengths: np.ndarray, params: dict, learned: Learned,
                  info: container.BlockInfo, threads: int) -> list:
    names = pool.submit(decode_names, parts[2], info.records, info.raw_size)
    if learned.qualities or streams.quality_context_needs_bases(params):
        # the quality network (or model) reads the bases: one task, which decodes both in step
        return [names, pool.submit(streams.decode_bases_and_qualities, parts[3], parts[4], lengths, params,
                                   learned.bases, learned.qualities, threads)]
    return [names, pool.submit(streams.decode_bases, parts[3], lengths, params, learned.bases),
            pool.submit(streams.decode_qualities, parts[4], lengths, params)]


def _check_statistics(version: int, payload: bytes) -> None:
    """The statistics feed no decoding, but a damaged section is refused like any other damage (one of a
    later version, which this lstmzip cannot read, only has its checksum checked)."""
    if version == costs.VERSION:
        costs.unpack(payload)


def decompress_stream(src: BinaryIO, dst: BinaryIO | None, threads: int,
                      progress: Callable[[int], None] | None = None) -> tuple[dict, Stats]:
    """Decode an archive to dst (None: decode and verify only). Returns the header and the totals."""
    header, models, header_size = container.read_header(src)
    params = levels.check_params(header.get("params"))
    learned = Learned.from_bytes(models)
    stats = Stats()
    started = time.monotonic()
    pending: deque = deque()
    depth = 2 if threads != 1 else 0

    def finish_one() -> None:
        info, block_number, layout, plus_texts, final_newline, lengths, parts = pending.popleft()
        try:
            results = [part.get() for part in parts]
            names = results[0]
            seq, qual = results[1] if len(results) == 2 else results[1:]  # one task or two
        except workers.WorkerDied:
            raise  # this machine's trouble, not the archive's
        except LstmzipError as error:
            raise CorruptArchiveError(f"block {block_number}: {error}") from None
        except MemoryError:
            raise  # this machine's limit, not the archive's fault
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

    with workers.for_threads(threads) as pool:
        for number, (info, parts) in enumerate(container.read_blocks(src, params, header_size, _check_statistics), 1):
            layout, plus_texts, final_newline = streams.decode_layout(parts[0], info.records, info.raw_size)
            lengths = streams.decode_lengths(parts[1], info.records, info.raw_size)
            if int(lengths.sum()) != info.bases:
                raise CorruptArchiveError(f"block {number}: read lengths do not match the block header")
            for key, part in zip(streams.STREAM_NAMES, parts):
                stats.stream_bytes[key] += len(part)
            tasks = _decode_tasks(pool, parts, lengths, params, learned, info, workers.count(threads))
            pending.append((info, number, layout, plus_texts, final_newline, lengths, tasks))
            while len(pending) > depth:
                finish_one()
        while pending:
            finish_one()
    stats.seconds = time.monotonic() - started
    return header, stats
