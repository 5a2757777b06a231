"""Lossless coding of FASTQ read names (header lines without the '@').

The method follows CRAM 3.1's tok3 and fqzcomp5's name coder, kept simple.

Tokens.  A token is a run of punctuation (any byte that is not an ASCII letter
or digit), then a run of letters, then a run of digits, each run possibly
empty: ``HWI-ST593:1:1101:1256:2109#ACA/1`` is ``HWI | -ST593 | :1 | :1101 |
:1256 | :2109 | #ACA | /1``.  Gluing each separator to the field after it
halves the token count of a one-token-per-separator split, and the per-token
Python work is what the speed depends on.  A name's 64th token takes the rest
of the name, which bounds the number of columns.

Columns.  Token j of a name is compared with token j of the previous name (the
column).  Most columns are constant and cost nothing: the comparison runs over
the whole column at C speed, and only the tokens that changed (events) go
through the Python loop.  A changed token is coded, in this order of
preference, as

    ABSENT        the name has fewer tokens (the token is b''),
    DELTA_UP/DOWN the text before the digits is that of the previous token and
                  the number differs by less than 256: one byte in stream D,
    DELTA_UP2/DOWN2  ... by less than 65536: two bytes in E.  Whether a
                  column uses these is chosen per column (below),
    NUM           the text before the digits as in the previous token and a
                  number below 2**32: w bytes in N, w fixed per column,
    DICT          a token this column has coded as DNA or STR before: the
                  index is in the type byte, or in two bytes in I for the
                  later ones.  Cell barcodes and index reads repeat a lot,
    DNA           the previous token's punctuation, then only A/C/G/T: length
                  in L and 2 bits a base in B.  UMIs are random and a
                  general-purpose coder does not get them below ~2.4 bits a
                  base,
    STR           anything else, verbatim in S, ended by b'\\n' (names never
                  contain b'\\n').

Digit runs with a leading zero (``007``) or longer than 18 digits are never
numbers, so they round-trip as text; a number after one (``8`` after ``007``)
may still be a delta, as its own text is canonical.

Wide deltas pay off for numbers sorted within a group (x of reads sorted by
tile row) and cost a little for random ones (T gets one more choice per
number); the encoder codes the first _SAMPLE numbers of a column without them,
with upward ones only and with both, and keeps what comes out smallest.

Streams.  Each stream is stored with whichever of raw LZMA2, zlib, bz2, a
list of its non-zero bytes, or nothing makes it smallest; a one-byte tag says
which.  Multi-byte numbers are stored as byte planes (all high bytes, then the
next...), which the coders handle better than interleaved bytes.

Names with little structure (random bytes, say) are stored instead as plain
text joined by b'\\n' in one stream, when that is smaller.

Layout (varint = unsigned LEB128)::

    names  = u8 1, varint count, varint ncols, ncols times column
           | u8 2, varint count, stream        (the names joined by b'\\n')
    column = u8 w (bytes per NUM value, 0..4),
             streams T (count type bytes), D, E, N, L, B, S, I
    stream = u8 0                                  (empty)
           | u8 1, varint n, n bytes               (stored)
           | u8 5, varint n, varint z, z times (varint g, u8 b)
                     (n bytes, zero but for z bytes b, each after g zeros)
           | u8 m, varint n, varint k, k bytes     (m = 2 raw LZMA2, 3 zlib,
                                                    4 bz2; decodes to n bytes)

Corrupt data.  The decoder checks every length it reads against what the name
count and the column allow and against what remains of the data, and checks
that every stream is used up exactly, so damaged input raises
CorruptArchiveError.  Type, number, delta, DNA and index streams are bounded
by `count` (at most 64 columns of a few bytes per name); string streams by
_MAX_RATIO times their stored size (LZMA2 legitimately reaches ~7000).
"""

from __future__ import annotations

import bz2
import gc
import lzma
import re
import struct
import zlib
from itertools import accumulate, chain, compress, repeat, zip_longest
from operator import ne

from .errors import CorruptArchiveError

__all__ = ["encode_names", "decode_names"]

_VERSION = 1  # first byte: tokenised names
_PLAIN = 2  # first byte: names as text, joined by b'\n', in one stream

# Token types: one byte per name and column in stream T.
_MATCH = 0  # same as the previous name's token
_ABSENT = 1
_DELTA_UP = 2
_DELTA_DOWN = 3
_DELTA_UP2 = 4
_DELTA_DOWN2 = 5
_NUM = 6
_DNA = 7
_STR = 8
_DICT_WIDE = 9
_DICT_BASE = 10  # type bytes 10..255 are dictionary indices 0..245
_DICT_INLINE = 256 - _DICT_BASE
_DICT_MAX = _DICT_INLINE + 65536

_MAX_TOKENS = 64  # more tokens in a name: the rest is one token
_MAX_DIGITS = 18  # longer digit runs are text: keeps int() cheap and exact
_MAX_DNA = 255  # longest DNA token body (its length is one byte in L)
_MAX_RATIO = 8192  # decoded/stored size bound for a stream
_N_STREAMS = 8
_MAX_SPARSE = 64  # streams with at most this many non-zero bytes may be sparse
_SAMPLE = 4096  # numbers on which a column's use of wide deltas is decided

_DIGITS = b"0123456789"
_ALNUM = _DIGITS + b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PUNCT = bytes(b for b in range(256) if b not in _ALNUM)

# The possessive quantifiers (Python 3.11+) only make the regex faster: the
# three classes are disjoint, so there is nothing to backtrack into.  Every
# byte is in one of them, so the tokens cover the name; findall also yields
# one empty match at the end of each name, which reads as ABSENT.
_TOKEN = re.compile(rb"[^0-9A-Za-z]*+[A-Za-z]*+[0-9]*+")

# DNA packing: A,C,G,T -> base-4 digits; a byte holds 4 bases, the first in
# the top two bits.
_TO_BASE4 = bytes.maketrans(b"ACGT", b"0123")
_UNPACK4 = [bytes(b"ACGT"[(b >> s) & 3] for s in (6, 4, 2, 0)) for b in range(256)]
_IS_EVENT = bytes([0] + [1] * 255)  # translate table: type byte -> 0/1


class _NoGC:
    """Pause the cyclic GC.  The coder makes hundreds of thousands of small
    lists and tuples, and the collector would rescan them again and again
    (it doubles the run time); nothing here makes reference cycles."""

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was_enabled:
            gc.enable()


# ----------------------------------------------------------------- encoding


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
        parts = [bytes([_VERSION]), _varint(len(names)), _varint(len(cols))]
        parts.extend(map(_encode_column, cols))
    return b"".join(parts)


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


def _lzma_filter(size: int) -> dict:
    # The dictionary size follows from the decoded size, which is stored, so
    # the decoder can rebuild the filter (it needs nothing else).  lc=0, pb=0:
    # the streams are mostly order-0 data without byte alignment, where this
    # beats the defaults slightly; nice_len=32 is faster than 273 for the
    # same size here.
    dict_size = min(max(4096, 1 << max(size - 1, 1).bit_length()), 1 << 26)
    return {
        "id": lzma.FILTER_LZMA2,
        "preset": 9,
        "dict_size": dict_size,
        "lc": 0,
        "lp": 0,
        "pb": 0,
        "nice_len": 32,
    }


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


# ----------------------------------------------------------------- decoding


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
