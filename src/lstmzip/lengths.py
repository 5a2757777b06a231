"""The read lengths of a block, from a number in the names where the names carry them (format 3.1).

Names often state the read's length: SRA's `length=151`, or how much was trimmed off a fixed length
(ga2_ecoli's ` trim=6` on 100-base reads, nothing where none was). The lengths stream then says which
name token (as the name coder splits names, names/common.py) holds the number, its sign and an offset:
length = offset + sign * number (number 0 where the name has no such token or the token no digits),
plus the records where that is wrong. The token is named by its index (FROM_NAMES, 3.1) or, since 3.3,
as the one after a given text token (FROM_KEY: the number after ` trim`, wherever an optional word
before it, ga2_ecoli's ` correct`, shifts the indices). Everywhere else the lengths are stored as they
were before 3.1.

Stream (params["lengths_from_names"]): u8 mode, then for PLAIN the packed lengths, for FROM_NAMES and
FROM_KEY the sections [rule: the selector, then u8 sign (0 +, 1 -)], [offset, exception count] packed,
the exceptions' record gaps and their lengths, packed; the selector is the u8 token index (FROM_NAMES)
or the key token's bytes (FROM_KEY). The decoder needs the block's names first.
"""

from __future__ import annotations

import numpy as np

from . import packing
from .errors import CorruptArchiveError
from .names.common import _TOKEN

PLAIN, FROM_NAMES, FROM_KEY = 0, 1, 2
MAX_TOKEN = 16  # tokens of a name tried (the decoder refuses a larger index)
MAX_KEY_BYTES = 32  # the longest key token (the decoder refuses a longer one)
MAX_KEYS = 16  # key tokens tried: the most common before a number in the trial's names
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


def key_numbers(names: list[bytes], key: bytes) -> np.ndarray:
    """The number ending the token after each name's first `key` token (0 where there is none)."""
    out = np.zeros(len(names), dtype=np.int64)
    for i, name in enumerate(names):
        tokens = _TOKEN.findall(name)
        if key in tokens:
            at = tokens.index(key) + 1
            out[i] = _number(tokens[at]) if at < len(tokens) else 0
    return out


def _keys(names: list[bytes]) -> list[bytes]:
    """The tokens without digits that come before a number in these names, the most common first."""
    seen: dict[bytes, int] = {}
    for name in names:
        tokens = _TOKEN.findall(name)
        for key, after in zip(tokens, tokens[1:]):
            if key and len(key) <= MAX_KEY_BYTES and not key[-1:].isdigit() and _number(after):
                seen[key] = seen.get(key, 0) + 1
    return sorted(seen, key=lambda key: -seen[key])[:MAX_KEYS]


def _numbers(mode: int, selector: bytes, names: list[bytes]) -> np.ndarray:
    """Each name's number under a rule's selector: a token index (FROM_NAMES) or key token (FROM_KEY)."""
    return token_numbers(names, selector[0]) if mode == FROM_NAMES else key_numbers(names, selector)


def _best_rule(lengths: np.ndarray, names: list[bytes]) -> tuple[int, int, bytes, int, int] | None:
    """(matches, mode, selector, sign, offset) of the rule that predicts the most lengths (the first
    such one), or None."""
    best = None
    tried = [(FROM_NAMES, bytes([token])) for token in range(MAX_TOKEN)] + [(FROM_KEY, key) for key in _keys(names)]
    for mode, selector in tried:
        numbers = _numbers(mode, selector, names)
        if not numbers.any():
            continue
        for sign in (1, -1):
            offsets = lengths - sign * numbers
            values, counts = np.unique(offsets, return_counts=True)
            offset = int(values[np.argmax(counts)])
            if offset >= 0 and (best is None or counts.max() > best[0]):
                best = (int(counts.max()), mode, selector, sign, offset)
    return best


def encode(lengths: np.ndarray, names: list[bytes]) -> bytes:
    plain = bytes([PLAIN]) + packing.pack_ints(lengths)
    # The decoder then reads every name's tokens (a few microseconds a name): only where that saves a bit
    # a name or more. Never for reads of one length, whose plain stream is a few bytes.
    required = MIN_SAVING + len(names) // 8
    if len(plain) <= required:
        return plain
    trial = min(len(names), TRIAL_NAMES)
    best = _best_rule(lengths[:trial], names[:trial]) if trial else None
    if best is None or best[0] < trial // 2:
        return plain
    _, mode, selector, sign, offset = best
    predicted = offset + sign * _numbers(mode, selector, names)
    wrong = np.flatnonzero(predicted != lengths)
    derived = bytes([mode]) + packing.join_sections([
        selector + bytes([0 if sign > 0 else 1]),
        packing.pack_ints(np.array([offset, len(wrong)])),
        packing.pack_ints(np.diff(wrong, prepend=-1)),
        packing.pack_ints(lengths[wrong]),
    ])
    return derived if len(derived) + required <= len(plain) else plain


def decode(data: bytes, records: int, names) -> np.ndarray:
    """names(): the block's names (decoded only where the lengths follow from them)."""
    if not data or data[0] not in (PLAIN, FROM_NAMES, FROM_KEY):
        raise CorruptArchiveError("read lengths stream has an unknown mode")
    mode = data[0]
    if mode == PLAIN:
        return packing.unpack_ints(data[1:], records)
    rule, head, gaps, exceptions = packing.split_sections(data[1:], 4)
    selector = rule[:-1]
    if not rule or rule[-1] > 1 or (len(selector) != 1 or selector[0] >= MAX_TOKEN if mode == FROM_NAMES
                                    else not 1 <= len(selector) <= MAX_KEY_BYTES):
        raise CorruptArchiveError("read lengths stream has a bad rule")
    offset, n_wrong = (int(x) for x in packing.unpack_ints(head, 2))
    if n_wrong > records or offset >= 1 << 40:
        raise CorruptArchiveError("read lengths stream has a bad rule")
    wrong = np.cumsum(packing.unpack_ints(gaps, n_wrong)) - 1
    if n_wrong and (wrong[0] < 0 or (np.diff(wrong) <= 0).any() or wrong[-1] >= records):
        raise CorruptArchiveError("read length exceptions are out of range")
    lengths = offset + (1 - 2 * rule[-1]) * _numbers(mode, selector, names())
    lengths[wrong] = packing.unpack_ints(exceptions, n_wrong)
    return lengths
