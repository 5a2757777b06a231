"""Lossless coding of FASTQ read names (header lines without the '@').

The method follows CRAM 3.1's tok3 and fqzcomp5's name coder, kept simple.

Tokens.  A token is a run of punctuation (any byte that is not an ASCII letter
or digit), then a run of letters, then a run of digits, each run possibly
empty: ``HWI-ST593:1:1101:1256:2109#ACA/1`` is ``HWI | -ST593 | :1 | :1101 |
:1256 | :2109 | #ACA | /1``.  Gluing each separator to the field after it
halves the token count of a one-token-per-separator split, and the per-token
Python work is what the speed depends on.  A name's 64th token takes the rest
of the name, which bounds the number of columns.  The encoder may also join
each name's tokens from some column on into one (the tail), where the first
names code smaller so: an optional word shifts the tokens after it into other
columns (ga2_ecoli's `` correct`` before `` trim=6``), and the whole tail, a
dictionary entry per variant, then costs two thirds as much.  The decoder only joins
a name's tokens, so it reads any split.

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

from .decode import decode_names
from .encode import encode_names

__all__ = ["encode_names", "decode_names"]
