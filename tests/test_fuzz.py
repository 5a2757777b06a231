"""Property tests (short in CI; fuzz/run.py runs the same properties for hours):
- any FASTQ built from the odd cases lstmzip must keep round-trips exactly;
- any damage to a valid archive ends in a clean refusal or in exactly the original data."""

import io
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstmzip import pipeline
from lstmzip.errors import CorruptArchiveError

from conftest import compress_bytes, decompress_bytes

EXAMPLES = int(os.environ.get("LSTMZIP_FUZZ_EXAMPLES", "40"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

name_bytes = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" "))
bases = st.sampled_from(list(b"ACGTACGTACGTNacgtnRYKMSWBDHV.-*"))


@st.composite
def records(draw):
    length = draw(st.one_of(st.integers(0, 3), st.integers(0, 160), st.integers(1000, 5000)))
    low, high = draw(st.sampled_from([(33, 74), (64, 104), (33, 126)]))  # Phred+33, Phred+64, anything
    seq = bytes(draw(st.lists(bases, min_size=length, max_size=length)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    qual = rng.integers(low, high + 1, length, dtype=np.uint8).tobytes()
    name = draw(name_bytes)
    plus = draw(st.sampled_from([b"", name, b"other"]))
    ends = [draw(st.sampled_from([b"\n", b"\r\n"])) for _ in range(4)]
    return b"@" + name + ends[0] + seq + ends[1] + b"+" + plus + ends[2] + qual + ends[3]


@st.composite
def fastq_files(draw):
    data = b"".join(draw(st.lists(records(), max_size=12)))
    if data.endswith(b"\n") and not data.endswith(b"\n\n") and draw(st.booleans()):
        data = data[:-1]  # no final newline (an empty last quality line needs its newline to exist)
    return data


@FAST
@given(fastq_files())
def test_any_fastq_round_trips(data):
    assert decompress_bytes(compress_bytes(data, level=1)) == data


ORIGINAL = b"@r1 x\nACGTNacgt\n+\nIIII#IIII\n@r2\r\nGG\r\n+r2\r\n!~\r\n"
ARCHIVE = compress_bytes(ORIGINAL, level=1)


@st.composite
def damaged_archives(draw):
    data = bytearray(ARCHIVE)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        else:
            del data[at:]
    return bytes(data)


@FAST
@given(damaged_archives())
def test_damaged_archives_are_refused_or_exact(data):
    try:
        out = io.BytesIO()
        pipeline.decompress_stream(io.BytesIO(data), out, 1)
    except CorruptArchiveError:
        return
    assert out.getvalue() == ORIGINAL
