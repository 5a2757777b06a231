"""What the name encoder and decoder share: the token types, the limits, the tokeniser, DNA packing."""

from __future__ import annotations

import gc
import lzma
import re

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
