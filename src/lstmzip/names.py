"""Lossless coding of FASTQ read names (header lines without the '@').

The method follows CRAM 3.1's tok3 and fqzcomp5's name coder, kept simple:

* Each name is split into tokens.  A token is an optional run of punctuation
  (any byte that is not an ASCII letter or digit), then an optional run of
  letters, then a run of digits; or, where no digits follow, the punctuation
  and/or letters alone.  ``HWI-ST593:1:1101:1256:2109#ACA/1`` becomes
  ``HWI | -ST593 | :1 | :1101 | :1256 | :2109 | #ACA | /1``.  Gluing the
  separator to the field that follows it gives about half the tokens of a
  one-token-per-separator split, and the per-token Python work is what the
  speed depends on.
* Token *j* of a name is compared with token *j* of the previous name (the
  "column").  Most columns are constant and cost nothing: the comparison is
  done for the whole column at C speed, and only the tokens that changed (the
  "events") go through the Python loop below.
* A changed token is coded, in order of preference, as
    - ABSENT          the name has fewer tokens (the token is b''),
    - DELTA_UP/DOWN   same text before the digits as the previous token, and
                      the number differs by less than 256 (one byte in D),
    - NUM             same text before the digits, number below 2**32
                      (w bytes in N, w fixed per column),
    - DICT            a token already seen in this column (index inline in
                      the type byte, or two bytes in I for the later ones):
                      cell barcodes and index reads repeat a lot,
    - DNA             punctuation as in the previous token, then only A/C/G/T
                      (length in L, 2 bits per base in B): UMIs are random and
                      a general-purpose coder cannot get them below ~2.4 bits
                      a base,
    - STR             anything else, verbatim in S, ended by b'\\n' (names
                      never contain b'\\n').
  Digit runs with a leading zero (``007``) or longer than 18 digits are never
  numbers, so they round-trip as text; a number that follows one (``8`` after
  ``007``) may still be a delta, as its own text is canonical.
* Each stream is coded on its own with whichever of raw LZMA2, zlib, bz2 or
  no coding is smallest (a one-byte method tag says which).

Layout (varint = unsigned LEB128)::

    u8 version, varint count, varint ncols,
    stream T            (ncols * count type bytes, column after column)
    per column: u8 w (bytes per NUM value, 0..4),
                stream D, stream N (w byte planes), stream L, stream B,
                stream S, stream I

    stream = u8 0                                   (empty)
           | u8 1, varint n, n bytes                (stored)
           | u8 m, varint n, varint k, k bytes      (m = 2 LZMA2, 3 zlib,
                                                     4 bz2; n bytes decoded)

The decoder checks every length it reads against what the count and the
column structure allow and against what remains of the data, so corrupt
input raises CorruptArchiveError and never makes it allocate much.  Worst
case it decodes streams up to _MAX_RATIO times their stored size (an LZMA2
stream can legitimately expand about 7000-fold), plus the names themselves.
"""

from __future__ import annotations

import bz2
import gc
import lzma
import re
import zlib
from itertools import accumulate, chain, compress, zip_longest
from operator import ne

from .errors import CorruptArchiveError

__all__ = ["encode_names", "decode_names"]

_VERSION = 1

# Token types (one byte per name per column in stream T).
_MATCH = 0
_ABSENT = 1
_DELTA_UP = 2
_DELTA_DOWN = 3
_NUM = 4
_DNA = 5
_STR = 6
_DICT_WIDE = 7  # dictionary index - _DICT_INLINE, two bytes in stream I
_DICT_BASE = 8  # type bytes 8..255 are dictionary indices 0..247
_DICT_INLINE = 256 - _DICT_BASE
_DICT_MAX = _DICT_INLINE + 65536

_MAX_DIGITS = 18  # longer digit runs are text: keeps int() cheap and exact
_MAX_DNA = 255  # longest DNA token (its length is one byte in L)
_MAX_RATIO = 8192  # decoded/stored bound for a stream (LZMA2 reaches ~7000)

_ALNUM = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGITS = b"0123456789"
_PUNCT = bytes(b for b in range(256) if b not in _ALNUM)
# Possessive quantifiers (Python 3.11+) only make the regex engine faster: the
# three classes are disjoint, so there is nothing to backtrack into.  Every
# byte is in one of them, so the tokens cover the name; findall also yields
# one empty match at the end of each name, which reads as "absent" below.
_TOKEN = re.compile(rb"[^0-9A-Za-z]*+[A-Za-z]*+[0-9]*+")

# DNA packing: A,C,G,T -> base-4 digits '0'..'3'; a byte holds 4 bases,
# first base in the top two bits.
_TO_BASE4 = bytes.maketrans(b"ACGT", b"0123")
_UNPACK4 = [bytes(b"ACGT"[(b >> s) & 3] for s in (6, 4, 2, 0)) for b in range(256)]
_IS_EVENT = bytes([0] + [1] * 255)  # translate table: type byte -> 0/1


class _NoGC:
    """Pause the cyclic GC: the coder makes millions of small lists and tuples
    and the generational collector would otherwise rescan them over and over
    (it doubles the run time).  Nothing here creates reference cycles."""

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was_enabled:
            gc.enable()


# ----------------------------------------------------------------- encoding


def encode_names(names: list[bytes]) -> bytes:
    """Code a list of read names (bytes without b'\\n') as one blob."""
    for name in names:
        if b"\n" in name:
            raise ValueError("a read name may not contain a newline")
    count = len(names)
    with _NoGC():
        # Column j holds token j of every name, b'' where a name is shorter.
        cols = list(zip_longest(*map(_TOKEN.findall, names), fillvalue=b""))
        if cols and not any(cols[-1]):
            cols.pop()  # the column of the trailing empty matches only
        parts = [bytes([_VERSION]), _varint(count), _varint(len(cols))]
        parts.extend(map(_encode_column, cols))
    return b"".join(parts)


def _encode_column(col: tuple) -> bytes:
    types = bytearray(len(col))  # T: _MATCH unless set below
    deltas = bytearray()  # D
    nums = []  # N
    dna_lens = bytearray()  # L
    dna = []  # B (packed at the end)
    strs = []  # S
    wide = bytearray()  # I
    seen = {}  # token -> dictionary index

    # Positions where the token differs from the previous name's, found at C
    # speed; constant columns (the common case) are cheaper to spot as such.
    if col[1:] == col[:-1]:
        events = [0] if col[0] else []
    else:
        events = compress(range(len(col)), map(ne, col, chain((b"",), col)))
    for i in events:
        tok = col[i]
        if not tok:
            types[i] = _ABSENT
            continue
        prev = col[i - 1] if i else b""
        t = 0
        if 47 < tok[-1] < 58:  # ends in a digit: try a number
            head = tok.rstrip(_DIGITS)
            digits = tok[len(head) :]
            if (
                len(digits) <= _MAX_DIGITS
                and (digits[0] != 48 or len(digits) == 1)  # canonical text
                and prev.rstrip(_DIGITS) == head
            ):
                value = int(digits)
                prev_digits = prev[len(head) :]
                if prev_digits and len(prev_digits) <= _MAX_DIGITS:
                    d = value - int(prev_digits)
                    if 0 <= d < 256:
                        t = _DELTA_UP
                        deltas.append(d)
                    elif -256 < d < 0:
                        t = _DELTA_DOWN
                        deltas.append(-d)
                if not t and value < 1 << 32:
                    t = _NUM
                    nums.append(value)
        if not t:
            k = seen.get(tok)
            if k is not None:
                if k < _DICT_INLINE:
                    t = _DICT_BASE + k
                else:
                    t = _DICT_WIDE
                    wide += (k - _DICT_INLINE).to_bytes(2, "big")
            else:
                body = tok.lstrip(_PUNCT)
                npre = len(tok) - len(body)
                if (
                    body
                    and len(body) <= _MAX_DNA
                    and not body.translate(None, b"ACGT")
                    and len(prev) - len(prev.lstrip(_PUNCT)) == npre
                    and prev[:npre] == tok[:npre]
                ):
                    t = _DNA
                    dna_lens.append(len(body))
                    dna.append(body)
                else:
                    t = _STR
                    strs.append(tok)
                if len(seen) < _DICT_MAX:
                    seen[tok] = len(seen)
        types[i] = t

    # Numbers: fixed width per column, stored as byte planes (all high bytes,
    # then the next ...), which the coders handle better than interleaved.
    width = (max(nums).bit_length() + 7) // 8 if nums else 0
    width = max(width, 1) if nums else 0
    blob = b"".join([v.to_bytes(width, "big") for v in nums])
    planes = b"".join(blob[k::width] for k in range(width))

    return b"".join(
        [
            bytes([width]),
            _pack_stream(bytes(types)),
            _pack_stream(bytes(deltas)),
            _pack_stream(planes),
            _pack_stream(bytes(dna_lens)),
            _pack_stream(_pack_dna(b"".join(dna))),
            _pack_stream(b"\n".join(strs) + b"\n" if strs else b""),
            _pack_stream(bytes(wide)),
        ]
    )


def _pack_dna(bases: bytes) -> bytes:
    if not bases:
        return b""
    digits = bases.translate(_TO_BASE4)
    digits += b"0" * (-len(digits) % 4)
    # int() of a power-of-two base runs in linear time (and has no digit limit).
    return int(digits, 4).to_bytes(len(digits) // 4, "big")


def _lzma_dict_size(n: int) -> int:
    # Derived from the decoded size, so the decoder need not be told it.
    return min(max(4096, 1 << max(n - 1, 1).bit_length()), 1 << 26)


def _lzma(raw: bytes) -> bytes:
    # lc=0, pb=0: the streams are mostly order-0 data with no byte alignment
    # to exploit; this does slightly better than the defaults.
    f = {
        "id": lzma.FILTER_LZMA2,
        "preset": 9,
        "dict_size": _lzma_dict_size(len(raw)),
        "lc": 0,
        "lp": 0,
        "pb": 0,
    }
    return lzma.compress(raw, format=lzma.FORMAT_RAW, filters=[f])


def _pack_stream(raw: bytes) -> bytes:
    if not raw:
        return b"\x00"
    best = b"\x01" + _varint(len(raw)) + raw
    if len(raw) < 8:
        return best
    candidates = [(3, zlib.compress(raw, 6))]
    # Near-random data (packed bases, uniform coordinates): LZMA and bz2 would
    # gain under 1% here and they are the slow part of the encoder.
    if len(candidates[0][1]) < 0.98 * len(raw):
        candidates.append((2, _lzma(raw)))
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


# ----------------------------------------------------------------- decoding


def decode_names(data: bytes, count: int) -> list[bytes]:
    """Inverse of encode_names; `count` is the number of names encoded.

    Raises CorruptArchiveError if `data` is not a valid encoding of `count`
    names."""
    if count < 0:
        raise CorruptArchiveError("names: negative name count")
    try:
        with _NoGC():
            return _decode(bytes(data), count)
    except CorruptArchiveError:
        raise
    except (
        IndexError,
        KeyError,
        ValueError,
        OverflowError,
        EOFError,
        OSError,
        lzma.LZMAError,
        zlib.error,
    ) as e:
        raise CorruptArchiveError(f"names: corrupt data ({type(e).__name__})") from e


def _corrupt(msg: str) -> CorruptArchiveError:
    return CorruptArchiveError("names: " + msg)


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise _corrupt("truncated")
        self.pos += 1
        return self.data[self.pos - 1]

    def varint(self) -> int:
        n = shift = 0
        while True:
            b = self.byte()
            n |= (b & 0x7F) << shift
            if b < 0x80:
                return n
            shift += 7
            if shift > 63:
                raise _corrupt("bad number")

    def take(self, n: int) -> bytes:
        if n > self.remaining():
            raise _corrupt("truncated")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def stream(self, limit: int, exact: int | None = None) -> bytes:
        """Read one stream; its decoded size must be at most `limit`
        (or exactly `exact`)."""
        method = self.byte()
        if method == 0:
            size = 0
        else:
            size = self.varint()
            if size == 0 or size > limit:
                raise _corrupt("stream size out of range")
        if exact is not None and size != exact:
            raise _corrupt("stream size does not match the name count")
        if method == 0:
            return b""
        if method == 1:
            return self.take(size)
        stored = self.varint()
        if size > _MAX_RATIO * stored:
            raise _corrupt("implausible stream size")
        comp = self.take(stored)
        if method == 2:
            filt = {"id": lzma.FILTER_LZMA2, "dict_size": _lzma_dict_size(size)}
            d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=[filt])
            raw = d.decompress(comp, max_length=size)
            done = d.eof and not d.unused_data
        elif method == 3:
            d = zlib.decompressobj()
            raw = d.decompress(comp, size)
            done = d.eof and not d.unused_data and not d.unconsumed_tail
        elif method == 4:
            d = bz2.BZ2Decompressor()
            raw = d.decompress(comp, max_length=size)
            done = d.eof and not d.unused_data
        else:
            raise _corrupt("unknown stream method")
        if len(raw) != size or not done:
            raise _corrupt("stream does not decode to its recorded size")
        return raw


def _decode(data: bytes, count: int) -> list[bytes]:
    r = _Reader(data)
    if r.byte() != _VERSION:
        raise _corrupt("unknown format version")
    if r.varint() != count:
        raise _corrupt("name count does not match")
    ncols = r.varint()
    # Each column takes at least 8 bytes; no columns unless there are names.
    if 8 * ncols > r.remaining() or (ncols and not count):
        raise _corrupt("bad column count")
    cols = [_decode_column(r, count) for _ in range(ncols)]
    if r.remaining():
        raise _corrupt("trailing bytes")
    if not cols:
        return [b""] * count
    return list(map(b"".join, zip(*cols)))


def _decode_column(r: _Reader, count: int) -> list[bytes]:
    width = r.byte()
    if width > 4:
        raise _corrupt("bad number width")
    types = r.stream(limit=count, exact=count)
    deltas = r.stream(limit=count)
    planes = r.stream(limit=4 * count)
    dna_lens = r.stream(limit=count)
    packed = r.stream(limit=(_MAX_DNA + 3) // 4 * count)
    strs = r.stream(limit=_MAX_RATIO * len(r.data))
    wide = r.stream(limit=2 * count)

    if len(planes) % max(width, 1) or (planes and not width):
        raise _corrupt("bad number stream")
    blob = bytearray(len(planes))
    n_nums = len(planes) // width if width else 0
    for k in range(width):
        blob[k::width] = planes[k * n_nums : (k + 1) * n_nums]
    nums = [int.from_bytes(blob[i : i + width], "big") for i in range(0, len(blob), width or 1)]
    bases = b"".join(map(_UNPACK4.__getitem__, packed))
    strs = strs.split(b"\n")
    if strs[-1]:
        raise _corrupt("bad string stream")

    known = []  # dictionary: index -> token
    vals = [b""]  # value of each event; [0] = before the first name
    prev = b""
    di = ni = li = bi = si = wi = 0
    for i in compress(range(count), types):
        t = types[i]
        if t >= _DICT_BASE:
            tok = known[t - _DICT_BASE]
        elif t == _ABSENT:
            tok = b""
        elif t == _DELTA_UP or t == _DELTA_DOWN or t == _NUM:
            head = prev.rstrip(_DIGITS)
            if t == _NUM:
                value = nums[ni]
                ni += 1
            else:
                prev_digits = prev[len(head) :]
                if not prev_digits or len(prev_digits) > _MAX_DIGITS:
                    raise _corrupt("delta without a number to add to")
                d = deltas[di]
                di += 1
                value = int(prev_digits) + (d if t == _DELTA_UP else -d)
                if value < 0:
                    raise _corrupt("negative number")
            tok = head + b"%d" % value
        elif t == _DNA or t == _STR:
            if t == _DNA:
                n = dna_lens[li]
                li += 1
                if not n or bi + n > len(bases):
                    raise _corrupt("bad DNA token")
                body = prev.lstrip(_PUNCT)
                tok = prev[: len(prev) - len(body)] + bases[bi : bi + n]
                bi += n
            else:
                tok = strs[si]
                si += 1
                if not tok:
                    raise _corrupt("empty string token")
            if len(known) < _DICT_MAX:
                known.append(tok)
        elif t == _DICT_WIDE:
            if wi + 2 > len(wide):
                raise _corrupt("truncated dictionary indices")
            tok = known[_DICT_INLINE + (wide[wi] << 8 | wide[wi + 1])]
            wi += 2
        else:
            raise _corrupt("bad token type")
        vals.append(tok)
        prev = tok

    if (
        di != len(deltas)
        or ni != len(nums)
        or li != len(dna_lens)
        or (bi + 3) // 4 != len(packed)
        or si != len(strs) - 1
        or wi != len(wide)
    ):
        raise _corrupt("streams not used up")
    # Name i gets the value of the last event at or before i.
    return list(map(vals.__getitem__, accumulate(types.translate(_IS_EVENT))))
