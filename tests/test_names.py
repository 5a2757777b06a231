"""Tests of lstmzip.names: exact round trips, and refusal of corrupt data."""

import gzip
import itertools
import lzma
import os
import random
from pathlib import Path

import pytest

from lstmzip.errors import CorruptArchiveError
from lstmzip.names import common, decode, decode_names, encode, encode_names

# The development corpus sits next to the repository (../shared/corpus).
_CORPUS_DIRS = [Path(__file__).resolve().parents[2] / "shared" / "corpus", Path("/work/shared/corpus")]
CORPUS = next((sorted(map(str, d.glob("*.fq.gz"))) for d in _CORPUS_DIRS if list(d.glob("*.fq.gz"))), [])


def roundtrip(names):
    data = encode_names(names)
    assert isinstance(data, bytes)
    out = decode_names(data, len(names))
    assert out == names
    assert all(type(n) is bytes for n in out)
    if data[0] != 1:  # plain text won: check the tokeniser's coding as well
        assert decode_names(encode._encode_tokenised(names), len(names)) == names
    return data


def corpus_names(path, limit=3000):
    with gzip.open(path, "rb") as f:
        lines = itertools.islice(f, 0, 4 * limit, 4)
        return [line.rstrip(b"\n")[1:] for line in lines]


# ------------------------------------------------------------ round trips

ODD_CASES = {
    "empty list": [],
    "one empty name": [b""],
    "empty names": [b"", b"", b""],
    "one name": [b"read1"],
    "empty between": [b"a1", b"", b"a2", b"", b""],
    "whitespace": [b"r 1\tx", b"r 2\tx", b" ", b"\t", b"  lead", b"trail  "],
    "utf8": ["r\u00e9ad:1 \u00fc\u4e2d".encode(), "r\u00e9ad:2 \u00fc\u4e2d".encode(), "\U0001f600".encode()],
    "control bytes": [bytes(range(0, 10)) + bytes(range(11, 32)), b"\x00\x00", b"a\x00b\x7f\xff1", b"\x01"],
    "carriage return": [b"r1\r", b"r\r2", b"\r", b"r3\r\r", b"\rr4"],
    "leading zeros": [b"x007", b"x8", b"x008", b"x0", b"x00", b"x0", b"x000123", b"x124", b"x0124"],
    "zeros alone": [b"0", b"00", b"0", b"000", b"1", b"01", b"1"],
    "huge digits": [
        b"n" + b"9" * 5000, b"n" + b"9" * 5000 + b"1", b"n1", b"9" * 19, b"1" + b"0" * 18, b"9" * 18, b"1" * 18,
    ],
    "decreasing": [b"r:%d" % n for n in range(1000, 0, -7)] + [b"r:%d" % n for n in (5, 4, 3, 2, 1, 0)],
    "delta edges": [
        b"p%d" % n
        for n in (
            0, 255, 0, 256, 0, 255 + 256, 256, 65535 + 256, 0, 65536 + 1000, 1000,
            2**32 - 1, 2**32, 2**32 + 1, 5, 2**32 + 300, 10**17, 10**18 - 1, 10**18, 10**18 + 1, 3,
        )
    ],
    "token counts vary": [b"a", b"a:1", b"a:1:2:3", b"a:1", b"", b"b:1:2:3:4:5", b"b", b"a:1:2:3"],
    "heads change": [b"x1", b"y2", b"x3", b"xy4", b"x5", b"5", b":5", b"::5", b":6"],
    "dna": [
        b"c:ACGT", b"c:TTGA", b"c:ACGT", b":ACGTN", b"c:ACGN", b"c:acgt",
        b"c:" + b"A" * 300, b"c:" + b"C" * 255, b"ACGT", b"G",
    ],
    "dna prefix changes": [b"x\tA", b"x:C", b"x::G", b"x:;T", b"x:A", b"x\tA"],
    "punctuation only": [b"::", b"-", b"::", b"@@@", b"+", b"!#$%&'()*,./;<=>?@[\\]^_`{|}~"],
    "many tokens": [
        b":".join(b"%d" % i for i in range(200)), b":".join(b"%d" % (i + 1) for i in range(200)), b"a" * 64,
    ],
    "ont integers": [b"%d" % i for i in range(1, 3000)],
    "sam tags": [b"NB5:1:11101:%d:%d\tXC:Z:%s\tXM:Z:%s" % (x, y, bc, umi)
                 for x, y, bc, umi in [(10210, 3684, b"GGGTCTGCAAGTACCT", b"AGCGAATTTT"),
                                       (10531, 5441, b"TCCCGATGTCTAGTGT", b"GAATAAAGTT"),
                                       (10725, 3335, b"GGGTCTGCAAGTACCT", b"CGTGATCCCG")]],
}


@pytest.mark.parametrize("case", ODD_CASES)
def test_odd_cases_round_trip(case):
    roundtrip(ODD_CASES[case])


def test_each_odd_name_alone_and_doubled():
    for case in ODD_CASES.values():
        for name in case[:20]:
            roundtrip([name])
            roundtrip([name, name])


def test_random_byte_names():
    rng = random.Random(1234)
    alphabet = bytes(b for b in range(256) if b != 10)
    names = []
    for _ in range(10000):
        kind = rng.random()
        if kind < 0.5:
            n = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        else:  # more structure: digits, letters and separators
            n = bytes(rng.choice(b"0123456789ACGTNacgt:_ \t\r\x00\xff") for _ in range(rng.randrange(0, 60)))
        names.append(n)
    roundtrip(names)


def test_random_structured_names():
    rng = random.Random(99)
    names = []
    tile, x = 1101, 0
    for _ in range(5000):
        if rng.random() < 0.01:
            tile, x = rng.choice([1101, 1102, 2101, 2216]), 0
        x += rng.choice([0, 1, rng.randrange(300), rng.randrange(70000), -rng.randrange(500)])
        x = max(x, 0)
        umi = "".join(rng.choice("ACGTN") for _ in range(rng.choice([8, 10])))
        names.append(f"M:{tile}:{x}:{rng.randrange(30000)} 1:N:0:{umi}".encode())
    roundtrip(names)


def test_dictionary_overflow():
    # More distinct tokens than the dictionary holds, then repeats of early,
    # middle and late ones.
    n = common._DICT_MAX + 300
    names = []
    for i in range(n):
        s, v = b"", i
        for _ in range(4):
            s += bytes([97 + v % 26])
            v //= 26
        names.append(b"x:" + s)
    names += [names[0], names[100], names[300], names[-1], names[common._DICT_MAX - 1], names[common._DICT_MAX]]
    roundtrip(names)


def test_dna_dictionary():
    rng = random.Random(5)
    barcodes = [bytes(rng.choice(b"ACGT") for _ in range(16)) for _ in range(300)]
    names = [
        b"r%d\tXC:Z:%s\tXM:Z:%s" % (i, rng.choice(barcodes), bytes(rng.choice(b"ACGT") for _ in range(10)))
        for i in range(3000)
    ]
    roundtrip(names)


def test_an_optional_word_before_a_field_makes_the_tail_one_token(monkeypatch):
    """ga2_ecoli's names: ' trim=N' after an optional ' correct' falls in a different column in each kind
    of name. The encoder codes the names' tails from the first token that varies so as one token (a
    dictionary entry per variant), and the decoder, which only joins tokens, reads it as any other."""
    rng = random.Random(7)
    names = [b"EAS20_8_6_%d_%d_%d/1%s%s" % (i // 300 + 1, i % 300 * 7, rng.randrange(2048),
                                             b" correct" if rng.random() < 0.3 else b"",
                                             b" trim=%d" % rng.randrange(1, 60) if rng.random() < 0.5 else b"")
             for i in range(3000)]
    data = roundtrip(names)
    assert data[3] == 7  # 7 columns: EAS20 _8 _6 _tile _x _y and the tail, from '/1' on
    monkeypatch.setattr(encode, "_tail_start", lambda cols: None)
    apart = roundtrip(names)
    assert apart[3] == 10 and len(data) < 0.9 * len(apart)  # 7,256 and 8,422 bytes when written


def test_tails_that_differ_in_every_name_stay_in_columns():
    """Illumina names ending in x and y: every tail is different, so none is tried as one token."""
    rng = random.Random(8)
    names = [b"M:1101:%d:%d" % (i, rng.randrange(30000)) for i in range(3000)]
    assert roundtrip(names)[3] == 4  # M :1101 :x :y, each its own column (the trailing b'' dropped)


@pytest.mark.parametrize("path", CORPUS, ids=os.path.basename)
def test_corpus_round_trip(path):
    names = corpus_names(path)
    assert len(names) > 100
    data = roundtrip(names)
    # Far better than a general-purpose coder on the same names.
    assert len(data) < len(lzma.compress(b"\n".join(names), preset=9))
    # Variants the corpus lacks: CRLF files (the \r stays in the name) and
    # non-ASCII comments.
    roundtrip([n + b"\r" for n in names[:500]])
    roundtrip([n + " caf\u00e9 \u00b5".encode() for n in names[:500]])


def test_newline_refused():
    with pytest.raises(ValueError):
        encode_names([b"a", b"b\nc"])


# ------------------------------------------------------------ stream methods


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"abc",
        bytes(100000),
        bytes(5000) + b"\x07" + bytes(5000),
        random.Random(0).randbytes(3000),
        b"abcd" * 5000,
        bytes(range(256)) * 40,
    ],
    ids=["empty", "short", "zeros", "sparse", "random", "repeats", "ramp"],
)
def test_stream_round_trip(raw):
    blob = encode._pack_stream(raw)
    r = decode._Reader(blob)
    assert r.stream(limit=len(raw)) == raw
    assert r.remaining() == 0


def _blob(method, raw, comp):
    return bytes([method]) + encode._varint(len(raw)) + encode._varint(len(comp)) + comp


@pytest.mark.parametrize("method", [1, 2, 3, 4, 5])
def test_every_stream_method_decodes(method):
    import bz2
    import zlib

    raw = b"hello world " * 50 + b"\x00" * 100
    if method == 1:
        blob = b"\x01" + encode._varint(len(raw)) + raw
    elif method == 2:
        blob = _blob(2, raw, lzma.compress(raw, format=lzma.FORMAT_RAW, filters=[common._lzma_filter(len(raw))]))
    elif method == 3:
        blob = _blob(3, raw, zlib.compress(raw))
    elif method == 4:
        blob = _blob(4, raw, bz2.compress(raw))
    else:
        raw = bytes(50) + b"\x03" + bytes(10) + b"\xff"
        blob = b"\x05" + encode._varint(len(raw)) + b"\x02" + b"\x32\x03" + b"\x0a\xff"
    assert decode._Reader(blob).stream(limit=len(raw)) == raw
    with pytest.raises(CorruptArchiveError):
        decode._Reader(blob).stream(limit=len(raw) - 1)
    for cut in range(len(blob)):
        with pytest.raises(CorruptArchiveError):
            decode._Reader(blob[:cut]).stream(limit=len(raw))


# ------------------------------------------------------------ corrupt data

SMALL = (
    [b"HWI-ST593:1:1101:%d:%d#ACA/1" % (1256 + 37 * i, 2109 + (i * 7919) % 300) for i in range(30)]
    + [b"NB:1:%d\tXC:Z:%s\tXM:Z:%s" % (i, b"ACGTACGT"[i % 3 :], b"TTGCA"[i % 2 :]) for i in range(20)]
    + [b"", b"x007", b"x8", b"\xff\x00 t"]
)


def expect_corrupt(data, count):
    with pytest.raises(CorruptArchiveError):
        decode_names(data, count)


def test_streams_cannot_decode_to_more_than_the_block():
    names = [b"x" * 5000]  # stored as one stream of 5000 bytes
    data = encode_names(names)
    assert decode_names(data, 1, max_size=5001) == names  # the names and a separator each
    with pytest.raises(CorruptArchiveError, match="stream size out of range"):
        decode_names(data, 1, max_size=1000)


def test_truncated_prefixes_refused():
    data = roundtrip(SMALL)
    assert data[0] == 1  # tokenised
    for cut in range(len(data)):
        expect_corrupt(data[:cut], len(SMALL))


def test_plain_text_fallback():
    rng = random.Random(11)
    names = [bytes(rng.randrange(256) for _ in range(rng.randrange(50))).replace(b"\n", b"") for _ in range(300)]
    data = roundtrip(names)
    assert data[0] == 2  # random bytes: stored as text
    assert len(data) < sum(map(len, names)) + len(names) + 20
    for cut in range(len(data)):
        expect_corrupt(data[:cut], len(names))
    for count in (0, 1, len(names) - 1, len(names) + 1):
        expect_corrupt(data, count)
    expect_corrupt(data + b"\x00", len(names))


def test_trailing_bytes_refused():
    data = encode_names(SMALL)
    expect_corrupt(data + b"\x00", len(SMALL))
    expect_corrupt(data + data, len(SMALL))


def test_wrong_count_refused():
    data = encode_names(SMALL)
    for count in (0, 1, len(SMALL) - 1, len(SMALL) + 1, 10 * len(SMALL), -1):
        expect_corrupt(data, count)
    expect_corrupt(encode_names([]), 1)
    expect_corrupt(encode_names([b"", b""]), 3)
    expect_corrupt(encode_names([b"a"] * 5), 4)


def test_empty_and_garbage_refused():
    expect_corrupt(b"", 0)
    expect_corrupt(b"", 5)
    rng = random.Random(7)
    for _ in range(300):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
        count = rng.randrange(0, 100)
        try:
            out = decode_names(blob, count)
        except CorruptArchiveError:
            continue
        assert len(out) == count and all(type(n) is bytes for n in out)


def _check_flipped(data, count):
    try:
        out = decode_names(data, count)
    except CorruptArchiveError:
        return False
    assert isinstance(out, list) and len(out) == count
    assert all(type(n) is bytes for n in out)
    return True


def test_random_byte_flips():
    rng = random.Random(2024)
    data = encode_names(SMALL)
    for _ in range(400):
        flipped = bytearray(data)
        for _ in range(rng.choice([1, 1, 1, 2, 5])):
            pos = rng.randrange(len(flipped))
            flipped[pos] = (flipped[pos] + rng.randrange(1, 256)) % 256
        _check_flipped(bytes(flipped), len(SMALL))


def test_byte_flips_in_compressed_streams():
    # A larger input, so that the streams are LZMA/zlib/bz2-coded.
    names = corpus_names(CORPUS[0], 2000) if CORPUS else SMALL * 40
    data = encode_names(names)
    rng = random.Random(77)
    for _ in range(150):
        flipped = bytearray(data)
        pos = rng.randrange(len(flipped))
        flipped[pos] ^= 1 << rng.randrange(8)
        _check_flipped(bytes(flipped), len(names))


TINY_TOKENISED = [b"r:%d:x" % i for i in range(0, 400, 3)] + [b"r:500:ACGT", b"r:501:ACGA", b"r:77:ACGA", b"", b"s"]
TINY_PLAIN = [b"a1", b"a2", b"b:ACGT", b"", b"\xff"]


@pytest.mark.parametrize("names", [TINY_TOKENISED, TINY_PLAIN], ids=["tokenised", "plain"])
def test_every_single_byte_change_of_a_tiny_encoding(names):
    data = roundtrip(names)
    assert data[0] == (1 if names is TINY_TOKENISED else 2)
    for pos in range(len(data)):
        for value in range(256):
            if value != data[pos]:
                changed = data[:pos] + bytes([value]) + data[pos + 1 :]
                _check_flipped(changed, len(names))
        expect_corrupt(data[:pos], len(names))


def test_claimed_sizes_do_not_allocate():
    # A header claiming a huge stream (size within the count bound) but with
    # almost no data behind it is refused without decoding anything big.
    count = 10**6
    head = bytes([1]) + encode._varint(count) + encode._varint(1) + b"\x00"
    for method in (1, 2, 3, 4):
        blob = head + bytes([method]) + encode._varint(count) + encode._varint(3) + b"abc" + b"\x00" * 7
        expect_corrupt(blob, count)
    # Absurd column count.
    expect_corrupt(bytes([1]) + encode._varint(5) + encode._varint(10**12), 5)
    # Unknown version.
    data = bytearray(encode_names(SMALL))
    data[0] = 2
    expect_corrupt(bytes(data), len(SMALL))
