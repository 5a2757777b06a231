"""Range coding of a column-major symbol array with a stepped predictor.

A predictor sees one step (one position of all live rows) at a time: `predict` gives the probability of
every symbol for a set of rows, `update` is told the step's true symbols. The encoder runs exactly the
decoder's sequence of calls, so both sides compute the same probabilities. Probabilities are integer
frequencies divided by a power of two or by their integer sum: exact in float64 on any machine.
"""

from __future__ import annotations

from typing import Callable, Protocol

import constriction
import numpy as np

from .errors import CorruptArchiveError
from .rows import Rows

# perfect=False: the fast, leaky quantisation; zero probabilities are lifted so every symbol is codable.
MODEL = constriction.stream.model.Categorical(perfect=False)
MAX_PROBABILITIES_PER_CALL = 1 << 21  # bounds the float64 table of one call
FIRST_CHUNK, MAX_CHUNK = 64, 8192


class SteppedPredictor(Protocol):
    alphabet: int

    def begin_step(self, step: int, live: int) -> None:
        """Rows 0..live-1 are about to be coded at this step."""

    def predict(self, step: int, rows: np.ndarray) -> np.ndarray:
        """float64 (len(rows), alphabet) probabilities for these rows at this step."""

    def update(self, step: int, first_row: int, symbols: np.ndarray, coded: np.ndarray) -> None:
        """The true symbols of rows first_row .. first_row + len(symbols) - 1 at this step; coded[i] is
        False where nothing was coded (the symbol is then 0)."""


def _chunks(live: int, alphabet: int):
    """Row ranges of one step. A step is coded in chunks that grow geometrically, and the model learns
    after each: a context seen for the first time in this step is learnt after a few rows, not after
    all of them. The schedule depends only on the step's width, so the decoder repeats it."""
    largest = max(1, min(MAX_CHUNK, MAX_PROBABILITIES_PER_CALL // alphabet))
    lo, size = 0, FIRST_CHUNK
    while lo < live:
        hi = min(live, lo + size)
        yield lo, hi
        lo, size = hi, min(largest, 2 * size)


def _walk(predictor: SteppedPredictor, rows: Rows, coded: np.ndarray):
    """The coding order, the same for both sides: per step and chunk, (step, span in the column-major
    array, first row, the chunk's coded rows)."""
    every = np.arange(MAX_CHUNK, dtype=np.int32)  # the usual case, all rows coded, without a search
    for step in range(rows.steps):
        start = rows.col_start[step]
        predictor.begin_step(step, rows.live(step))
        for lo, hi in _chunks(rows.live(step), predictor.alphabet):
            span = slice(start + lo, start + hi)
            mask = coded[span]
            yield step, span, lo, every[: hi - lo] if mask.all() else np.flatnonzero(mask).astype(np.int32)


def encode(predictor: SteppedPredictor, rows: Rows, symbols: np.ndarray, coded: np.ndarray,
           observe: Callable | None = None) -> bytes:
    """symbols: uint8 column-major symbol indices; coded: bool column-major (False = not coded, symbol 0).
    The model sees the same dtypes as in decode, so both run the same compiled code. observe(step, rows,
    symbols, probabilities) sees every coded chunk (costs.Costs.observer)."""
    symbols = np.asarray(symbols, dtype=np.uint8)
    encoder = constriction.stream.queue.RangeEncoder()
    for step, span, lo, which in _walk(predictor, rows, coded):
        chunk = symbols[span]
        if len(which):
            coded_symbols, probabilities = chunk[which].astype(np.int32), predictor.predict(step, which + lo)
            encoder.encode(coded_symbols, MODEL, probabilities)
            if observe is not None:
                observe(step, which + lo, coded_symbols, probabilities)
        predictor.update(step, lo, chunk, coded[span])
    return encoder.get_compressed().tobytes()


def decode(predictor: SteppedPredictor, rows: Rows, coded: np.ndarray, data: bytes,
           after_step: Callable[[int, np.ndarray], None] | None = None) -> np.ndarray:
    """after_step(step, symbols) is called once each step's symbols are all decoded (the array is still
    being filled: only steps up to `step` are final)."""
    if len(data) % 4:
        raise CorruptArchiveError("range-coded stream has a partial word")
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(data, dtype=np.uint32).copy())
    symbols = np.zeros(len(coded), dtype=np.uint8)  # every alphabet here has at most 256 symbols
    for step, span, lo, which in _walk(predictor, rows, coded):
        chunk = symbols[span]
        if len(which):
            try:
                chunk[which] = decoder.decode(MODEL, predictor.predict(step, which + lo))
            except Exception as error:  # constriction raises AssertionError on impossible data
                raise CorruptArchiveError(f"range-coded stream is corrupt ({error})") from None
        predictor.update(step, lo, chunk, coded[span])
        if after_step and span.stop == rows.col_start[step + 1]:
            after_step(step, symbols)
    return symbols
