"""The read lengths of a block, from a number in the names where the names carry them (format 3.1).

Names often state the read's length: SRA's `length=151`, or how much was trimmed off a fixed length
(ga2_ecoli's ` trim=6` on 100-base reads, nothing where none was). The lengths stream then says which
name token (as the name coder splits names, names/common.py) holds the number, its sign and an offset:
length = offset + sign * number (number 0 where the name has no such token or the token no digits),
plus the records where that is wrong. Everywhere else the lengths are stored as they were before 3.1.

Stream (params["lengths_from_names"]): u8 mode, then for PLAIN the packed lengths, for FROM_NAMES the
sections [u8 token, u8 sign (0 +, 1 -)], [offset, exception count] packed, the exceptions' record gaps
and their lengths, packed. The decoder needs the block's names first.
"""

from __future__ import annotations

import numpy as np

from . import packing
from .errors import CorruptArchiveError
from .names.common import _TOKEN

PLAIN, FROM_NAMES = 0, 1
MAX_TOKEN = 16  # tokens of a name tried (the decoder refuses a larger index)
TRIAL_NAMES = 1000  # a rule must hold for half of the first names to be tried on all
MAX_NUMBER_DIGITS = 9
MIN_SAVING = 64  # bytes the derived stream must save, and an eighth of a byte a name


def _number(token: bytes) -> int:
    digits = token[len(token.rstrip(b"0123456789")):]
    return int(digits) if digits and len(digits) <= MAX_NUMBER_DIGITS else 0


def token_numbers(names: list[bytes], token: int) -> np.ndarray:
    """The number ending each name's token (0 where it has none)."""
    out = np.zeros(len(names), dtype=np.int64)
    for i, name in enumerate(names):
        tokens = _TOKEN.findall(name)
        if token < len(tokens):
            out[i] = _number(tokens[token])
    return out


def _numbers(names: list[bytes]) -> np.ndarray:
    """(names, MAX_TOKEN): the number ending each of a name's first tokens, 0 where there is none (for
    the trial's few names only)."""
    return np.stack([token_numbers(names, token) for token in range(MAX_TOKEN)], axis=1)


def _best_rule(lengths: np.ndarray, numbers: np.ndarray) -> tuple[int, int, int, int] | None:
    """(matches, token, sign, offset) of the rule that predicts the most lengths, or None."""
    best = None
    for token in range(numbers.shape[1]):
        if not numbers[:, token].any():
            continue
        for sign in (1, -1):
            offsets = lengths - sign * numbers[:, token]
            values, counts = np.unique(offsets, return_counts=True)
            offset = int(values[np.argmax(counts)])
            if offset >= 0 and (best is None or counts.max() > best[0]):
                best = (int(counts.max()), token, sign, offset)
    return best


def encode(lengths: np.ndarray, names: list[bytes]) -> bytes:
    plain = bytes([PLAIN]) + packing.pack_ints(lengths)
    # The decoder then reads every name's tokens (a few microseconds a name): only where that saves a bit
    # a name or more. Never for reads of one length, whose plain stream is a few bytes.
    required = MIN_SAVING + len(names) // 8
    if len(plain) <= required:
        return plain
    trial = min(len(names), TRIAL_NAMES)
    rule = _best_rule(lengths[:trial], _numbers(names[:trial])) if trial else None
    if rule is None or rule[0] < trial // 2:
        return plain
    _, token, sign, offset = rule
    predicted = offset + sign * token_numbers(names, token)
    wrong = np.flatnonzero(predicted != lengths)
    derived = bytes([FROM_NAMES]) + packing.join_sections([
        bytes([token, 0 if sign > 0 else 1]),
        packing.pack_ints(np.array([offset, len(wrong)])),
        packing.pack_ints(np.diff(wrong, prepend=-1)),
        packing.pack_ints(lengths[wrong]),
    ])
    return derived if len(derived) + required <= len(plain) else plain


def decode(data: bytes, records: int, names) -> np.ndarray:
    """names(): the block's names (decoded only where the lengths follow from them)."""
    if not data or data[0] not in (PLAIN, FROM_NAMES):
        raise CorruptArchiveError("read lengths stream has an unknown mode")
    if data[0] == PLAIN:
        return packing.unpack_ints(data[1:], records)
    rule, head, gaps, exceptions = packing.split_sections(data[1:], 4)
    if len(rule) != 2 or rule[0] >= MAX_TOKEN or rule[1] > 1:
        raise CorruptArchiveError("read lengths stream has a bad rule")
    offset, n_wrong = (int(x) for x in packing.unpack_ints(head, 2))
    if n_wrong > records or offset >= 1 << 40:
        raise CorruptArchiveError("read lengths stream has a bad rule")
    wrong = np.cumsum(packing.unpack_ints(gaps, n_wrong)) - 1
    if n_wrong and (wrong[0] < 0 or (np.diff(wrong) <= 0).any() or wrong[-1] >= records):
        raise CorruptArchiveError("read length exceptions are out of range")
    lengths = offset + (1 - 2 * rule[1]) * token_numbers(names(), rule[0])
    lengths[wrong] = packing.unpack_ints(exceptions, n_wrong)
    return lengths
