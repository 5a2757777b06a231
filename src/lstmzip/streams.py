"""A block's columns as independent streams, and back.

Streams: layout (line endings, '+' forms, final newline), lengths, names, bases, qualities. The bases
and qualities streams are the expensive ones; they are separate functions so worker processes can
code them in parallel. Decoders check every count against the block header before allocating.
"""

from __future__ import annotations

import numpy as np

from . import coder, packing
from .bases import BaseModel
from .errors import CorruptArchiveError
from .fastq import PLUS_OTHER, Block
from .learning import BASE_CODE
from .learning import BaseLSTMRun, QualityLSTMRun
from .lstm import QuantLSTM
from .quals import QualityModel
from .rows import Rows, make_rows

STREAM_NAMES = ("layout", "lengths", "names", "bases", "qualities")

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


def encode_lengths(lengths: np.ndarray) -> bytes:
    return packing.pack_ints(lengths)


def decode_lengths(data: bytes, records: int, raw_size: int) -> np.ndarray:
    lengths = packing.unpack_ints(data, records)
    if (lengths < 0).any() or 2 * int(lengths.sum()) > raw_size:
        raise CorruptArchiveError("read lengths do not match the block size")
    return lengths


def _base_model(params: dict, rows: Rows, lstm: QuantLSTM | None) -> BaseModel:
    run = BaseLSTMRun(lstm, rows.n_rows) if lstm else None
    return BaseModel(params["bases"], rows.n_rows, int(rows.col_start[-1]), run)


def _quality_model(params: dict, rows: Rows, alphabet: np.ndarray, lengths: np.ndarray, seq: np.ndarray,
                   lstm) -> QualityModel:
    model = QualityModel(params["qualities"], len(alphabet), rows.row_offset, int(lengths.max()))
    if lstm:
        model.lstm = QualityLSTMRun(lstm, alphabet, rows.to_columns(BASE_CODE[seq]), rows.col_start,
                                    rows.row_offset, model.position_shift + 3, params["qualities"]["mixer_rate"])
    return model


def encode_bases(seq: np.ndarray, lengths: np.ndarray, params: dict, lstm: QuantLSTM | None = None) -> bytes:
    """Case runs and non-ACGT exceptions go to side sections; A/C/G/T are range-coded by the base model."""
    lower = (seq >= ord("a")) & (seq <= ord("z"))
    upper = np.where(lower, seq & 0xDF, seq)
    case_changes = np.flatnonzero(np.diff(lower.astype(np.int8), prepend=0, append=0))
    symbols = BASE_CODE[upper]
    exceptions = np.flatnonzero(symbols == 4)
    rows = make_rows(lengths, params["row_width"])
    columns = rows.to_columns(symbols)
    coded = columns < 4
    columns[~coded] = 0
    words = coder.encode(_base_model(params, rows, lstm), rows, columns, coded)
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


def decode_bases(data: bytes, lengths: np.ndarray, params: dict, lstm: QuantLSTM | None = None) -> np.ndarray:
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
    rows = make_rows(lengths, params["row_width"])
    is_exception = np.zeros(total, dtype=bool)
    is_exception[exceptions] = True
    coded = rows.to_columns(~is_exception)
    columns = coder.decode(_base_model(params, rows, lstm), rows, coded, words)
    seq = BASE_LETTER[rows.to_reads(columns)]
    seq[exceptions] = letters
    if n_case:  # lowercase runs start and end at the case changes (a byte per base, no wider arrays)
        toggles = np.zeros(total + 1, dtype=np.uint8)
        toggles[case_changes] = 1
        seq[np.bitwise_xor.accumulate(toggles)[:total].view(bool)] |= 0x20
    return seq


def encode_qualities(qual: np.ndarray, lengths: np.ndarray, params: dict, lstm=None, seq=None) -> bytes:
    """lstm: a learning.QualityLSTM, which also needs the block's bases (seq)."""
    alphabet = np.flatnonzero(np.bincount(qual, minlength=256)).astype(np.uint8)
    words = b""
    if len(alphabet) > 1:  # one value (or none) needs no coding at all
        index = np.zeros(256, dtype=np.uint8)
        index[alphabet] = np.arange(len(alphabet))
        rows = make_rows(lengths, params["row_width"])
        columns = rows.to_columns(index[qual])
        model = _quality_model(params, rows, alphabet, lengths, seq, lstm)
        words = coder.encode(model, rows, columns, np.ones(len(columns), dtype=bool))
    return packing.join_sections([alphabet.tobytes(), words])


def decode_qualities(data: bytes, lengths: np.ndarray, params: dict, lstm=None, seq=None) -> np.ndarray:
    alphabet_bytes, words = packing.split_sections(data, 2)
    alphabet = np.frombuffer(alphabet_bytes, dtype=np.uint8)
    total = int(lengths.sum())
    if (total and not len(alphabet)) or (alphabet < 33).any() or (alphabet > 126).any() or (np.diff(alphabet.astype(int)) <= 0).any():
        raise CorruptArchiveError("quality alphabet is corrupt")
    if len(alphabet) <= 1:
        return np.full(total, alphabet[0] if len(alphabet) else 0, dtype=np.uint8)
    rows = make_rows(lengths, params["row_width"])
    model = _quality_model(params, rows, alphabet, lengths, seq, lstm)
    columns = coder.decode(model, rows, np.ones(total, dtype=bool), words)
    return alphabet[rows.to_reads(columns)]
