"""Batch layout: one coding step is one position for all reads of a block.

Reads are cut into rows of at most `width` symbols (so a 400 kbp read does not make 400,000 narrow
steps), rows are sorted longest first (rows of one length in file order, or interleaved), and symbols
are stored column-major: step p holds the symbol at
position p of rows 0 .. live[p]-1. Models keep per-row state and see whole columns at once.
"""

from dataclasses import dataclass

import numpy as np

from .levels import IN_FILE_ORDER, INTERLEAVED


@dataclass
class Rows:
    row_offset: np.ndarray  # int64, position of each row's first symbol within its read
    col_start: np.ndarray  # int64, step p occupies [col_start[p], col_start[p + 1]) of the column-major array
    row_start: np.ndarray  # int64, index of each row's first symbol in the read-major (concatenated) symbols

    @property
    def n_rows(self) -> int:
        return len(self.row_offset)

    @property
    def steps(self) -> int:
        return len(self.col_start) - 1

    def live(self, step: int) -> int:
        return int(self.col_start[step + 1] - self.col_start[step])

    def after(self, values, step: int, live: int, fill: int) -> np.ndarray:
        """values(step + 1, live') of rows 0..live-1 (uint8), `fill` for those that end at this step."""
        out = np.full(live, fill, dtype=np.uint8)
        if step + 1 < self.steps:
            after = self.live(step + 1)
            out[:after] = values(step + 1, after)
        return out

    # Both directions go one step at a time, so no index array the size of the block is ever built
    # (it would cost 4-8 bytes per symbol, more than the symbols themselves).
    def to_columns(self, flat: np.ndarray) -> np.ndarray:
        columns = np.empty(int(self.col_start[-1]), dtype=flat.dtype)
        for p in range(self.steps):
            columns[self.col_start[p] : self.col_start[p + 1]] = flat[self.row_start[: self.live(p)] + p]
        return columns

    def to_reads(self, columns: np.ndarray) -> np.ndarray:
        flat = np.empty_like(columns)
        for p in range(self.steps):
            flat[self.row_start[: self.live(p)] + p] = columns[self.col_start[p] : self.col_start[p + 1]]
        return flat


def _bit_reversed(n: int) -> np.ndarray:
    """i -> i with its bit_length(n) bits reversed, for i < n."""
    bits = max(1, int(n).bit_length())
    index = np.arange(n, dtype=np.int64)
    reversed_index = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        reversed_index |= ((index >> b) & 1) << (bits - 1 - b)
    return reversed_index


def make_rows(lengths: np.ndarray, width: int, order: int = IN_FILE_ORDER) -> Rows:
    """order: how rows of one length are ordered (IN_FILE_ORDER or INTERLEAVED)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    pieces = -(-lengths // width)  # rows per read; an empty read has none
    read_of_row = np.repeat(np.arange(len(lengths)), pieces)
    first_row = np.concatenate(([0], np.cumsum(pieces)[:-1]))
    row_offset = (np.arange(len(read_of_row)) - np.repeat(first_row, pieces)) * width
    row_len = np.minimum(width, lengths[read_of_row] - row_offset)
    read_start = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    if order == INTERLEAVED:
        # reads of one length in bit-reversed order: neighbours in the file (overlapping or duplicate reads
        # of a sorted export) land in different chunks of a step, so the later one sees the earlier one
        by_length = np.lexsort((_bit_reversed(len(row_len)), -row_len))
    else:
        by_length = np.argsort(-row_len, kind="stable")
    row_offset, row_len = row_offset[by_length], row_len[by_length]
    row_start = read_start[read_of_row[by_length]] + row_offset

    steps = int(row_len[0]) if len(row_len) else 0
    # rows are sorted by length, descending: live[p] = how many rows are longer than p
    live = np.searchsorted(-row_len, -np.arange(steps), side="left")
    col_start = np.concatenate(([0], np.cumsum(live)))
    return Rows(row_offset, col_start, row_start)
