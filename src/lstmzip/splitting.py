"""Cutting a FASTQ file into chunks at block boundaries (`lstmzip split`), the scatter step of a workflow:
each chunk holds whole blocks, cut exactly where compress cuts them (fastq.read_blocks, with the block
size of the level or model used), so each chunk compressed alone with the same model gives the very
blocks of the whole file's archive, and `lstmzip join` of the chunks' archives is that archive.

The file is read twice: once to find the blocks (and to refuse input that is not FASTQ before anything
is written), once to copy each chunk's bytes as they are. Chunks are plain FASTQ, also of gzip input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import LstmzipError
from .fastq import PLUS_NAME, Block, open_input, read_blocks
from .files import FASTQ_SUFFIXES, check_size_unchanged, open_source, output_files, regular_file_size

COPY_CHUNK = 1 << 22


def raw_size(block: Block) -> int:
    """The bytes the block's records take in the input (what fastq.format_block would give back)."""
    form = block.layout >> 4
    name_bytes = sum(map(len, block.names))
    plus_bytes = sum(len(name) for name, f in zip(block.names, form) if f == PLUS_NAME) + sum(map(len, block.plus_texts))
    carriage_returns = int(np.unpackbits((block.layout & 0x0F)[:, None], axis=1).sum())
    size = block.records * 6 + name_bytes + 2 * int(block.lengths.sum()) + plus_bytes + carriage_returns
    return size - (0 if block.final_newline or not block.records else 1)


def chunk_sizes(blocks: Iterator[Block], records: int | None, chunks: int | None) -> list[int]:
    """Bytes of each chunk: every `records` records or more, at the first block boundary (records), or
    `chunks` chunks of as many blocks as can be (the last ones empty if there are fewer blocks)."""
    sizes, counts = [], []
    for block in blocks:
        sizes.append(raw_size(block))
        counts.append(block.records)
    if chunks is not None:  # the first n % chunks chunks get one block more
        each, more = divmod(len(sizes), chunks)
        bounds = [i * each + min(i, more) for i in range(chunks + 1)]
        return [sum(sizes[a:b]) for a, b in zip(bounds, bounds[1:])]
    out, size, held = [], 0, 0
    for block_size, count in zip(sizes, counts):
        size, held = size + block_size, held + count
        if held >= records:
            out.append(size)
            size = held = 0
    return out + [size] if held or not out else out


def chunk_names(path: Path, prefix: str | None, count: int) -> list[Path]:
    """PREFIX.0001.fq, ... (four digits or as many as the count needs); the default prefix is the file's
    name without its FASTQ suffix, beside it."""
    if prefix is None:
        name = path.name
        stem = next((name[: -len(s)] for s in FASTQ_SUFFIXES if name.endswith(s) and len(name) > len(s)), name)
        prefix = str(path.with_name(stem))
    width = max(4, len(str(count)))
    return [Path(f"{prefix}.{i:0{width}d}.fq") for i in range(1, count + 1)]


def split_file(name: str, params: dict, *, records: int | None = None, chunks: int | None = None,
               prefix: str | None = None, force: bool = False) -> list[tuple[Path, int]]:
    """Cut a FASTQ file (plain or gzip) into chunks at block boundaries; returns each chunk's path and bytes."""
    if (records is None) == (chunks is None):
        raise ValueError("give either records or chunks")
    if (records if records is not None else chunks) < 1:
        raise ValueError("records and chunks must be at least 1")
    if name == "-":
        raise LstmzipError("split needs a file, not standard input (it reads the file twice)")
    source, path = open_source(name)
    with source:
        size = regular_file_size(source)
        blocks = read_blocks(open_input(source), params["block_records"], params["block_bytes"])
        sizes = chunk_sizes(blocks, records, chunks)
        check_size_unchanged(source, size)
        paths = chunk_names(path, prefix, len(sizes))
        source.seek(0)
        data = open_input(source)
        with output_files(paths, force) as outs:
            for out, left in zip(outs, sizes):
                while left:
                    part = data.read(min(left, COPY_CHUNK))
                    if not part:
                        raise LstmzipError("file changed while it was read (it ended early)")
                    out.write(part)
                    left -= len(part)
            if data.read(1):
                raise LstmzipError("file changed while it was read (it grew)")
            check_size_unchanged(source, size)
    return list(zip(paths, sizes))
