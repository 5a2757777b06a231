"""Decoding of read names, every length checked (the format is described in names/__init__.py)."""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from itertools import accumulate, compress

from ..errors import CorruptArchiveError
from .common import (
    _ABSENT, _DELTA_DOWN, _DELTA_DOWN2, _DICT_BASE, _DICT_INLINE, _DICT_MAX, _DIGITS, _DNA, _IS_EVENT,
    _MAX_DIGITS, _MAX_DNA, _MAX_RATIO, _MAX_TOKENS, _NUM, _N_STREAMS, _NoGC, _PLAIN, _PUNCT, _STR, _UNPACK4,
    _VERSION, _lzma_filter
)


def decode_names(data: bytes, count: int, max_size: int | None = None) -> list[bytes]:
    """Inverse of encode_names; `count` is the number of names encoded. `max_size` bounds every stream's
    decoded size (pass the block's size, which holds the names and more than one byte per name), so that
    a crafted stream cannot make the decoder allocate more than the block it claims to be.

    Raises CorruptArchiveError if `data` is not an encoding of `count` names.
    """
    if count < 0:
        raise CorruptArchiveError("names: negative name count")
    try:
        with _NoGC():
            return _decode(_Reader(bytes(data), max_size), count)
    except CorruptArchiveError:
        raise
    except (
        IndexError,
        KeyError,
        ValueError,
        OverflowError,
        EOFError,
        OSError,  # bz2
        lzma.LZMAError,
        zlib.error,
    ) as e:
        raise CorruptArchiveError(f"names: corrupt data ({type(e).__name__})") from e


def _corrupt(msg: str) -> CorruptArchiveError:
    return CorruptArchiveError("names: " + msg)


class _Reader:
    def __init__(self, data: bytes, max_size: int | None = None):
        self.data = data
        self.pos = 0
        self.max_size = max_size

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

    def stream(self, limit: int) -> bytes:
        """Read one stream, which must decode to at most `limit` bytes."""
        method = self.byte()
        if method == 0:
            return b""
        size = self.varint()
        if size == 0 or size > limit or (self.max_size is not None and size > self.max_size):
            raise _corrupt("stream size out of range")
        if method == 1:
            return self.take(size)
        if method == 5:
            raw = bytearray(size)
            pos = -1
            for _ in range(self.varint()):
                pos += self.varint() + 1
                value = self.byte()
                if pos >= size or not value:
                    raise _corrupt("bad sparse stream")
                raw[pos] = value
            return bytes(raw)
        stored = self.varint()
        if size > _MAX_RATIO * stored:
            raise _corrupt("implausible stream size")
        comp = self.take(stored)
        # Room for one byte more than recorded: too much data shows as a
        # wrong size, and the decoders are never stopped short of the end
        # mark of a valid stream.
        if method == 2:
            d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[_lzma_filter(size)])
            raw = d.decompress(comp, max_length=size + 1)
            done = d.eof and not d.unused_data
        elif method == 3:
            d = zlib.decompressobj()
            raw = d.decompress(comp, size + 1)
            done = d.eof and not d.unused_data and not d.unconsumed_tail
        elif method == 4:
            d = bz2.BZ2Decompressor()
            raw = d.decompress(comp, max_length=size + 1)
            done = d.eof and not d.unused_data
        else:
            raise _corrupt("unknown stream method")
        if len(raw) != size or not done:
            raise _corrupt("stream does not decode to its recorded size")
        return raw


def _decode(r: _Reader, count: int) -> list[bytes]:
    data = r.data
    version = r.byte()
    if version not in (_VERSION, _PLAIN):
        raise _corrupt("unknown format version")
    if r.varint() != count:
        raise _corrupt("name count does not match")
    if version == _PLAIN:
        text = r.stream(limit=_MAX_RATIO * len(data))
        names = text.split(b"\n") if count else []
        if len(names) != count or (text and not count) or r.remaining():
            raise _corrupt("bad plain-text names")
        return names
    ncols = r.varint()
    # The encoder makes at most _MAX_TOKENS columns, none if there are no
    # names, and a column takes at least 9 bytes.
    if ncols > _MAX_TOKENS or (ncols and not count) or (1 + _N_STREAMS) * ncols > r.remaining():
        raise _corrupt("bad column count")
    cols = [_decode_column(r, count) for _ in range(ncols)]
    if r.remaining():
        raise _corrupt("trailing bytes")
    if not cols:
        return [b""] * count
    return list(map(b"".join, zip(*cols)))


def _from_planes(planes: bytes, width: int) -> tuple[int, ...]:
    if not width:
        if planes:
            raise _corrupt("numbers without a width")
        return ()
    n, rest = divmod(len(planes), width)
    if rest:
        raise _corrupt("bad number stream")
    blob = bytearray(4 * n)
    for k in range(width):
        blob[4 - width + k :: 4] = planes[k * n : (k + 1) * n]
    return struct.unpack(">%dI" % n, blob)


def _decode_column(r: _Reader, count: int) -> list[bytes]:
    width = r.byte()
    if width > 4:
        raise _corrupt("bad number width")
    types = r.stream(limit=count)
    if len(types) != count:
        raise _corrupt("type stream does not match the name count")
    deltas = r.stream(limit=count)
    wide_deltas = _from_planes(r.stream(limit=2 * count), 2)
    nums = _from_planes(r.stream(limit=4 * count), width)
    dna_lens = r.stream(limit=count)
    packed = r.stream(limit=(_MAX_DNA + 3) // 4 * count)
    strs = r.stream(limit=_MAX_RATIO * len(r.data)).split(b"\n")
    dict_wide = r.stream(limit=2 * count)
    if strs.pop():
        raise _corrupt("unterminated string")
    bases = b"".join(map(_UNPACK4.__getitem__, packed))

    known = []  # dictionary: index -> token
    vals = [b""]  # token of each event; [0] is the one before the first name
    prev = b""
    di = ei = ni = li = bi = si = wi = 0
    for i in compress(range(count), types):
        t = types[i]
        if t >= _DICT_BASE:
            tok = known[t - _DICT_BASE]
        elif t == _ABSENT:
            tok = b""
        elif t <= _NUM:  # a number after the previous token's head
            head = prev.rstrip(_DIGITS)
            if t == _NUM:
                value = nums[ni]
                ni += 1
            else:
                prev_digits = prev[len(head) :]
                if not prev_digits or len(prev_digits) > _MAX_DIGITS:
                    raise _corrupt("delta without a number to add to")
                if t <= _DELTA_DOWN:
                    d = deltas[di]
                    di += 1
                else:
                    d = wide_deltas[ei]
                    ei += 1
                if t == _DELTA_DOWN or t == _DELTA_DOWN2:
                    d = -d
                value = int(prev_digits) + d
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
        else:  # _DICT_WIDE
            if wi + 2 > len(dict_wide):
                raise _corrupt("truncated dictionary index")
            tok = known[_DICT_INLINE + (dict_wide[wi] << 8 | dict_wide[wi + 1])]
            wi += 2
        vals.append(tok)
        prev = tok

    if (
        di != len(deltas)
        or ei != len(wide_deltas)
        or ni != len(nums)
        or li != len(dna_lens)
        or (bi + 3) // 4 != len(packed)
        or si != len(strs)
        or wi != len(dict_wide)
    ):
        raise _corrupt("streams not used up")
    # Name i gets the token of the last event at or before i.
    return list(map(vals.__getitem__, accumulate(types.translate(_IS_EVENT))))
