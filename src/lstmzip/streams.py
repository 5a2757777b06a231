"""A block's columns as independent streams, and back.

Streams: layout (line endings, '+' forms, final newline), lengths, names, bases, qualities. The bases
and qualities streams are the expensive ones; they are separate functions so worker processes can
code them in parallel. Decoders check every count against the block header before allocating.
"""

from __future__ import annotations

import threading

import numpy as np

from . import coder, packing
from . import lengths as read_lengths
from .base_quals import BaseContextQualityModel
from .bases import BaseModel
from .costs import Costs
from .errors import CorruptArchiveError
from .fastq import PLUS_OTHER, Block
from .learning import BASE_CODE
from .learning import BaseLSTMRun, QualityLSTMRun
from .networks import QuantLSTM
from .match import MatchModel
from .quals import QualityModel
from .rows import IN_FILE_ORDER, Rows, make_rows

BASE_LETTER = np.frombuffer(b"ACGT", dtype=np.uint8)


def encode_layout(block: Block) -> bytes:
    return packing.join_sections([
        packing.compress(block.layout.tobytes()),
        packing.compress(b"\n".join(block.plus_texts)),
        bytes([block.final_newline | (not block.mate1_newline) << 1]),
    ])


def decode_layout(data: bytes, records: int, raw_size: int, paired: bool = False) -> tuple[np.ndarray, list[bytes], int]:
    """The layout bytes, the '+' texts and the final byte: bit 0 the block's last line ends with a newline,
    bit 1 (paired archives only) mate 1's last record here ended its file without one."""
    layout_bytes, plus_bytes, final = packing.split_sections(data, 3)
    layout = np.frombuffer(packing.decompress(layout_bytes, records), dtype=np.uint8)
    if len(layout) != records or (layout >> 4 > PLUS_OTHER).any():
        raise CorruptArchiveError("layout stream does not match the block")
    n_other = int(np.count_nonzero(layout >> 4 == PLUS_OTHER))
    plus_texts = packing.decompress(plus_bytes, raw_size).split(b"\n") if n_other else []
    if len(plus_texts) != n_other or len(final) != 1 or final[0] > (3 if paired else 1):
        raise CorruptArchiveError("layout stream does not match the block")
    return layout, plus_texts, final[0]


def encode_lengths(lengths: np.ndarray, names: list[bytes] | None = None) -> bytes:
    """names: the block's, where the stream may take the lengths from them (params["lengths_from_names"],
    format 3.1: lengths.py); None: the lengths alone, as before."""
    return packing.pack_ints(lengths) if names is None else read_lengths.encode(lengths, names)


def decode_lengths(data: bytes, records: int, raw_size: int, names=None) -> np.ndarray:
    """names(): the block's names, where the stream is of params["lengths_from_names"]; None: before."""
    lengths = packing.unpack_ints(data, records) if names is None else read_lengths.decode(data, records, names)
    if (lengths < 0).any() or 2 * int(lengths.sum()) > raw_size:
        raise CorruptArchiveError("read lengths do not match the block size")
    return lengths


def first_reads(lengths: np.ndarray, symbols: int) -> np.ndarray:
    """The lengths of a block's first reads, up to the one that reaches this many symbols (the samples
    on which compress tries a model's parameters)."""
    return lengths[: int(np.searchsorted(np.cumsum(lengths), symbols)) + 1]


def _rows(lengths: np.ndarray, params: dict) -> Rows:
    return make_rows(lengths, params["row_width"], params.get("row_order", IN_FILE_ORDER))


def _base_model(params: dict, rows: Rows, lstm: QuantLSTM | None, threads: int = 1) -> BaseModel:
    """threads: for the network's steps (lstm.LSTMRunner); the result does not depend on it."""
    run = BaseLSTMRun(lstm, rows.n_rows, threads) if lstm else None
    match = MatchModel(params["bases"]["match"], rows) if params["bases"].get("match") else None
    return BaseModel(params["bases"], rows.n_rows, int(rows.col_start[-1]), run, match)


def _quality_model(params: dict, rows: Rows, alphabet: np.ndarray, lengths: np.ndarray, base_codes,
                   lstm, threads: int = 1) -> QualityModel | BaseContextQualityModel:
    """base_codes(step, live): the base codes the quality network, or a model with a base context, reads
    (see QualityLSTMRun); threads: for the network's steps."""
    if quality_context_needs_bases(params):
        model = BaseContextQualityModel(params["qualities"], len(alphabet), rows, base_codes)
    else:
        model = QualityModel(params["qualities"], len(alphabet), rows.row_offset, int(lengths.max()))
    if lstm:
        model.lstm = QualityLSTMRun(lstm, alphabet, base_codes, rows, model.position_shift + 3,
                                    params["qualities"]["mixer_rate"], threads)
    return model


def quality_context_needs_bases(params: dict) -> bool:
    """Whether the quality model itself reads the bases (then they are decoded with the qualities, as for
    a quality network)."""
    return bool(params["qualities"].get("base_context"))


def _known_base_codes(seq: np.ndarray, rows: Rows):
    columns = rows.to_columns(BASE_CODE[seq])
    return lambda step, live: columns[rows.col_start[step] : rows.col_start[step] + live]


class DecodedBases:
    """The base codes of a block as the base decoder finishes each step, for a quality decoder running
    beside it (in another thread): step p of the qualities needs only steps up to p of the bases."""

    def __init__(self, rows: Rows):
        self.rows, self.done, self.error, self.stopped = rows, -1, None, False
        self.changed = threading.Condition()

    def step_done(self, step: int, symbols: np.ndarray, coded: np.ndarray) -> None:
        with self.changed:
            if self.stopped:
                raise _Stopped
            self.symbols, self.coded, self.done = symbols, coded, step
            self.changed.notify_all()

    def fail(self, error: BaseException) -> None:
        with self.changed:
            self.error = error
            self.changed.notify_all()

    def stop(self) -> None:
        """The quality decoder gave up: the base decoder stops at its next step."""
        with self.changed:
            self.stopped = True

    def codes(self, step: int, live: int) -> np.ndarray:
        with self.changed:
            self.changed.wait_for(lambda: self.done >= step or self.error is not None)
            if self.done < step:
                raise CorruptArchiveError("the base stream could not be decoded")
            span = slice(self.rows.col_start[step], self.rows.col_start[step] + live)
            return np.where(self.coded[span], self.symbols[span], 4).astype(np.uint8)


class _Stopped(Exception):
    pass


def encode_bases(seq: np.ndarray, lengths: np.ndarray, params: dict, lstm: QuantLSTM | None = None,
                 costs: Costs | None = None, threads: int = 1) -> bytes:
    """Case runs and non-ACGT exceptions go to side sections; A/C/G/T are range-coded by the base model.
    costs: where to add what each coded base cost; threads: for the network (never changes the bytes)."""
    lower = (seq >= ord("a")) & (seq <= ord("z"))
    upper = np.where(lower, seq & 0xDF, seq)
    case_changes = np.flatnonzero(np.diff(lower.astype(np.int8), prepend=0, append=0))
    symbols = BASE_CODE[upper]
    exceptions = np.flatnonzero(symbols == 4)
    rows = _rows(lengths, params)
    columns = rows.to_columns(symbols)
    coded = columns < 4
    columns[~coded] = 0
    observe = costs.observer(rows) if costs is not None else None
    words = coder.encode(_base_model(params, rows, lstm, threads), rows, columns, coded, observe)
    return packing.join_sections([
        np.array([len(case_changes), len(exceptions)], dtype="<u8").tobytes(),
        packing.pack_ints(np.diff(case_changes, prepend=0)),
        packing.pack_ints(np.diff(exceptions, prepend=-1)),
        packing.compress(upper[exceptions].tobytes()),
        words,
    ])


def _positions(gaps: bytes, count: int, start: int, total: int) -> np.ndarray:
    positions = np.cumsum(packing.unpack_ints(gaps, count)) + start
    if count and (positions[0] < 0 or (np.diff(positions) <= 0).any() or positions[-1] > total):
        raise CorruptArchiveError("base exceptions are out of range")
    return positions


def decode_bases(data: bytes, lengths: np.ndarray, params: dict, lstm: QuantLSTM | None = None,
                 published: DecodedBases | None = None, threads: int = 1) -> np.ndarray:
    """published: tell it each step as it is decoded; threads: for the network."""
    counts, case_gaps, exception_gaps, exception_bytes, words = packing.split_sections(data, 5)
    total = int(lengths.sum())
    if len(counts) != 16:
        raise CorruptArchiveError("base stream header is corrupt")
    n_case, n_exceptions = (int(x) for x in np.frombuffer(counts, dtype="<u8"))
    if n_case > total + 1 or n_exceptions > total:
        raise CorruptArchiveError("base exception counts exceed the block")
    case_changes = _positions(case_gaps, n_case, 0, total)
    exceptions = _positions(exception_gaps, n_exceptions, -1, total - 1)
    letters = np.frombuffer(packing.decompress(exception_bytes, n_exceptions), dtype=np.uint8)
    if len(letters) != n_exceptions or n_case % 2:
        raise CorruptArchiveError("base exceptions do not match the block")
    rows = _rows(lengths, params)
    is_exception = np.zeros(total, dtype=bool)
    is_exception[exceptions] = True
    coded = rows.to_columns(~is_exception)
    after_step = (lambda step, symbols: published.step_done(step, symbols, coded)) if published else None
    columns = coder.decode(_base_model(params, rows, lstm, threads), rows, coded, words, after_step)
    seq = BASE_LETTER[rows.to_reads(columns)]
    seq[exceptions] = letters
    if n_case:  # lowercase runs start and end at the case changes (a byte per base, no wider arrays)
        toggles = np.zeros(total + 1, dtype=np.uint8)
        toggles[case_changes] = 1
        seq[np.bitwise_xor.accumulate(toggles)[:total].view(bool)] |= 0x20
    return seq


def encode_qualities(qual: np.ndarray, lengths: np.ndarray, params: dict, lstm=None, seq=None,
                     costs: Costs | None = None, threads: int = 1) -> bytes:
    """lstm: a networks.QualityLSTM, which also needs the block's bases (seq). costs: where to add what
    each coded quality cost, by position and by the base it belongs to (seq); threads: for the network."""
    alphabet = np.flatnonzero(np.bincount(qual, minlength=256)).astype(np.uint8)
    words = b""
    if len(alphabet) > 1:  # one value (or none) needs no coding at all
        index = np.zeros(256, dtype=np.uint8)
        index[alphabet] = np.arange(len(alphabet))
        rows = _rows(lengths, params)
        columns = rows.to_columns(index[qual])
        if costs is not None and seq is None:
            raise ValueError("the costs of qualities are counted by base: seq is needed")
        base_codes = _known_base_codes(seq, rows) if seq is not None else None
        model = _quality_model(params, rows, alphabet, lengths, base_codes, lstm, threads)
        observe = costs.observer(rows, BASE_CODE[seq]) if costs is not None else None
        words = coder.encode(model, rows, columns, np.ones(len(columns), dtype=bool), observe)
    return packing.join_sections([alphabet.tobytes(), words])


def decode_qualities(data: bytes, lengths: np.ndarray, params: dict, lstm=None, base_codes=None,
                     threads: int = 1) -> np.ndarray:
    """lstm: a networks.QualityLSTM; base_codes(step, live) then gives the bases it reads (see
    decode_bases_and_qualities); threads: for the network."""
    alphabet_bytes, words = packing.split_sections(data, 2)
    alphabet = np.frombuffer(alphabet_bytes, dtype=np.uint8)
    total = int(lengths.sum())
    if (total and not len(alphabet)) or (alphabet < 33).any() or (alphabet > 126).any() or (np.diff(alphabet.astype(int)) <= 0).any():
        raise CorruptArchiveError("quality alphabet is corrupt")
    if len(alphabet) <= 1:
        return np.full(total, alphabet[0] if len(alphabet) else 0, dtype=np.uint8)
    rows = _rows(lengths, params)
    model = _quality_model(params, rows, alphabet, lengths, base_codes, lstm, threads)
    columns = coder.decode(model, rows, np.ones(total, dtype=bool), words)
    return alphabet[rows.to_reads(columns)]


def decode_bases_and_qualities(bases: bytes, qualities: bytes, lengths: np.ndarray, params: dict,
                               base_lstm: QuantLSTM | None, quality_lstm, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Both streams of a block whose quality network reads the bases. With two threads, the bases are
    decoded in a second thread, a step ahead of the qualities (the heavy loops release the GIL), and the
    quality network's steps are shared by two threads more; with one, one after the other. The result is
    the same."""
    if threads < 2:
        seq = decode_bases(bases, lengths, params, base_lstm)
        return seq, decode_qualities(qualities, lengths, params, quality_lstm,
                                     _known_base_codes(seq, _rows(lengths, params)))
    published = DecodedBases(_rows(lengths, params))
    result = {}

    def run_bases() -> None:
        try:
            result["seq"] = decode_bases(bases, lengths, params, base_lstm, published, threads)
        except _Stopped:
            pass
        except BaseException as error:  # handed to the quality decoder, which raises it
            result["error"] = error
            published.fail(error)

    thread = threading.Thread(target=run_bases, daemon=True)
    thread.start()
    try:
        qual = decode_qualities(qualities, lengths, params, quality_lstm, published.codes, threads)
    except BaseException:
        published.stop()
        thread.join()
        if "error" in result:
            raise result["error"] from None  # the bases' fault came first
        raise
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["seq"], qual
