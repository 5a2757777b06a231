"""The members of an archive as their headers and indexes describe them, read without decoding a block:
what decoding a member needs from its header (checked before anything is decoded with it), and where
each block's records stand among the archive's. Light on purpose (no numba, no models run): `list`,
`report` and the API's describe() read only this; archive.py and pipeline.py decode with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from . import container, levels
from .errors import CorruptArchiveError, LstmzipError
from .networks import Learned


@dataclass
class Member:
    """What decoding one member of an archive needs from its header."""

    number: int  # from 1, in the file
    header: dict
    params: dict
    learned: Learned

    @property
    def paired(self) -> bool:
        return self.header.get("pair") is not None

    def error(self, error: LstmzipError) -> CorruptArchiveError:
        return in_member(self.number, error)


def in_member(number: int, error: LstmzipError) -> CorruptArchiveError:
    """The error, saying which member of the archive it is in when that is not the first."""
    return CorruptArchiveError(f"member {number}: {error}" if number > 1 else str(error))


def open_member(number: int, header: dict, models: bytes) -> Member:
    """Check what a member's header holds before anything is decoded with it."""
    params = levels.check_params(header.get("params"))
    pair = header.get("pair")
    if pair is not None and not (isinstance(pair, list) and len(pair) == 2 and all(
            isinstance(mate, dict) and isinstance(mate.get("name"), (str, type(None)))
            and isinstance(mate.get("mtime"), (int, type(None))) for mate in pair)):
        raise CorruptArchiveError("archive header is corrupt (pair)")
    return Member(number, header, params, Learned.from_bytes(models))


def units(member: Member, records: int) -> int:
    """Records of a block or member as ranges count them: pairs in a paired member."""
    return records // 2 if member.paired else records


@dataclass
class BlockRow:
    """A block as the index describes it, and where its records stand among the archive's."""

    member: Member
    stored: container.Member
    number: int  # in its member, from 1
    info: container.BlockInfo
    first: int  # its first record (pair, in a paired member) in the numbering of ranges
    count: int  # its records (pairs)


def read(f: BinaryIO) -> list[tuple[container.Member, Member]]:
    """A seekable archive's members from their indexes, each header checked."""
    found = []
    for number, stored in enumerate(container.read_members(f), 1):
        try:
            member = open_member(number, stored.header, stored.models)
            if member.paired and any(block.records % 2 for block in stored.blocks):
                raise CorruptArchiveError("archive index is corrupt (an odd number of records in a paired archive)")
        except CorruptArchiveError as error:
            raise in_member(number, error) from None
        found.append((stored, member))
    return found


def block_rows(found: list[tuple[container.Member, Member]]) -> list[BlockRow]:
    rows, first = [], 0
    for stored, member in found:
        for number, info in enumerate(stored.blocks, 1):
            count = units(member, info.records)
            rows.append(BlockRow(member, stored, number, info, first, count))
            first += count
    return rows
