"""Property tests (short in CI; fuzz/run.py runs the same properties for hours):
- any FASTQ built from the odd cases lstmzip must keep round-trips exactly;
- any damage to a valid archive, arbitrary bytes, and any change to an archive's parts with every
  checksum made valid again end in a clean refusal or in exactly the original data."""

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstmzip import pipeline
from lstmzip.errors import CorruptArchiveError
from lstmzip.report import facts, multiqc

from conftest import compress_bytes, decompress_bytes, seal, split_archive

EXAMPLES = os.environ.get("LSTMZIP_FUZZ_EXAMPLES")  # per property; fuzz/run.py sets it
DEADLINE = os.environ.get("LSTMZIP_FUZZ_DEADLINE")  # seconds; fuzz/run.py sets it, CI runs no timed test


def fuzz_settings(ci_examples: int):
    """In CI, about a minute per target on a 2-core machine."""
    return settings(max_examples=int(EXAMPLES or ci_examples), deadline=DEADLINE and float(DEADLINE) * 1000,
                    suppress_health_check=list(HealthCheck))


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


@fuzz_settings(120)
@given(fastq_files())
def test_any_fastq_round_trips(data):
    assert decompress_bytes(compress_bytes(data, level=1)) == data


ORIGINAL = b"@r1 x\nACGTNacgt\n+\nIIII#IIII\n@r2\r\nGG\r\n+r2\r\n!~\r\n"
GOLDEN = Path(__file__).parent / "golden"
# (archive, original): a tiny one, one with every odd case (format 1.0), one with both learned networks
# in each format (1.0 without, 2.0 with a statistics section), and 2.0's newer models
SEEDS = [(compress_bytes(ORIGINAL, level=1), ORIGINAL),
         ((GOLDEN / "v1" / "odd_cases.level6.lz").read_bytes(), (GOLDEN / "v1" / "odd_cases.fq").read_bytes()),
         ((GOLDEN / "v1" / "hiseqx_200.level6_lstm.lz").read_bytes(), (GOLDEN / "v1" / "hiseqx_200.fq").read_bytes()),
         ((GOLDEN / "v2" / "hiseqx_200.level6_lstm.lz").read_bytes(), (GOLDEN / "v2" / "hiseqx_200.fq").read_bytes()),
         # 2.0's match model and interleaved rows (with both networks), and qualities in a context of the bases
         ((GOLDEN / "v2" / "sorted_reads.level6_lstm.lz").read_bytes(), (GOLDEN / "v2" / "sorted_reads.fq").read_bytes()),
         ((GOLDEN / "v2" / "nanopore.level1.lz").read_bytes(), (GOLDEN / "v2" / "nanopore.fq").read_bytes())]


def mutate(draw, data: bytes) -> bytes:
    data = bytearray(data)
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


@st.composite
def damaged_archives(draw):
    """Raw damage, what a bad disk or a cut download does (checksums catch nearly all of it), and
    arbitrary bytes, with or without the archive's magic."""
    archive, original = draw(st.sampled_from(SEEDS))
    kind = draw(st.sampled_from(["mutated", "mutated", "arbitrary", "magic"]))
    if kind == "arbitrary":
        return draw(st.binary(max_size=200)), original
    if kind == "magic":
        return archive[:draw(st.integers(4, 12))] + draw(st.binary(max_size=200)), original
    return mutate(draw, archive), original


def _leaves(value, path=()):
    """(path, value) of every number, string and null in a JSON value, and of every list and dict."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, path + (i,))


def changed_params(draw, payload: bytes) -> bytes:
    """The header with one model parameter changed, removed or added: every value the decoder's
    parameter check must bound (the match model's and the base context's too)."""
    header = json.loads(payload)
    params = header["params"]
    if draw(st.booleans()):  # the newer models' parameters, where the archive has none
        for key, value in (("row_order", 1), ("bases", {}), ("qualities", {})):
            params.setdefault(key, value)
        params["bases"].setdefault("match", {"min_length": 12, "table_bits": 22, "count_limit": 255})
        params["qualities"].setdefault("base_context", {"bases": 2, "run_levels": 4, "q2_levels": 1})
    path, _ = draw(st.sampled_from([leaf for leaf in _leaves(params) if leaf[0]]))
    parent = params
    for key in path[:-1]:
        parent = parent[key]
    kind = draw(st.sampled_from(["small", "int", "other", "remove"]))
    if kind == "remove" and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(st.integers(-2, 40) if kind == "small" else st.integers(-2**63, 2**64)
                                if kind == "int" else st.sampled_from([None, "1", 1.5, True, [], {}]))
    return json.dumps(header).encode()


@st.composite
def crafted_archives(draw):
    """Hostile archives: any part changed and every checksum made valid again, so that the decoders of
    the header, the models and each stream meet the damage themselves."""
    archive, original = draw(st.sampled_from(SEEDS))
    payload, models, blocks, statistics, major = split_archive(archive)
    part = draw(st.sampled_from(["header", "params", "models", "stream", "field", "statistics"]))
    if part == "header":
        payload = mutate(draw, payload)
    elif part == "params":
        payload = changed_params(draw, payload)
    elif part == "models":
        models = mutate(draw, models)
    elif part == "statistics":  # its payload changed, its version changed, or a section added to a 1.0 archive
        version, section = statistics or (draw(st.integers(0, 255)), b"")
        if draw(st.booleans()):
            section = mutate(draw, section)
        else:
            version = draw(st.integers(0, 255))
        statistics = version, section
    else:
        block = blocks[draw(st.integers(0, len(blocks) - 1))]
        if part == "stream":
            streams = list(block[4])
            which = draw(st.integers(0, len(streams) - 1))
            streams[which] = mutate(draw, streams[which])
            block[4] = streams
        else:
            which = draw(st.integers(0, 3))
            largest = 2**32 - 1 if which == 0 else 2**64 - 1  # records is a 32-bit field
            block[which] = draw(st.one_of(st.integers(0, largest), st.integers(-3, 3).map(
                lambda delta: min(largest, max(0, block[which] + delta)))))
    return seal(payload, models, blocks, statistics, major), original


def refused_or_exact(archive: bytes, original: bytes) -> None:
    try:
        out = io.BytesIO()
        pipeline.decompress_stream(io.BytesIO(archive), out, 1)
    except CorruptArchiveError:
        return
    assert out.getvalue() == original


@fuzz_settings(2000)
@given(damaged_archives())
def test_damaged_archives_are_refused_or_exact(case):
    refused_or_exact(*case)


@fuzz_settings(2000)
@given(crafted_archives())
def test_crafted_archives_are_refused_or_exact(case):
    refused_or_exact(*case)


@fuzz_settings(2000)
@given(crafted_archives())
def test_crafted_archives_are_described_or_refused(case):
    """What list, report and the MultiQC files read (header, index, block headers, statistics): a clean
    refusal or a description, never another exception."""
    with tempfile.NamedTemporaryFile(suffix=".lz") as f:
        f.write(case[0])
        f.flush()
        try:
            described = facts.gather(f.name)
        except CorruptArchiveError:
            return
        json.dumps(described.summary())
        multiqc.files(described)
        assert described.statistics is not None or described.no_statistics


def test_sealing_an_unchanged_archive_gives_it_back():
    for archive, _ in SEEDS:
        assert seal(*split_archive(archive)) == archive
