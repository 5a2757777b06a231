"""Encoding of read names: tokens, columns and streams (the format is described in names/__init__.py)."""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from itertools import chain, compress, repeat, zip_longest
from operator import ne

from .common import (
    _ABSENT, _DELTA_DOWN, _DELTA_DOWN2, _DELTA_UP, _DELTA_UP2, _DICT_BASE, _DICT_INLINE, _DICT_MAX,
    _DICT_WIDE, _DIGITS, _DNA, _MAX_DIGITS, _MAX_DNA, _MAX_RATIO, _MAX_SPARSE, _MAX_TOKENS, _NUM, _NoGC,
    _PLAIN, _PUNCT, _SAMPLE, _STR, _TOKEN, _TO_BASE4, _VERSION, _lzma_filter
)


def encode_names(names: list[bytes]) -> bytes:
    """Code a list of read names (bytes objects without b'\\n') as one blob."""
    if any(map(bytes.__contains__, names, repeat(b"\n"))):
        raise ValueError("a read name may not contain a newline")
    data = _encode_tokenised(names)
    if len(data) > (sum(map(len, names)) + len(names)) // 4:
        # Names with little structure (random bytes, say) can come out bigger
        # than as plain text; then store them as text.
        plain = bytes([_PLAIN]) + _varint(len(names)) + _pack_stream(b"\n".join(names))
        if len(plain) < len(data):
            return plain
    return data


def _encode_tokenised(names: list[bytes]) -> bytes:
    with _NoGC():
        tokens = list(map(_TOKEN.findall, names))
        if tokens and max(map(len, tokens)) > _MAX_TOKENS:
            # Bound the column count (memory is columns x names): the rest
            # of a very long name becomes one token.
            for t in tokens:
                if len(t) > _MAX_TOKENS:
                    t[_MAX_TOKENS - 1 :] = [b"".join(t[_MAX_TOKENS - 1 :])]
        # Column j holds token j of every name, b'' where a name is shorter.
        cols = list(zip_longest(*tokens, fillvalue=b""))
        del tokens
        if cols and not any(cols[-1]):
            cols.pop()  # the column of trailing empty matches, all b''
        coded = list(map(_encode_column, cols))
        start = _tail_start(cols)
        if start is not None:
            tail = _encode_column(tuple(map(b"".join, zip(*cols[start:]))))
            if len(tail) < sum(map(len, coded[start:])):
                coded[start:] = [tail]
        parts = [bytes([_VERSION]), _varint(len(names)), _varint(len(coded))]
        parts.extend(coded)
    return b"".join(parts)


_TAIL_VARIANTS = 4  # a tail is tried where the first names repeat each of its variants this often on average


def _tail_start(cols: list[tuple]) -> int | None:
    """The column from which the names' last tokens code smaller as one token, on the first names, or
    None. Where an optional word shifts the tokens after it (ga2_ecoli's ' correct' before ' trim=6'),
    each column holds a mix of the words and numbers, and the whole tail as one token (a dictionary
    entry per variant) codes in two thirds of the bytes. The decoder only joins the tokens."""
    sample = [col[:_SAMPLE] for col in cols]
    costs: dict[int, int] = {}
    best, saving = None, 0
    for start in range(1, len(sample) - 1):
        tail = tuple(map(b"".join, zip(*sample[start:])))
        if len(set(tail)) > len(tail) // _TAIL_VARIANTS:
            continue  # mostly different tails: each would be spelt out in full
        for j in range(start, len(sample)):
            if j not in costs:
                costs[j] = len(_encode_column(sample[j]))
        gain = sum(costs[j] for j in range(start, len(sample))) - len(_encode_column(tail))
        if gain > saving:
            best, saving = start, gain
    return best


def _encode_column(col: tuple) -> bytes:
    types = bytearray(len(col))  # T; _MATCH where not set below
    deltas = bytearray()  # D
    dna_lens = bytearray()  # L
    dna = []  # B, packed at the end
    strs = []  # S
    dict_wide = bytearray()  # I
    seen = {}  # token -> dictionary index
    # Numbers that are not a small delta: position, value, difference to the
    # previous number (0 if there is none); they become NUM or wide deltas.
    big = []

    # Positions where the token differs from the previous name's, found at C
    # speed; a constant column (the common case) is quicker to spot as such.
    if col[1:] == col[:-1]:
        events = [0] if col[0] else []
    else:
        events = compress(range(len(col)), map(ne, col, chain((b"",), col)))

    # Head and number of the token at position `parsed`, kept so that in a
    # column of changing numbers each token is parsed once.
    parsed, parsed_head, parsed_value = -1, b"", None
    for i in events:
        tok = col[i]
        if not tok:
            types[i] = _ABSENT
            continue
        if 47 < tok[-1] < 58:  # ends in a digit: try a number
            head = tok.rstrip(_DIGITS)
            digits = tok[len(head) :]
            # Only canonical digit text: "007" must come back as "007".
            if len(digits) <= _MAX_DIGITS and (digits[0] != 48 or len(digits) == 1):
                value = int(digits)
                if parsed != i - 1:
                    prev = col[i - 1] if i else b""
                    parsed_head = prev.rstrip(_DIGITS)
                    prev_digits = prev[len(parsed_head) :]
                    parsed_value = None
                    if prev_digits and len(prev_digits) <= _MAX_DIGITS:
                        parsed_value = int(prev_digits)
                prev_head, prev_value = parsed_head, parsed_value
                parsed, parsed_head, parsed_value = i, head, value
                if prev_head == head:
                    d = 0
                    if prev_value is not None:
                        d = value - prev_value
                        if 0 <= d < 256:
                            types[i] = _DELTA_UP
                            deltas.append(d)
                            continue
                        if -256 < d < 0:
                            types[i] = _DELTA_DOWN
                            deltas.append(-d)
                            continue
                    if value < 1 << 32:
                        big.append((i, value, d))
                        continue
        prev = col[i - 1] if i else b""
        # Text: seen before, DNA, or verbatim.
        k = seen.get(tok)
        if k is not None:
            if k < _DICT_INLINE:
                types[i] = _DICT_BASE + k
            else:
                types[i] = _DICT_WIDE
                dict_wide += (k - _DICT_INLINE).to_bytes(2, "big")
            continue
        body = tok.lstrip(_PUNCT)
        npre = len(tok) - len(body)
        if (
            body
            and len(body) <= _MAX_DNA
            and not body.translate(None, b"ACGT")
            and len(prev) - len(prev.lstrip(_PUNCT)) == npre
            and prev[:npre] == tok[:npre]
        ):
            types[i] = _DNA
            dna_lens.append(len(body))
            dna.append(body)
        else:
            types[i] = _STR
            strs.append(tok)
        if len(seen) < _DICT_MAX:
            seen[tok] = len(seen)

    width, wide_deltas, nums = _code_numbers(types, big)

    return b"".join(
        [
            bytes([width]),
            _pack_stream(bytes(types)),
            _pack_stream(bytes(deltas)),
            _pack_stream(wide_deltas),
            _pack_stream(nums),
            _pack_stream(bytes(dna_lens)),
            _pack_stream(_pack_dna(b"".join(dna))),
            _pack_stream(b"\n".join(strs) + b"\n" if strs else b""),
            _pack_stream(bytes(dict_wide)),
        ]
    )


def _code_numbers(types: bytearray, big: list) -> tuple[int, bytes, bytes]:
    """Code the numbers in `big` as wide deltas or NUM: set their type bytes,
    return the NUM width and the E and N streams."""
    if not big:
        return 0, b"", b""
    # Try no wide deltas, upward ones, and both ways on the first numbers of
    # the column; keep what the real stream coders find smallest.
    sample = big[:_SAMPLE]
    modes = [(False, False)]
    if any(0 < d < 65536 for _, _, d in sample):
        modes.append((True, False))
    if any(-65536 < d < 0 for _, _, d in sample):
        modes.append((True, True))
    if len(modes) > 1:
        end = sample[-1][0] + 1

        def cost(mode):
            trial_types = types[:end]
            _, wide_deltas, nums = _apply_numbers(trial_types, sample, *mode)
            return sum(len(_pack_stream(s)) for s in (bytes(trial_types), wide_deltas, nums))

        modes.sort(key=cost)
    return _apply_numbers(types, big, *modes[0])


def _apply_numbers(types: bytearray, big: list, up: bool, down: bool) -> tuple[int, bytes, bytes]:
    wide_deltas = []
    nums = []
    for i, value, d in big:
        if up and 0 < d < 65536:
            types[i] = _DELTA_UP2
            wide_deltas.append(d)
        elif down and -65536 < d < 0:
            types[i] = _DELTA_DOWN2
            wide_deltas.append(-d)
        else:
            types[i] = _NUM
            nums.append(value)
    width = max((max(nums).bit_length() + 7) // 8, 1) if nums else 0
    return width, _planes(wide_deltas, 2), _planes(nums, width)


def _planes(values: list[int], width: int) -> bytes:
    """Values below 2**32 as `width` byte planes, most significant first."""
    if not values:
        return b""
    blob = struct.pack(">%dI" % len(values), *values)
    return b"".join(blob[k::4] for k in range(4 - width, 4))


def _pack_dna(bases: bytes) -> bytes:
    if not bases:
        return b""
    digits = bases.translate(_TO_BASE4)
    digits += b"0" * (-len(digits) % 4)
    # int() in a power-of-two base runs in linear time and has no digit limit.
    return int(digits, 4).to_bytes(len(digits) // 4, "big")


def _pack_stream(raw: bytes) -> bytes:
    if not raw:
        return b"\x00"
    best = b"\x01" + _varint(len(raw)) + raw
    if len(raw) < 8:
        return best
    nonzero = len(raw) - raw.count(0)
    if nonzero <= _MAX_SPARSE:
        # Mostly zeros, typically T of a constant column: list the others.
        sparse = [b"\x05", _varint(len(raw)), _varint(nonzero)]
        last = -1
        for i in compress(range(len(raw)), raw):
            sparse += [_varint(i - last - 1), raw[i : i + 1]]
            last = i
        best = min(best, b"".join(sparse), key=len)
    candidates = [(3, zlib.compress(raw, 6))]
    # Near-random data (packed bases, uniform coordinates): LZMA and bz2 would
    # gain under 1% there, and they are the slow part of the encoder.
    if len(candidates[0][1]) < 0.98 * len(raw):
        filters = [_lzma_filter(len(raw))]
        candidates.append((2, lzma.compress(raw, format=lzma.FORMAT_RAW, filters=filters)))
        candidates.append((4, bz2.compress(raw, 9)))
    for method, comp in candidates:
        if len(raw) > _MAX_RATIO * len(comp):
            continue  # the decoder would refuse it
        blob = bytes([method]) + _varint(len(raw)) + _varint(len(comp)) + comp
        if len(blob) < len(best):
            best = blob
    return best


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
