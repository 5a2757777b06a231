"""Damaged, truncated and foreign archives are refused with a clear message, never decoded wrongly."""

import hashlib
import io
import json
import struct

import numpy as np
import pytest

from lstmzip import container, levels
from lstmzip.errors import CorruptArchiveError, LstmzipError

from conftest import compress_bytes, corpus_records, decompress_bytes, fastq, seal, split_archive


@pytest.fixture(scope="module")
def small():
    data = fastq(corpus_records("hiseqx_151", 40))
    return data, compress_bytes(data)


def refused(archive: bytes) -> str:
    with pytest.raises(LstmzipError) as caught:
        decompress_bytes(archive)
    return str(caught.value)


def test_every_truncation_is_refused(small):
    _, archive = small
    for end in range(len(archive)):
        assert refused(archive[:end])


def test_random_bit_flips_are_refused(small):
    data, archive = small
    rng = np.random.default_rng(1)
    for _ in range(300):
        damaged = bytearray(archive)
        position = int(rng.integers(len(damaged)))
        damaged[position] ^= 1 << int(rng.integers(8))
        try:
            out = decompress_bytes(bytes(damaged))
        except CorruptArchiveError:
            continue
        assert out == data  # a flip that changes nothing decoded is the only other outcome


def test_trailing_bytes_are_an_error(small):
    _, archive = small
    assert refused(archive + b"\0") == "archive has trailing bytes after its end"


def test_foreign_files_are_named(small):
    assert refused(b"LZIP\x01\x0c" + b"\0" * 40) == (
        "this is an lzip file, not an lstmzip archive (decompress it with lzip -d)")
    assert refused(b"@r\nACGT\n+\nIIII\n") == "not an lstmzip archive"
    assert refused(b"") == "not an lstmzip archive"


def test_header_checksum_and_version(small):
    _, archive = small
    bad = bytearray(archive)
    bad[4] = 4  # major version
    assert refused(bytes(bad)) == "archive format version 4.5 is not supported by this lstmzip"
    bad = bytearray(archive)
    bad[15] ^= 1
    assert refused(bytes(bad)) == "archive header is corrupt (checksum mismatch)"


def test_header_json_is_deflated_with_the_dictionary_of_the_format(small):
    """3.0 stores the header JSON as raw deflate with a preset dictionary that is part of the format (its
    bytes may never change); a damaged, unfinished, overlong or trailing deflate stream whose checksum is
    valid is refused, and the same JSON as 2.0's plain text decodes the same."""
    assert hashlib.sha256(container.HEADER_DICTIONARY).hexdigest() == (
        "2781830d8b65361277a9f2f8dd928f49f1362d89d93bb6a39b50f9efd319f2d8")
    data, archive = small
    payload, models, blocks, statistics, major = split_archive(archive)
    assert (major, archive[5]) == container.VERSION == (3, 5)
    assert struct.unpack_from("<I", archive, 8)[0] < len(payload) // 8  # about 40 bytes of 640
    assert json.loads(payload)["params"] == levels.params_for_level(6) | {"qualities": json.loads(payload)[
        "params"]["qualities"], "lengths_from_names": True}  # the quality context is chosen per input
    deflated = container.deflate_header(payload)
    assert seal(payload, models, blocks, statistics, 3) == archive
    for stored in (deflated[:-1], deflated + b"\0", b"\xff" + deflated[1:], b""):
        assert refused(seal(payload, models, blocks, statistics, 3, stored)) == "archive header is corrupt"
    overlong = container.deflate_header(b" " * container.MAX_HEADER_JSON + payload)  # valid JSON, over 1 MiB
    assert refused(seal(payload, models, blocks, statistics, 3, overlong)) == "archive header is corrupt (too long)"
    assert decompress_bytes(seal(payload, models, blocks, statistics, 2)) == data


def test_block_checksum_is_checked_before_decoding(small):
    _, archive = small
    header, _, header_size = container.read_header(io.BytesIO(archive))
    bad = bytearray(archive)
    bad[header_size + 200] ^= 0xFF  # inside the first block's streams
    assert refused(bytes(bad)) == "block 1 is corrupt (checksum mismatch)"


def test_content_hash_catches_a_wrong_decode(small):
    """Damage that still decodes (its CRC recomputed) cannot produce wrong output: the hash refuses it."""
    _, archive = small
    _, _, header_size = container.read_header(io.BytesIO(archive))
    fmt = container._BLOCK
    fields = list(fmt.unpack_from(archive, header_size))
    sizes = fields[5:10]
    quals = header_size + fmt.size + 4 + sum(sizes[:4])  # the qualities stream
    bad = bytearray(archive)
    bad[quals + 8] -= 1  # its first alphabet character: still a valid, sorted alphabet
    fields[10 + 4] = container._crc(bytes(bad[quals : quals + sizes[4]]))
    head = fmt.pack(*fields)
    bad[header_size : header_size + fmt.size + 4] = head + struct.pack("<I", container._crc(head))
    assert refused(bytes(bad)) == "block 1 decodes to wrong data (content hash mismatch)"


def test_list_reads_the_index(small, tmp_path):
    data, archive = small
    path = tmp_path / "a.lz"
    path.write_bytes(archive)
    with open(path, "rb") as f:
        (member,) = container.read_members(f)
    assert (member.offset, member.size) == (0, len(archive))
    assert sum(b.records for b in member.blocks) == 40
    assert sum(b.raw_size for b in member.blocks) == len(data)
    assert member.header["level"] == levels.DEFAULT_LEVEL


def test_every_level_has_valid_parameters():
    for level in range(1, 10):
        assert levels.check_params(levels.params_for_level(level))


def test_crafted_parameters_are_refused():
    params = levels.params_for_level(6)
    params["bases"]["table_bits"] = [26] * 6
    with pytest.raises(CorruptArchiveError):
        levels.check_params(params)
    params = levels.params_for_level(6)
    params["qualities"]["increment"] = "16"
    with pytest.raises(CorruptArchiveError):
        levels.check_params(params)
    for key in ("block_bytes", "block_records"):  # larger blocks than any level writes
        params = levels.params_for_level(9)
        params[key] += 1
        with pytest.raises(CorruptArchiveError):
            levels.check_params(params)


def _with_block_fields(archive: bytes, **changes) -> bytes:
    """The archive with fields of its first block header changed and that header's CRC made valid again:
    what a crafted (hostile) archive looks like."""
    _, _, header_size = container.read_header(io.BytesIO(archive))
    fmt = container._BLOCK
    fields = list(fmt.unpack_from(archive, header_size))
    positions = {"records": 1, "raw_size": 2, "bases": 3, "first_stream_size": 5}
    for name, value in changes.items():
        fields[positions[name]] = value
    head = fmt.pack(*fields)
    return archive[:header_size] + head + struct.pack("<I", container._crc(head)) + archive[header_size + fmt.size + 4 :]


@pytest.mark.parametrize("changes", [
    {"records": 1 << 31},
    {"raw_size": 1 << 62},
    {"bases": 1 << 40},
    {"first_stream_size": 1 << 60},
])
def test_crafted_block_sizes_are_refused_before_allocating(small, changes):
    _, archive = small
    assert refused(_with_block_fields(archive, **changes)) == "block 1 header is corrupt (impossible sizes)"


def test_crafted_header_lengths_are_refused(small):
    _, archive = small
    bad = bytearray(archive)
    bad[8:12] = struct.pack("<I", 1 << 30)  # the header JSON length
    assert refused(bytes(bad)) == "archive header is corrupt (too long)"


def test_crafted_model_sizes_are_refused():
    from lstmzip.networks import Learned
    from lstmzip.packing import join_sections

    huge = struct.pack("<HHH", 6, 65535, 4) + b"\0" * 100
    with pytest.raises(CorruptArchiveError, match="impossible sizes"):
        Learned.from_bytes(join_sections([huge, b""]))


def test_running_out_of_memory_is_not_called_corruption(small, monkeypatch):
    """A valid archive on a machine without enough memory must not be reported as damaged."""
    from lstmzip import pipeline, streams

    def no_memory(*args):
        raise MemoryError

    monkeypatch.setattr(streams, "decode_bases", no_memory)
    monkeypatch.setattr(pipeline.streams, "decode_bases", no_memory)
    with pytest.raises(MemoryError):
        decompress_bytes(small[1])


def _largest_claim(records: int) -> bytes:
    """A small archive whose one block claims the most the format allows: a header with the largest
    block size any level writes, a raw size of that plus the longest record, and `records` reads of
    equal length sharing half of it as bases; the streams say so, and every checksum is valid."""
    from lstmzip import packing
    from lstmzip.fastq import MAX_RECORD_BYTES
    from lstmzip.names import encode_names

    data = b"@r\nACGT\n+\nIIII\n"
    payload, models, blocks, _, _ = split_archive(compress_bytes(data, level=1))
    header = json.loads(payload)
    header["params"]["block_bytes"] = levels.MAX_BLOCK_BYTES
    payload = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    raw_size = levels.MAX_BLOCK_BYTES + MAX_RECORD_BYTES
    length = raw_size // 2 // records
    layout = packing.join_sections([packing.compress(bytes(records)), packing.compress(b""), b"\x01"])
    streams = [layout, bytes([0]) + packing.pack_ints(np.full(records, length)), encode_names([b"r"] * records),
               *blocks[0][4][3:]]
    return seal(payload, models, [[records, raw_size, records * length, blocks[0][3], streams]])


@pytest.mark.parametrize("records", [1, levels.MAX_BLOCK_RECORDS])
def test_largest_claims_decode_within_bounded_memory(tmp_path, records):
    """256 M bases in one read, or in the most records a block may hold, claimed by a few kB: refused,
    within 2 GiB of address space (the decoder needs about 2 bytes per claimed base, 230 per read)."""
    import resource
    import subprocess
    import sys

    archive = tmp_path / "claim.lz"
    archive.write_bytes(_largest_claim(records))
    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # noqa: E731
    result = subprocess.run([sys.executable, "-m", "lstmzip", "decompress", "-c", "-T1", archive],
                            capture_output=True, preexec_fn=limit)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().startswith(f"lstmzip: {archive}: block 1: range-coded stream is corrupt")
