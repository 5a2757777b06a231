"""The archive container, version 3.5 (docs/FORMAT.md is the specification); reads 1.x, 2.x and 3.x.

A file is one or more members, each header | block* | statistics? | index | footer (as `cat a.lz b.lz`
makes). All integers little-endian. Every part carries a CRC32; each block also carries the xxh64 of its
decoded bytes. Readers check every size against sane maxima and against what remains before reading or
allocating. Readers accept versions 1.x (a 1.0 member is a 2.0 member without a statistics section),
2.x and 3.x (a 3.0 member is a 2.0 member whose header JSON is deflated; 3.1 adds two model parameters,
the coarse quality context and lengths from the names, 3.2 two of the quality model in a context of the
bases, 3.3 a lengths stream mode, 3.4 one of the coarse quality context, 3.5 a quality network input: the
container sees none of them; it stores the learned models packed since 3.5).
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

from . import packing
from .errors import CorruptArchiveError
from .fastq import MAX_RECORD_BYTES  # a block exceeds its byte limit by at most one record

MAGIC = b"\x89LZQ"
FOOTER_MAGIC = b"LZQ\x89"
LZIP_MAGIC = b"LZIP"
VERSION = (3, 5)  # 3.1: the coarse quality context and lengths from the names; 3.2: the base context's
# coarse mix and base ahead (model parameters all); 3.3: lengths from the number after a key token; 3.4:
# the mean quality so far in the coarse quality context (a model parameter); 3.5: the quality network may
# read the next base (13 inputs instead of 8), and the learned models are stored packed (packing.compress)
READABLE_MAJORS = (1, 2, 3)
SAME_BLOCKS_MAJORS = (2, 3)  # members of these versions differ only in how the header JSON is stored
MAX_HEADER_JSON = 1 << 20
MAX_MODELS = 1 << 24
STREAM_NAMES = ("layout", "lengths", "names", "bases", "qualities")  # a block's streams, in stored order
N_STREAMS = len(STREAM_NAMES)

_HEAD = struct.Struct("<4sBBHI")  # magic, major, minor, flags, length of the stored header JSON
# Format 3.0's preset dictionary for the header JSON: the parameters of levels 1 and 9, then a level-6 header
# with both networks' training report. Most of a header is its level's parameters, which deflate then codes
# as a few matches into the dictionary. Part of the format: never changed for 3.0.
HEADER_DICTIONARY = (
    b'{"level":1,"params":{"bases":{"count_limits":[30,255,255],"learning_rate":4,"match":{"count_limit":2'
    b'55,"min_length":12,"table_bits":22},"orders":[2,11,16],"positional":[0,0,0],"reverse_complement":[0,'
    b'1,1],"table_bits":[4,22,22]},"block_bytes":33554432,"block_records":4194304,"qualities":{"increment"'
    b':16,"mixer_rate":32,"q2_levels":8,"q3_levels":4,"total_limit":65000},"row_order":1,"row_width":1024,'
    b'"training":null}}{"level":9,"params":{"bases":{"count_limits":[30,60,255,255,255],"learning_rate":4,'
    b'"match":{"count_limit":255,"min_length":12,"table_bits":24},"orders":[2,6,11,14,18],"positional":[0,'
    b'0,0,0,0],"reverse_complement":[0,0,1,1,1],"table_bits":[4,12,22,24,24]},"block_bytes":268435456,"blo'
    b'ck_records":4194304,"qualities":{"increment":16,"mixer_rate":32,"q2_levels":16,"q3_levels":16,"total'
    b'_limit":65000},"row_order":1,"row_width":1024,"training":{"bases":{"epochs":12,"hidden":16},"check_r'
    b'eads":2000,"max_steps":200,"min_symbols":500000,"qualities":{"epochs":60,"hidden":32},"seed":0,"trai'
    b'n_reads":12000}}}{"creator":"lstmzip 0.1.0","learning":{"bases":{"bits_per_symbol_with":1.9123,"bits'
    b'_per_symbol_without":1.9345,"epochs":16,"hidden":16,"losses":[1.23456,1.12345,1.01234],"parameters":'
    b'1476,"used":true,"weight_bytes":1434},"qualities":{"bits_per_symbol_with":1.9123,"bits_per_symbol_wi'
    b'thout":1.9345,"epochs":16,"hidden":32,"losses":[1.23456,1.12345,1.01234],"parameters":5772,"used":tr'
    b'ue,"weight_bytes":5312}},"level":6,"model":"","mtime":1700000000,"name":"reads.fq","pair":[{"mtime":'
    b'1700000000,"name":"reads_R1.fq"},{"mtime":1700000000,"name":"reads_R2.fq"}],"params":{"bases":{"coun'
    b't_limits":[30,60,255,255],"learning_rate":4,"match":{"count_limit":255,"min_length":12,"table_bits":'
    b'22},"orders":[3,7,11,14],"positional":[0,0,0,0],"reverse_complement":[0,0,1,1],"table_bits":[6,14,22'
    b',22]},"block_bytes":33554432,"block_records":4194304,"qualities":{"base_context":{"bases":2,"q2_leve'
    b'ls":1,"run_levels":4},"increment":16,"mixer_rate":32,"q2_levels":16,"q3_levels":16,"total_limit":650'
    b'00},"row_order":1,"row_width":1024,"training":{"bases":null,"check_reads":2000,"max_steps":200,"min_'
    b'symbols":4000000,"qualities":{"epochs":16,"hidden":32},"seed":0,"train_reads":6000}}}'
)

_BLOCK = struct.Struct(f"<cIQQB{N_STREAMS}Q{N_STREAMS}IQ")  # tag, records, raw, bases, n, sizes, crcs, xxh64
_INDEX_ENTRY = struct.Struct("<QQQQQ")  # offset, stored bytes, records, raw bytes, bases
_SECTION = struct.Struct("<cBI")  # tag, version of its payload, payload length; then payload, CRC32
SECTION_OVERHEAD = _SECTION.size + 4
MAX_SECTION = 1 << 20
_FOOTER = struct.Struct("<QQQQI4s")  # index offset, blocks, records, raw bytes, crc of the first 32 bytes, magic
FOOTER_SIZE = _FOOTER.size
READ_CHUNK = 1 << 24


@dataclass
class BlockInfo:
    offset: int  # from the start of its member
    stored: int  # bytes of the block in the archive, header included
    records: int
    raw_size: int
    bases: int
    sizes: tuple = ()
    crcs: tuple = ()
    digest: int = 0


def _crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def _read_exact(f: BinaryIO, size: int, what: str) -> bytes:
    """Read size bytes in bounded chunks, so a corrupt size cannot allocate more than the file holds."""
    parts = []
    left = size
    while left:
        part = f.read(min(left, READ_CHUNK))
        if not part:
            raise CorruptArchiveError(f"archive is truncated (in the {what})")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _check_magic(start: bytes) -> None:
    if start[:4] == LZIP_MAGIC:
        raise CorruptArchiveError("this is an lzip file, not an lstmzip archive (decompress it with lzip -d)")
    if start[:4] != MAGIC[: len(start[:4])] or len(start) < 4:
        raise CorruptArchiveError("not an lstmzip archive")


class ArchiveWriter:
    def __init__(self, out: BinaryIO, header: dict, models: bytes = b""):
        """models: the learned models' bytes (see networks.Learned), stored after the header JSON."""
        self.out = out
        payload = deflate_header(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
        stored = packing.compress(models) if models else b""  # since 3.5: LZMA2 (-21 % on miseq_n701's at -9)
        head = _HEAD.pack(MAGIC, *VERSION, 0, len(payload)) + payload + struct.pack("<I", len(stored)) + stored
        self._write(head + struct.pack("<I", _crc(head)))
        self.index: list[BlockInfo] = []

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.offset = getattr(self, "offset", 0) + len(data)

    def write_block(self, records: int, raw_size: int, bases: int, streams: list[bytes], digest: int) -> None:
        sizes = [len(s) for s in streams]
        crcs = [_crc(s) for s in streams]
        head = _BLOCK.pack(b"B", records, raw_size, bases, N_STREAMS, *sizes, *crcs, digest)
        head += struct.pack("<I", _crc(head))
        self.index.append(BlockInfo(self.offset, len(head) + sum(sizes), records, raw_size, bases))
        self._write(head)
        for stream in streams:
            self._write(stream)

    def close(self, statistics: tuple[int, bytes] | None = None) -> None:
        """statistics: (version, payload) of the statistics section, written between the blocks and the
        index (where a streamed archive can still put what it learnt while writing the blocks)."""
        if statistics is not None:
            head = _SECTION.pack(b"S", statistics[0], len(statistics[1])) + statistics[1]
            self._write(head + struct.pack("<I", _crc(head)))
        index_offset = self.offset
        index = b"I" + struct.pack("<Q", len(self.index)) + b"".join(
            _INDEX_ENTRY.pack(b.offset, b.stored, b.records, b.raw_size, b.bases) for b in self.index)
        self._write(index + struct.pack("<I", _crc(index)))
        totals = struct.pack("<QQQQ", index_offset, len(self.index), sum(b.records for b in self.index),
                             sum(b.raw_size for b in self.index))
        self._write(totals + struct.pack("<I", _crc(totals)) + FOOTER_MAGIC)


def deflate_header(payload: bytes) -> bytes:
    """Header JSON as format 3.0 stores it: raw deflate with the dictionary."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zdict=HEADER_DICTIONARY)
    return deflate.compress(payload) + deflate.flush()


def _header_json(major: int, stored: bytes) -> bytes:
    if major < 3:
        return stored
    inflate = zlib.decompressobj(-15, zdict=HEADER_DICTIONARY)
    try:
        payload = inflate.decompress(stored, MAX_HEADER_JSON)
    except zlib.error:
        raise CorruptArchiveError("archive header is corrupt") from None
    if inflate.unconsumed_tail:
        raise CorruptArchiveError("archive header is corrupt (too long)")
    if not inflate.eof or inflate.unused_data:
        raise CorruptArchiveError("archive header is corrupt")
    return payload


def read_header(f: BinaryIO, start: bytes = b"") -> tuple[dict, bytes, int]:
    """The header's JSON object, the models' bytes and the header's size in bytes. start: its first bytes,
    if they were read already (next_member)."""
    start += f.read(_HEAD.size - len(start))
    _check_magic(start)
    if len(start) < _HEAD.size:
        raise CorruptArchiveError("archive is truncated (in the header)")
    _, major, minor, flags, length = _HEAD.unpack(start)
    if major not in READABLE_MAJORS:
        raise CorruptArchiveError(f"archive format version {major}.{minor} is not supported by this lstmzip")
    if flags:
        raise CorruptArchiveError("archive header has reserved flags set")
    if length > MAX_HEADER_JSON:
        raise CorruptArchiveError("archive header is corrupt (too long)")
    payload = _read_exact(f, length, "header")
    models_size = _read_exact(f, 4, "header")
    if struct.unpack("<I", models_size)[0] > MAX_MODELS:
        raise CorruptArchiveError("archive header is corrupt (too long)")
    stored = _read_exact(f, struct.unpack("<I", models_size)[0], "header")
    (crc,) = struct.unpack("<I", _read_exact(f, 4, "header"))
    if crc != _crc(start + payload + models_size + stored):
        raise CorruptArchiveError("archive header is corrupt (checksum mismatch)")
    models = stored
    if (major, minor) >= (3, 5) and stored:  # packed since 3.5
        try:
            models = packing.decompress(stored, MAX_MODELS)
        except CorruptArchiveError:
            raise CorruptArchiveError("archive header is corrupt (its learned models do not unpack)") from None
    try:
        header = json.loads(_header_json(major, payload))
    except ValueError:
        raise CorruptArchiveError("archive header is corrupt") from None
    if not isinstance(header, dict):
        raise CorruptArchiveError("archive header is corrupt")
    return header, models, _HEAD.size + length + 4 + len(stored) + 4


def read_blocks(f: BinaryIO, params: dict, header_size: int, paired: bool = False,
                statistics: Callable[[int, bytes], None] | None = None) -> Iterator[tuple[BlockInfo, list[bytes]]]:
    """Yield each block of one member with its streams, CRC-checked, then check the member's statistics
    section (given to statistics(version, payload)), index and footer. Works on pipes: nothing is seeked.
    What follows the member is next_member's to read."""
    offset = header_size
    seen: list[BlockInfo] = []
    while True:
        tag = _read_exact(f, 1, "block list")
        if tag == b"S":  # at most one, after the last block
            version, payload = _read_section(f, tag)
            if statistics is not None:
                statistics(version, payload)
            offset += SECTION_OVERHEAD + len(payload)
            tag = _read_exact(f, 1, "index")
            if tag != b"I":
                raise CorruptArchiveError(f"archive is corrupt (unexpected byte at offset {offset})")
        if tag == b"I":
            break
        if tag != b"B":
            raise CorruptArchiveError(f"archive is corrupt (unexpected byte at offset {offset})")
        info, streams = _read_block(f, params, offset, len(seen) + 1, paired)
        offset += info.stored
        seen.append(info)
        yield info, streams
    _check_index_and_footer(f, seen, offset)


def _read_block(f: BinaryIO, params: dict, offset: int, number: int, paired: bool) -> tuple[BlockInfo, list[bytes]]:
    """One block after its tag `B`, at `offset` in its member."""
    max_records = params["block_records"]
    max_raw = params["block_bytes"] + MAX_RECORD_BYTES
    rest = _read_exact(f, _BLOCK.size - 1 + 4, "block header")
    head = b"B" + rest[:-4]
    if struct.unpack("<I", rest[-4:])[0] != _crc(head):
        raise CorruptArchiveError(f"block {number} header is corrupt (checksum mismatch)")
    fields = _BLOCK.unpack(head)
    records, raw_size, bases, n_streams = fields[1:5]
    sizes, crcs, digest = fields[5 : 5 + N_STREAMS], fields[5 + N_STREAMS : 5 + 2 * N_STREAMS], fields[-1]
    if n_streams != N_STREAMS or not 0 < records <= max_records or raw_size > max_raw or 2 * bases > raw_size:
        raise CorruptArchiveError(f"block {number} header is corrupt (impossible sizes)")
    if paired and records % 2:
        raise CorruptArchiveError(f"block {number} header is corrupt (an odd number of records in a paired archive)")
    streams = []
    for size, crc in zip(sizes, crcs):
        if size > 2 * raw_size + (1 << 20):
            raise CorruptArchiveError(f"block {number} header is corrupt (impossible sizes)")
        stream = _read_exact(f, size, f"block {number}")
        if _crc(stream) != crc:
            raise CorruptArchiveError(f"block {number} is corrupt (checksum mismatch)")
        streams.append(stream)
    return BlockInfo(offset, _BLOCK.size + 4 + sum(sizes), records, raw_size, bases, sizes, crcs, digest), streams


def _read_section(f: BinaryIO, tag: bytes) -> tuple[int, bytes]:
    """The statistics section after its tag: (version, payload), CRC-checked."""
    rest = _read_exact(f, _SECTION.size - 1, "statistics section")
    _, version, length = _SECTION.unpack(tag + rest)
    if length > MAX_SECTION:
        raise CorruptArchiveError("archive statistics section is corrupt (too long)")
    payload = _read_exact(f, length, "statistics section")
    (crc,) = struct.unpack("<I", _read_exact(f, 4, "statistics section"))
    if crc != _crc(tag + rest + payload):
        raise CorruptArchiveError("archive statistics section is corrupt (checksum mismatch)")
    return version, payload


def next_member(f: BinaryIO) -> bytes | None:
    """After a member's footer: None at the end of the file, else the first bytes of the next member (its
    magic), for read_header. Anything else is trailing data, refused."""
    start = f.read(len(MAGIC))
    while start and len(start) < len(MAGIC):  # a raw stream may return less than asked
        more = f.read(len(MAGIC) - len(start))
        if not more:
            break
        start += more
    if not start:
        return None
    if start != MAGIC:
        raise CorruptArchiveError("archive has trailing bytes after its end")
    return start


def read_block_at(f: BinaryIO, member_offset: int, info: BlockInfo, params: dict, number: int,
                  paired: bool) -> tuple[BlockInfo, list[bytes]]:
    """One block found by the index (seekable archives), checked against its index entry."""
    f.seek(member_offset + info.offset)
    if f.read(1) != b"B":
        raise CorruptArchiveError(f"block {number} is not where the index says")
    found, streams = _read_block(f, params, info.offset, number, paired)
    if (found.stored, found.records, found.raw_size, found.bases) != (info.stored, info.records, info.raw_size,
                                                                    info.bases):
        raise CorruptArchiveError(f"block {number} does not match the archive index")
    return found, streams


def _check_index_and_footer(f: BinaryIO, seen: list[BlockInfo], index_offset: int) -> None:
    count_bytes = _read_exact(f, 8, "index")
    (count,) = struct.unpack("<Q", count_bytes)
    if count != len(seen):
        raise CorruptArchiveError("archive index does not match its blocks")
    entries = _read_exact(f, count * _INDEX_ENTRY.size, "index")
    (crc,) = struct.unpack("<I", _read_exact(f, 4, "index"))
    if crc != _crc(b"I" + count_bytes + entries):
        raise CorruptArchiveError("archive index is corrupt (checksum mismatch)")
    for i, block in enumerate(seen):
        entry = _INDEX_ENTRY.unpack_from(entries, i * _INDEX_ENTRY.size)
        if entry != (block.offset, block.stored, block.records, block.raw_size, block.bases):
            raise CorruptArchiveError("archive index does not match its blocks")
    footer = _read_exact(f, FOOTER_SIZE, "footer")
    _check_footer(footer, index_offset, seen)


def _check_footer(footer: bytes, index_offset: int | None, blocks: list[BlockInfo]) -> tuple:
    fields = _FOOTER.unpack(footer)
    if fields[-1] != FOOTER_MAGIC:
        raise CorruptArchiveError("archive is truncated or has trailing bytes (no end marker)")
    if fields[4] != _crc(footer[:32]):
        raise CorruptArchiveError("archive footer is corrupt (checksum mismatch)")
    if index_offset is not None and (
        fields[0] != index_offset or fields[1] != len(blocks) or fields[2] != sum(b.records for b in blocks)
        or fields[3] != sum(b.raw_size for b in blocks)
    ):
        raise CorruptArchiveError("archive footer does not match its blocks")
    return fields


@dataclass
class Member:
    """One member of a seekable archive, as its header and index describe it (nothing decoded)."""

    offset: int  # where it starts in the file
    size: int
    header: dict
    models: bytes
    blocks: list[BlockInfo]
    version: tuple[int, int]
    statistics_offset: int | None = None  # its statistics section's, from the member's start; None: it has none
    statistics_size: int = 0  # the section's bytes, framing included


def read_members(f: BinaryIO) -> list[Member]:
    """Every member of a seekable archive, from their indexes: the last member's footer is at the end of
    the file, and each member's index says where it starts, so the walk goes back member by member
    without reading any block. The space between a member's last block and its index is its statistics
    section (or nothing); only the section's frame is checked here (read_statistics reads the rest)."""
    f.seek(0)
    read_header(f)  # a foreign or damaged start is named as such, before the walk from the end
    end = f.seek(0, 2)
    members: list[Member] = []
    while end:
        if end < FOOTER_SIZE:
            raise CorruptArchiveError("archive is truncated")
        f.seek(end - FOOTER_SIZE)
        index_offset, count, _, _, _, _ = footer = _check_footer(f.read(FOOTER_SIZE), None, [])
        index_size = 1 + 8 + count * _INDEX_ENTRY.size + 4
        start = end - FOOTER_SIZE - index_size - index_offset
        if start < 0:
            raise CorruptArchiveError("archive footer is corrupt (index out of place)")
        f.seek(start + index_offset)
        index = f.read(index_size)
        if index[:1] != b"I" or _crc(index[:-4]) != struct.unpack("<I", index[-4:])[0] or \
                struct.unpack_from("<Q", index, 1)[0] != count:
            raise CorruptArchiveError("archive index is corrupt (checksum mismatch)")
        blocks = [BlockInfo(*_INDEX_ENTRY.unpack_from(index, 9 + i * _INDEX_ENTRY.size)) for i in range(count)]
        if not all(block.records for block in blocks):  # a block holds records: ranges skip none unread
            raise CorruptArchiveError("archive index is corrupt (an empty block)")
        if footer[2:4] != (sum(b.records for b in blocks), sum(b.raw_size for b in blocks)):
            raise CorruptArchiveError("archive footer does not match its index")
        f.seek(start)
        header, models, header_size = read_header(f)
        f.seek(start + 4)
        version = tuple(f.read(2))
        offset = header_size
        for block in blocks:  # the blocks fill the member from its header to its statistics or index
            if block.offset != offset:
                raise CorruptArchiveError("archive index is corrupt (blocks out of place)")
            offset += block.stored
        if offset > index_offset:
            raise CorruptArchiveError("archive index is corrupt (blocks out of place)")
        member = Member(start, end - start, header, models, blocks, version)
        if offset < index_offset:
            _locate_statistics(f, member, offset, index_offset)
        members.append(member)
        end = start
    return members[::-1]


def _locate_statistics(f: BinaryIO, member: Member, start: int, end: int) -> None:
    """The statistics section must fill start..end of the member (offsets from its start) exactly."""
    f.seek(member.offset + start)
    head = f.read(_SECTION.size)
    if len(head) < _SECTION.size or head[:1] != b"S" or end - start < SECTION_OVERHEAD:
        raise CorruptArchiveError(f"archive is corrupt (unexpected byte at offset {start})")
    if SECTION_OVERHEAD + _SECTION.unpack(head)[2] != end - start:
        raise CorruptArchiveError("archive statistics section is corrupt (out of place)")
    member.statistics_offset, member.statistics_size = start, end - start


def read_statistics(f: BinaryIO, member: Member) -> tuple[int, bytes] | None:
    """(version, payload) of a member's statistics section, CRC-checked, or None when it has none."""
    if member.statistics_offset is None:
        return None
    f.seek(member.offset + member.statistics_offset)
    return _read_section(f, f.read(1))


def read_block_stream_sizes(f: BinaryIO, member: Member) -> list[dict]:
    """Stored bytes per stream of each of a member's blocks, from the block headers (no decoding)."""
    per_block = []
    for number, block in enumerate(member.blocks, 1):
        f.seek(member.offset + block.offset)
        head = f.read(_BLOCK.size + 4)
        if len(head) != _BLOCK.size + 4 or _crc(head[:-4]) != struct.unpack("<I", head[-4:])[0]:
            raise CorruptArchiveError(f"block {number} header is corrupt (checksum mismatch)")
        per_block.append(dict(zip(STREAM_NAMES, _BLOCK.unpack(head[:-4])[5 : 5 + N_STREAMS])))
    return per_block
