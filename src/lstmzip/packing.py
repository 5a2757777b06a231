"""Small side streams: framing of sections, integer columns, and general-purpose compression (LZMA2).

Every reader checks lengths against what remains and bounds what it inflates, so corrupt data raises
CorruptArchiveError and never allocates more than the caller allows.
"""

from __future__ import annotations

import lzma

import numpy as np

from .errors import CorruptArchiveError

_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
_STORED, _LZMA = 0, 1


def compress(data: bytes) -> bytes:
    """One method byte, then the data stored or LZMA2-compressed, whichever is smaller."""
    if not data:
        return bytes([_STORED])
    packed = lzma.compress(data, format=lzma.FORMAT_RAW, filters=_FILTERS)
    return bytes([_LZMA]) + packed if len(packed) < len(data) else bytes([_STORED]) + data


def decompress(data: bytes, max_size: int) -> bytes:
    if not data:
        raise CorruptArchiveError("empty side stream")
    method, body = data[0], data[1:]
    if method == _STORED:
        out = bytes(body)
    elif method == _LZMA:
        decoder = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_FILTERS)
        try:
            out = decoder.decompress(body, max_length=max_size + 1)
        except lzma.LZMAError as error:
            raise CorruptArchiveError(f"side stream does not decompress ({error})") from None
    else:
        raise CorruptArchiveError(f"unknown side stream method {method}")
    if len(out) > max_size:
        raise CorruptArchiveError("side stream is larger than its block allows")
    return out


def join_sections(sections: list[bytes]) -> bytes:
    """Length-prefixed concatenation (8-byte little-endian lengths)."""
    out = bytearray()
    for section in sections:
        out += len(section).to_bytes(8, "little")
        out += section
    return bytes(out)


def split_sections(data: bytes, count: int) -> list[bytes]:
    sections = []
    pos = 0
    for _ in range(count):
        if pos + 8 > len(data):
            raise CorruptArchiveError("stream is truncated")
        size = int.from_bytes(data[pos : pos + 8], "little")
        pos += 8
        if size > len(data) - pos:
            raise CorruptArchiveError("stream section is longer than the stream")
        sections.append(data[pos : pos + size])
        pos += size
    if pos != len(data):
        raise CorruptArchiveError("stream has unexpected trailing bytes")
    return sections


def pack_ints(values: np.ndarray) -> bytes:
    """Non-negative integers as byte planes of the narrowest width, then compressed: columns of similar
    numbers (lengths, gaps) become long runs that LZMA2 codes in a few bytes."""
    values = np.asarray(values, dtype=np.uint64)
    top = int(values.max()) if len(values) else 0
    width = next(w for w in (1, 2, 4, 8) if top < 1 << (8 * w))
    planes = values.astype(f"<u{width}").view(np.uint8).reshape(-1, width).T
    return bytes([width]) + compress(planes.tobytes())


def unpack_ints(data: bytes, count: int) -> np.ndarray:
    if not data or data[0] not in (1, 2, 4, 8):
        raise CorruptArchiveError("integer column has a bad width")
    width = data[0]
    raw = decompress(data[1:], count * width)
    if len(raw) != count * width:
        raise CorruptArchiveError("integer column has the wrong length")
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(width, count)
    return np.ascontiguousarray(planes.T).view(f"<u{width}").reshape(count).astype(np.int64)
