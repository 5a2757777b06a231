"""Property tests (short in CI; fuzz/run.py runs the same properties for hours):
- any FASTQ built from the odd cases lstmzip must keep round-trips exactly;
- any damage to a valid archive, arbitrary bytes, and any change to an archive's parts with every
  checksum made valid again end in a clean refusal or in exactly the original data (and, for a paired
  archive, exactly both mates), read front to back as from a pipe or through the index as ranges are,
  and what list and report read is described or cleanly refused.
  Seeds: single archives of both formats, paired ones, a joined one made with a model file, and
  concatenations of several members, each member since 2.0 with its statistics section;
- any damage to a model file is refused, and a changed one whose SHA-256 is made valid again is refused
  or, if it still reads, compresses a FASTQ that decodes exactly."""

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hashlib

from lstmzip import archive, container, modelfile, pipeline
from lstmzip.errors import CorruptArchiveError, ModelFileError
from lstmzip.report import facts, multiqc

from conftest import compress_bytes, compress_pair_bytes, decompress_bytes, seal, split_archive

EXAMPLES = os.environ.get("LSTMZIP_FUZZ_EXAMPLES")  # per property; fuzz/run.py sets it
DEADLINE = os.environ.get("LSTMZIP_FUZZ_DEADLINE")  # seconds; fuzz/run.py sets it, CI runs no timed test


def fuzz_settings(ci_examples: int):
    """In CI, well under a minute per property on a 2-core machine (the suite must stay under 20 minutes)."""
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


@fuzz_settings(50)
@given(fastq_files())
def test_any_fastq_round_trips(data):
    assert decompress_bytes(compress_bytes(data, level=1)) == data


ORIGINAL = b"@r1 x\nACGTNacgt\n+\nIIII#IIII\n@r2\r\nGG\r\n+r2\r\n!~\r\n"
GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> tuple[bytes, bytes]:
    path = GOLDEN / name
    return path.read_bytes(), (path.parent / (path.name.split(".")[0] + ".fq")).read_bytes()


# a pair of two blocks (at least 1 KiB each, the smallest block size): mate 1's file ends without a
# newline in the second; mate 2 has CRLF lines and a '+name' line
P1, Q1 = b"@p/1\n" + b"ACGTT" * 120 + b"\n+\n" + b"IIII#" * 120, b"@q/1\nGG\n+\n!~"
P2, Q2 = b"@p/2\r\n" + b"TTA" * 200 + b"\r\n+\r\n" + b"II#" * 200 + b"\r\n", b"@q/2\nC\n+q/2\n~\n"
MATES = (P1 + b"\n" + Q1, P2 + Q2)
INTERLEAVED = P1 + b"\n" + P2 + Q1 + b"\n" + Q2
TINY = compress_bytes(ORIGINAL, level=1)
TINY_PAIR = compress_pair_bytes(*MATES, block_bytes=1024)
V1_ODD = golden("v1/odd_cases.level6.lz")
# (archive, original, mates or None): a tiny one (of the version written, 3.5), one with every odd case
# (format 1.0), one with both learned networks in each format before (1.0 without, 2.0 with a statistics
# section; both with a plain-text header), paired ones, concatenations of members (each member since 2.0
# with its own statistics section; a 1.0 member before a 3.1 one), and the newer models (3.1's pair and
# members: the coarse quality context; trimmed: read lengths that follow from the names; 3.2's nanopore
# reads: the base context's base ahead and coarse mix; 3.3's trimmed_key: lengths from the number after
# a key token, names whose last tokens are one, the match model's short k; 3.4's miseq reads: the mean
# quality so far in the coarse quality context; 3.5's quality networks that read the next base)
SEEDS = [(TINY, ORIGINAL, None), (*V1_ODD, None),
         (*golden("v1/hiseqx_200.level6_lstm.lz"), None), (*golden("v2/hiseqx_200.level6_lstm.lz"), None),
         (TINY_PAIR, INTERLEAVED, MATES), (*golden("v3.1/pair.level6.lz"),
                                            ((GOLDEN / "v3.1/pair_R1.fq").read_bytes(), (GOLDEN / "v3.1/pair_R2.fq").read_bytes())),
         (*golden("v3.1/two_members.level1_level6.lz"), None),
         (*golden("v2/hiseqx_200.joined_model.lz"), None),
         (TINY + TINY_PAIR + TINY, ORIGINAL + INTERLEAVED + ORIGINAL, None),
         (V1_ODD[0] + TINY_PAIR, V1_ODD[1] + INTERLEAVED, None),
         # the match model and interleaved rows (with both networks), and qualities in a context of the bases
         (*golden("v3/sorted_reads.level6_lstm.lz"), None), (*golden("v2/nanopore.level1.lz"), None),
         (*golden("v3.1/trimmed.level6.lz"), None), (*golden("v3.2/nanopore_400.level6.lz"), None),
         (*golden("v3.3/trimmed_key.level9.lz"), None), (*golden("v3.4/miseq_300.level6.lz"), None),
         (*golden("v3.5/hiseqx_200.level9_model.lz"), None), (*golden("v3.5/nanopore_400.level6_lstm.lz"), None)]


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
    data, original, mates = draw(st.sampled_from(SEEDS))
    kind = draw(st.sampled_from(["mutated", "mutated", "arbitrary", "magic"]))
    if kind == "arbitrary":
        return draw(st.binary(max_size=200)), original, mates
    if kind == "magic":
        return data[:draw(st.integers(4, 12))] + draw(st.binary(max_size=200)), original, mates
    return mutate(draw, data), original, mates


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
    """Hostile archives: any part of one member changed (its statistics section too) and every checksum
    made valid again, so that the decoders of the header, the models and each stream meet the damage
    themselves."""
    data, original, mates = draw(st.sampled_from(SEEDS))
    members = [data[m.offset : m.offset + m.size] for m in container.read_members(io.BytesIO(data))]
    which_member = draw(st.integers(0, len(members) - 1))
    payload, models, blocks, statistics, major = split_archive(members[which_member])
    part = draw(st.sampled_from(["header", "params", "models", "stream", "field", "statistics"]))
    stored = None
    if part == "header":
        if major >= 3 and draw(st.booleans()):  # the deflated bytes themselves, for the inflater to meet
            stored = mutate(draw, container.deflate_header(payload))
        else:
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
            if which in (1, 2):  # raw size and bases are summed in the footer's 64-bit fields
                largest -= sum(other[which] for other in blocks if other is not block)
            block[which] = draw(st.one_of(st.integers(0, largest), st.integers(-3, 3).map(
                lambda delta: min(largest, max(0, block[which] + delta)))))
    members[which_member] = seal(payload, models, blocks, statistics, major, stored)
    return b"".join(members), original, mates


def refused_or_exact(data: bytes, original: bytes, mates: tuple[bytes, bytes] | None) -> None:
    """Read front to back (as from a pipe), each block's bytes and, of a paired archive, both mates'."""
    blocks = []
    try:
        for decoded in pipeline.decode_members(io.BytesIO(data), 1):
            blocks.append(decoded)
    except CorruptArchiveError:
        return
    assert b"".join(decoded.raw for decoded in blocks) == original
    if mates is not None and all(decoded.member.paired for decoded in blocks):
        for mate, expected in zip((1, 2), mates):
            assert b"".join(archive.block_bytes(decoded, mate) for decoded in blocks) == expected


def refused_or_exact_by_index(data: bytes, original: bytes, mates) -> None:
    """Read through the index, as cat --records and list do."""
    try:
        out = b"".join(archive.read_range(io.BytesIO(data), threads=1))
        facts.read(io.BytesIO(data), "fuzzed").summary(with_blocks=True)
    except CorruptArchiveError:
        return
    assert out == original


@fuzz_settings(1000)
@given(damaged_archives())
def test_damaged_archives_are_refused_or_exact(case):
    refused_or_exact(*case)


@fuzz_settings(700)
@given(crafted_archives())
def test_crafted_archives_are_refused_or_exact(case):
    refused_or_exact(*case)


@fuzz_settings(500)
@given(st.one_of(damaged_archives(), crafted_archives()))
def test_damaged_archives_read_by_index_are_refused_or_exact(case):
    refused_or_exact_by_index(*case)


@fuzz_settings(1000)
@given(crafted_archives())
def test_crafted_archives_are_described_or_refused(case):
    """What list, report and the MultiQC files read (each member's header, index, block headers,
    statistics): a clean refusal or a description, never another exception."""
    with tempfile.NamedTemporaryFile(suffix=".lz") as f:
        f.write(case[0])
        f.flush()
        try:
            described = facts.gather(f.name)
        except CorruptArchiveError:
            return
        json.dumps(described.summary(with_blocks=True))
        multiqc.files(described)
        for member in described.members:
            assert member.statistics is not None or member.no_statistics


def test_sealing_an_unchanged_archive_gives_it_back():
    for data, _, _ in SEEDS:
        members = [data[m.offset : m.offset + m.size] for m in container.read_members(io.BytesIO(data))]
        assert b"".join(seal(*split_archive(member), minor=member[5]) for member in members) == data


def test_seeds_decode_to_their_originals_and_hold_what_they_are_for():
    (pair,) = container.read_members(io.BytesIO(TINY_PAIR))
    assert [block.records for block in pair.blocks] == [2, 2] and pair.statistics_offset is not None
    assert all(m.statistics_offset is not None for m in container.read_members(io.BytesIO(SEEDS[-2][0])))
    for data, original, mates in SEEDS:
        refused_or_exact(data, original, mates)
        refused_or_exact_by_index(data, original, mates)
        assert decompress_bytes(data) == original


GOLDEN_MODEL = (GOLDEN / "v2/hiseqx_200.level6.lzm").read_bytes()


@st.composite
def changed_models(draw):
    """A model file damaged as a disk would (its SHA-256 then fails), or changed in its JSON or networks
    with the SHA-256 made valid again."""
    data = GOLDEN_MODEL
    if draw(st.booleans()):
        return mutate(draw, data), False
    length = int.from_bytes(data[8:12], "little")
    head, about, rest = data[:12], data[12 : 12 + length], data[12 + length : -32]
    if draw(st.booleans()):
        about = mutate(draw, about)
    else:
        rest = rest[:4] + mutate(draw, rest[4:])
    body = head[:8] + len(about).to_bytes(4, "little") + about + rest
    return body + hashlib.sha256(body).digest(), True


@fuzz_settings(300)
@given(changed_models())
def test_changed_model_files_are_refused_or_work(case):
    data, rehashed = case
    try:
        model = modelfile.parse(data)
    except ModelFileError:
        return
    assert rehashed or data == GOLDEN_MODEL  # damage never reads (a mutation may give the same bytes back)
    json.dumps(model.describe())
    if model.params == modelfile.parse(GOLDEN_MODEL).params:  # (other parameters may ask for big tables)
        out = io.BytesIO()
        pipeline.compress_stream(io.BytesIO(ORIGINAL), out, 6, 1, model=model)
        assert decompress_bytes(out.getvalue()) == ORIGINAL
