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
from typing import BinaryIO, Callable, Iterable, Iterator

import numpy as np
import xxhash

from . import __version__, base_quals, container, costs, learning, levels, match, streams, workers
from .errors import CorruptArchiveError, LstmzipError
from .fastq import Block, format_block, read_blocks
from .members import Member, in_member, open_member
from .names import decode_names, encode_names
from .networks import Learned


@dataclass
class Stats:
    records: int = 0
    bases: int = 0
    raw_bytes: int = 0
    stream_bytes: dict = field(default_factory=lambda: dict.fromkeys(container.STREAM_NAMES, 0))
    seconds: float = 0.0
    learning: dict = field(default_factory=dict)
    untrained_because: str | None = None  # why no network was trained, for -v
    archive_bytes: int = 0  # compressing: what was written
    statistics_bytes: int = 0  # compressing: the statistics section, framing included
    blocks: int = 0
    members: int = 0
    mate1_names_bytes: int = 0  # paired archives, if asked for: mate 1's names coded alone (the rest is mate 2's)
    model: str | None = None  # compressing with a model file: its SHA-256


def _encode_bases(seq: np.ndarray, lengths: np.ndarray, params: dict, lstm,
                  threads: int = 1) -> tuple[bytes, costs.Costs]:
    """The bases stream and what its symbols cost (for the statistics section)."""
    spent = costs.Costs.for_reads(lengths)
    return streams.encode_bases(seq, lengths, params, lstm, spent, threads), spent


def _encode_qualities(qual: np.ndarray, lengths: np.ndarray, params: dict, lstm, seq,
                      threads: int = 1) -> tuple[bytes, costs.Costs]:
    spent = costs.Costs.for_reads(lengths)
    return streams.encode_qualities(qual, lengths, params, lstm, seq, spent, threads), spent


def _submit_streams(pool, block: Block, params: dict, learned: Learned, threads: int, parts: list | None = None,
                    qualities: bool = True) -> list:
    """Submit the coding tasks of a block's streams (container order) that parts does not hold yet (None):
    all of them, or (qualities=False) all but the qualities, whose model is still being chosen. threads:
    for a network's steps within its task."""
    parts = parts or [None] * 5
    if parts[0] is None:
        parts[:4] = [
            pool.submit(streams.encode_layout, block),
            pool.submit(streams.encode_lengths, block.lengths, block.names if params.get("lengths_from_names") else None),
            pool.submit(encode_names, block.names),
            pool.submit(_encode_bases, block.seq, block.lengths, params, learned.bases, threads),
        ]
    if qualities:
        parts[4] = pool.submit(_encode_qualities, block.qual, block.lengths, params, learned.qualities, block.seq,
                               threads)
    return parts


def _coded_size(block: Block, params: dict, kind: str, learned: Learned, reads: np.ndarray) -> int:
    """Bytes of one stream for a subset of a block's reads, with the given models (for learning.fit)."""
    starts = np.concatenate(([0], np.cumsum(block.lengths)[:-1]))[reads]
    index = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, block.lengths[reads])])
    seq, lengths = block.seq[index], block.lengths[reads]
    if kind == "bases":
        return len(streams.encode_bases(seq, lengths, params, learned.bases))
    return len(streams.encode_qualities(block.qual[index], lengths, params, learned.qualities, seq))


def learn(block: Block | None, params: dict, always: bool = False) -> tuple[Learned, str | None]:
    """The networks for this input, or none and why not (for -v). always: train however few bases the
    block has (a model file's sample)."""
    training = params["training"]
    if training is None:
        return Learned(), "this level trains no network"
    if block is None or not always and not _trains(block, params):
        return Learned(), (f"the first block has {0 if block is None else len(block.seq):,} bases; this level "
                           f"trains from {training['min_symbols']:,} (below, training costs more than it saves)")
    fitted = learning.fit(block.seq, block.qual, block.lengths, training, partial(_coded_size, block, params))
    return fitted, None if fitted.report else "the sample was too small to train on"


def with_coarse_qualities(params: dict) -> dict:
    """params with the coarse quality context (quals.py). compress_blocks adds it where it pays for its
    time: not at level 1 (the fastest), not beside a quality network, which smooths the counts itself and
    whose mixer already costs a pass over the alphabet per quality. base_quals.choose may still pick the
    model in a context of the bases, which has none. A model file fixes its parameters as they are (so that
    archives made with one model join)."""
    return dict(params, qualities=dict(params["qualities"], coarse=levels.COARSE_QUALITIES))


def _trains(block: Block | None, params: dict) -> bool:
    """Whether learn() trains networks for an input whose first block this is."""
    training = params["training"]
    return training is not None and block is not None and len(block.seq) >= training["min_symbols"]


def stored_report(report: dict) -> dict:
    """The training report as archives and model files store it: per-epoch losses and what each network
    saved, not the training time, which would make them depend on the machine's load."""
    return {kind: {k: v for k, v in each.items() if k != "train_seconds"} for kind, each in report.items()}


def _digest(raw: bytes, block: Block) -> int:
    """The block's content hash: xxh64 of its bytes, seeded 1 where mate 1's file ends here without a
    newline (which the bytes do not show), so that the hash covers all a block decodes to."""
    return xxhash.xxh64_intdigest(raw, seed=0 if block.mate1_newline else 1)


def compress_stream(src: BinaryIO, dst: BinaryIO, level: int, threads: int, name: str | None = None,
                    mtime: int | None = None, progress: Callable[[int], None] | None = None,
                    learned: Learned | None = None, block_bytes: int | None = None, model=None) -> Stats:
    """learned: use these models instead of training on the input (tests, golden files);
    block_bytes: cut blocks at this many input bytes instead of the level's size;
    model: a modelfile.Model, whose level, parameters and networks are used (level is then ignored)."""
    level, params, learned, about = setup(level, block_bytes, learned, model)
    blocks = read_blocks(src, params["block_records"], params["block_bytes"])
    return compress_blocks(blocks, dst, level, params, threads, {"name": name, "mtime": mtime, **about}, progress,
                           learned)


def setup(level: int, block_bytes: int | None, learned: Learned | None, model) -> tuple[int, dict, Learned | None, dict]:
    """Level, parameters, networks (None: train them) and the header's key naming the model, of a
    compression at this level or with this model."""
    if model is None:
        return level, levels.params_for_level(level, block_bytes), learned, {}
    return model.level, model.params_for(block_bytes), model.learned, {"model": model.sha256}


def compress_blocks(blocks: Iterable[Block], dst: BinaryIO, level: int, params: dict, threads: int, about: dict,
                    progress: Callable[[int], None] | None = None, learned: Learned | None = None,
                    mate1_names: bool = False) -> Stats:
    """Write an archive of these blocks (cut with params' sizes); about: the header's keys that describe the
    input (name, mtime; pair). mate1_names: also measure mate 1's names alone (paired input, for -v)."""
    stats = Stats(model=about.get("model"))
    started = time.monotonic()
    blocks = iter(blocks)
    first = next(blocks, None)
    # lengths.py (3.1): how the lengths stream is stored, not a model's choice, so archives made with a
    # model file have it too (and join with each other, though not with those of lstmzip before 3.1)
    params = dict(params, lengths_from_names=True)
    # the models that suit the file, by trials on its first reads; a model file fixes the choices (made on
    # its sample), so that archives made with one model join
    trial = first is not None and "model" not in about
    if trial:
        quality_network = learned.qualities is not None if learned is not None else _trains(first, params)
        if level > 1 and not quality_network:
            params = with_coarse_qualities(params)
        if level >= levels.TRIAL_LEVEL:
            params = match.choose_min_length(params, first.seq, first.lengths)
    # Without a network to train, the first block's streams other than the qualities are coded while the
    # qualities' model is tried on its first reads (the trial changes only params["qualities"]). Where one
    # trains, the trial and the training come first and the workers start after them: with the workers
    # beside TensorFlow's process, hiseq_phred64_dots peaked at 1,083 MiB PSS (issue 9 allows 1 GiB).
    early = trial and (learned is not None or not _trains(first, params))
    if trial and not early:
        params = base_quals.choose(params, first.seq, first.qual, first.lengths, level > 1)
    if learned is None:
        if first is not None:
            params = levels.sized_for(params, level, len(first.qual))
        learned, stats.untrained_because = learn(first, params)
    pending: deque = deque()
    depth = 2 if threads != 1 else 0  # blocks in flight beyond the one being written
    statistics = costs.Runs()

    def finish_one() -> None:
        block, raw, parts, mate1 = pending.popleft()
        coded = [part.get() for part in parts]
        (coded[3], base_costs), (coded[4], quality_costs) = coded[3], coded[4]
        writer.write_block(block.records, len(raw), len(block.seq), coded, _digest(raw, block))
        statistics.add_block(base_costs, quality_costs, writer.index[-1].stored)
        stats.records += block.records
        stats.bases += len(block.seq)
        stats.raw_bytes += len(raw)
        stats.blocks += 1
        for key, part in zip(container.STREAM_NAMES, coded):
            stats.stream_bytes[key] += len(part)
        if mate1 is not None:
            stats.mate1_names_bytes += len(mate1.get())
        if progress:
            progress(len(raw))

    network_threads = workers.count(threads)  # within a coding task
    with workers.for_threads(threads) as pool:
        first_parts = None
        if early:
            first_parts = _submit_streams(pool, first, params, learned, network_threads, qualities=False)
            params = base_quals.choose(params, first.seq, first.qual, first.lengths, level > 1, pool)
        stats.learning = learned.report
        header = {"creator": f"lstmzip {__version__}", "level": level, "params": params, **about,
                  "learning": stored_report(learned.report)}
        writer = container.ArchiveWriter(dst, header, learned.to_bytes())
        for block in itertools.chain([first] if first else [], blocks):
            raw = format_block(block)
            mate1 = pool.submit(encode_names, block.names[0::2]) if mate1_names else None
            parts = _submit_streams(pool, block, params, learned, network_threads, first_parts if block is first else None)
            pending.append((block, raw, parts, mate1))
            while len(pending) > depth:
                finish_one()
        while pending:
            finish_one()
    payload = statistics.pack()  # each block's share: at most 1/1000 of its bytes
    writer.close((costs.VERSION, payload))
    stats.statistics_bytes = len(payload) + container.SECTION_OVERHEAD
    stats.archive_bytes = writer.offset
    stats.members = 1
    stats.seconds = time.monotonic() - started
    return stats


def _decode_tasks(pool, parts: list[bytes], lengths: np.ndarray, params: dict, learned: Learned,
                  info: container.BlockInfo, threads: int, names=None) -> list:
    """names: the names' task, where the lengths needed them first."""
    names = names or pool.submit(decode_names, parts[2], info.records, info.raw_size)
    if learned.qualities or streams.quality_context_needs_bases(params):
        # the quality network (or model) reads the bases: one task, which decodes both in step
        return [names, pool.submit(streams.decode_bases_and_qualities, parts[3], parts[4], lengths, params,
                                   learned.bases, learned.qualities, threads)]
    return [names, pool.submit(streams.decode_bases, parts[3], lengths, params, learned.bases, None, threads),
            pool.submit(streams.decode_qualities, parts[4], lengths, params)]


def check_statistics(version: int, payload: bytes) -> None:
    """The statistics feed no decoding, but a damaged section is refused like any other damage (one of a
    later version, which this lstmzip cannot read, only has its checksum checked)."""
    if version == costs.VERSION:
        costs.unpack(payload)


@dataclass
class Decoded:
    """One decoded block: its columns and its exact bytes."""

    member: Member
    block: Block
    raw: bytes


def decode_members(src: BinaryIO, threads: int, progress: Callable[[int], None] | None = None,
                   stats: Stats | None = None, members: list[Member] | None = None) -> Iterator[Decoded]:
    """Every block of every member of an archive, in order, read front to back (a pipe will do).
    members: each member is appended to it when its header has been read."""

    def stored():
        start, number = b"", 1
        while True:
            try:
                header, models, header_size = container.read_header(src, start)
                member = open_member(number, header, models)
                if stats is not None:
                    stats.members += 1
                if members is not None:
                    members.append(member)
                for block_number, (info, parts) in enumerate(container.read_blocks(
                        src, member.params, header_size, member.paired, check_statistics), 1):
                    yield member, block_number, info, parts
            except CorruptArchiveError as error:
                raise in_member(number, error) from None
            start = container.next_member(src)
            if start is None:
                return
            number += 1

    return decode(stored(), threads, progress, stats)


def decode_at(f: BinaryIO, where: list[tuple[Member, int, int, container.BlockInfo]], threads: int,
              stats: Stats | None = None) -> Iterator[Decoded]:
    """The blocks the index found (member, block number, member's offset, index entry) of a seekable archive."""

    def stored():
        for member, number, member_offset, info in where:
            try:
                found, parts = container.read_block_at(f, member_offset, info, member.params, number, member.paired)
            except CorruptArchiveError as error:
                raise member.error(error) from None
            yield member, number, found, parts

    return decode(stored(), threads, None, stats)


def decode(stored: Iterator[tuple[Member, int, container.BlockInfo, list[bytes]]], threads: int,
           progress: Callable[[int], None] | None = None, stats: Stats | None = None) -> Iterator[Decoded]:
    """Decode stored blocks (member, number, block info, streams) in order, a few at a time in parallel."""
    stats = stats if stats is not None else Stats()
    started = time.monotonic()
    pending: deque = deque()
    depth = 2 if threads != 1 else 0

    def finish_one() -> Decoded:
        member, number, info, layout, plus_texts, final, lengths, parts = pending.popleft()
        try:
            results = [part.get() for part in parts]
            names = results[0]
            seq, qual = results[1] if len(results) == 2 else results[1:]  # one task or two
        except workers.WorkerDied:
            raise  # this machine's trouble, not the archive's
        except LstmzipError as error:
            raise member.error(CorruptArchiveError(f"block {number}: {error}")) from None
        except MemoryError:
            raise  # this machine's limit, not the archive's fault
        except Exception as error:  # a damaged stream that slipped past its checksum
            raise member.error(CorruptArchiveError(f"block {number} is corrupt ({type(error).__name__})")) from None
        block = Block(names, seq, qual, lengths, layout, plus_texts, bool(final & 1), not final & 2)
        raw = format_block(block)
        if len(raw) != info.raw_size or _digest(raw, block) != info.digest:
            raise member.error(CorruptArchiveError(f"block {number} decodes to wrong data (content hash mismatch)"))
        stats.records += info.records
        stats.bases += info.bases
        stats.raw_bytes += len(raw)
        stats.blocks += 1
        stats.seconds = time.monotonic() - started
        if progress:
            progress(len(raw))
        return Decoded(member, block, raw)

    with workers.for_threads(threads) as pool:
        for member, number, info, parts in stored:
            try:
                layout, plus_texts, final = streams.decode_layout(parts[0], info.records, info.raw_size, member.paired)
                names = None  # the names' task, where the lengths follow from the names
                if member.params.get("lengths_from_names"):
                    names = pool.submit(decode_names, parts[2], info.records, info.raw_size)
                lengths = streams.decode_lengths(parts[1], info.records, info.raw_size, names and names.get)
                if int(lengths.sum()) != info.bases:
                    raise CorruptArchiveError("read lengths do not match the block header")
            except CorruptArchiveError as error:
                raise member.error(CorruptArchiveError(f"block {number}: {error}")) from None
            except (workers.WorkerDied, MemoryError):
                raise  # this machine's trouble or limit, not the archive's fault
            except Exception as error:  # a damaged names stream that slipped past its checks
                raise member.error(CorruptArchiveError(f"block {number} is corrupt ({type(error).__name__})")) from None
            for key, part in zip(container.STREAM_NAMES, parts):
                stats.stream_bytes[key] += len(part)
            tasks = _decode_tasks(pool, parts, lengths, member.params, member.learned, info, workers.count(threads), names)
            pending.append((member, number, info, layout, plus_texts, final, lengths, tasks))
            while len(pending) > depth:
                yield finish_one()
        while pending:
            yield finish_one()


def decompress_stream(src: BinaryIO, dst: BinaryIO | None, threads: int,
                      progress: Callable[[int], None] | None = None) -> tuple[dict, Stats]:
    """Decode an archive, every member, to dst (None: decode and verify only). Returns the first member's
    header and the totals."""
    stats, members = Stats(), []
    for decoded in decode_members(src, threads, progress, stats, members):
        if dst is not None:
            dst.write(decoded.raw)
    return members[0].header, stats
