"""What an archive says about itself, read without decoding a block: each member's header, index, block
headers and statistics section. One code path for `list`, `report`, the MultiQC files and the Python
API's describe(); the members are found by members.py, as for ranges.

A file of several members (`cat a.lz b.lz`) is described member by member (Facts), and as a whole
(FileFacts: the totals). Archives are untrusted: every header value shown is checked for its type here,
so a crafted (but checksum-valid) archive is refused with CorruptArchiveError rather than failing
somewhere in a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .. import container, costs, members
from ..errors import CorruptArchiveError

NETWORK_FIELDS = {"used": bool, "hidden": int, "parameters": int, "weight_bytes": int, "epochs": int,
                  "losses": list, "bits_per_symbol_without": (int, float), "bits_per_symbol_with": (int, float)}


def _stream_totals(block_streams: list[dict], size: int) -> dict:
    """names, bases, qualities, and other: everything else (layout, lengths, header and models,
    statistics, index, footer), so the four add up to the size."""
    totals = {key: sum(b[key] for b in block_streams) for key in ("names", "bases", "qualities")}
    return totals | {"other": size - sum(totals.values())}


def _bits_per(streams: dict, bases: int, records: int) -> dict:
    per = lambda key, count: round(8 * streams[key] / count, 4) if count else None  # noqa: E731
    return {"base": per("bases", bases), "quality": per("qualities", bases), "name": per("names", records)}


@dataclass
class Facts:
    """One member of an archive file (the whole of a file of one member)."""

    path: str | None  # the file
    number: int  # the member's, from 1
    of: int  # members in the file
    offset: int  # where the member starts in the file
    header: dict
    version: tuple[int, int]
    blocks: list[container.BlockInfo]
    block_streams: list[dict]  # stored bytes of each stream, per block
    size: int
    statistics: costs.Statistics | None
    statistics_bytes: int
    no_statistics: str | None  # why there are none, as a sentence for the page

    @property
    def records(self) -> int:
        return sum(b.records for b in self.blocks)

    @property
    def bases(self) -> int:
        return sum(b.bases for b in self.blocks)

    @property
    def raw_bytes(self) -> int:
        return sum(b.raw_size for b in self.blocks)

    @property
    def mates(self) -> list | None:
        """The stored names of a paired member's two files, None if it is not paired."""
        pair = self.header.get("pair")
        return None if pair is None else [mate.get("name") for mate in pair]

    def stored_name(self) -> str | None:
        if self.mates is not None:
            return " + ".join(name or "(no name)" for name in self.mates)
        return self.header.get("name")

    @property
    def label(self) -> str:
        """What the page calls it."""
        name = self.stored_name() or self.path or "archive"
        return f"{name} (member {self.number})" if self.of > 1 else name

    def stream_bytes(self) -> dict:
        return _stream_totals(self.block_streams, self.size)

    def bits_per(self) -> dict:
        return _bits_per(self.stream_bytes(), self.bases, self.records)

    def learning(self) -> dict:
        return check_learning(self.header.get("learning"))

    def summary(self) -> dict:
        """`list --json`'s numbers of this member. records counts records; pairs, of a paired member, pairs."""
        bits = self.bits_per()
        return {
            "offset": self.offset,
            "name": self.header.get("name"),
            "mates": self.mates,
            "level": self.header.get("level"),
            "format": f"{self.version[0]}.{self.version[1]}",
            "creator": self.header.get("creator"),
            "model": self.header.get("model"),
            "records": self.records,
            "pairs": self.records // 2 if self.mates is not None else None,
            "bases": self.bases,
            "quality_values": self.bases,
            "raw_bytes": self.raw_bytes,
            "archive_bytes": self.size,
            "ratio": round(self.raw_bytes / self.size, 4) if self.size else None,
            "bits_per_base": bits["base"],
            "bits_per_quality": bits["quality"],
            "bits_per_name": bits["name"],
            "blocks": len(self.blocks),
            "statistics_bytes": self.statistics_bytes,
            "learning": self.learning(),
            "streams": self.stream_bytes(),
        }


@dataclass
class FileFacts:
    """An archive file: its members, and the block list with records numbered as ranges number them."""

    path: str | None
    members: list[Facts]
    block_list: list[dict] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(m.records for m in self.members)

    @property
    def bases(self) -> int:
        return sum(m.bases for m in self.members)

    @property
    def raw_bytes(self) -> int:
        return sum(m.raw_bytes for m in self.members)

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)

    def stream_bytes(self) -> dict:
        return {key: sum(m.stream_bytes()[key] for m in self.members) for key in self.members[0].stream_bytes()}

    def summary(self, with_blocks: bool = False) -> dict:
        """`list --json`'s entry: the totals (name, level, format, creator and learning of the first
        member), "members" (a summary each) and, with_blocks, "block_list"."""
        first = self.members[0].summary()
        described = [m.summary() for m in self.members]
        paired = all(m["mates"] is not None for m in described)
        streams = self.stream_bytes()
        bits = _bits_per(streams, self.bases, self.records)
        result = {
            "file": self.path,
            "name": first["name"],
            "paired": paired,
            "mates": first["mates"],
            "level": first["level"],
            "format": first["format"],
            "creator": first["creator"],
            "model": first["model"],
            "records": self.records,
            "pairs": sum(m["pairs"] for m in described) if paired else None,
            "bases": self.bases,
            "quality_values": self.bases,
            "raw_bytes": self.raw_bytes,
            "archive_bytes": self.size,
            "ratio": round(self.raw_bytes / self.size, 4) if self.size else None,
            "bits_per_base": bits["base"],
            "bits_per_quality": bits["quality"],
            "bits_per_name": bits["name"],
            "blocks": sum(m["blocks"] for m in described),
            "statistics_bytes": sum(m["statistics_bytes"] for m in described),
            "learning": first["learning"],
            "streams": streams,
            "members": described,
        }
        if with_blocks:
            result["block_list"] = self.block_list
        return result


def check_learning(learning) -> dict:
    """The training report of the header, checked: {kind: {field: value}} with NETWORK_FIELDS' types."""
    if learning is None:
        return {}
    if not isinstance(learning, dict):
        raise CorruptArchiveError("archive header is corrupt (training report)")
    for kind, report in learning.items():
        if kind not in ("bases", "qualities") or not isinstance(report, dict):
            raise CorruptArchiveError("archive header is corrupt (training report)")
        for key, kinds in NETWORK_FIELDS.items():
            value = report.get(key)
            if not isinstance(value, kinds) or (kinds is int and isinstance(value, bool)):
                raise CorruptArchiveError("archive header is corrupt (training report)")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in report["losses"]):
            raise CorruptArchiveError("archive header is corrupt (training report)")
    return learning


def _check_header(header: dict) -> None:
    for key, kinds in (("name", (str, type(None))), ("creator", (str, type(None))), ("level", (int, type(None))),
                       ("model", (str, type(None)))):
        if not isinstance(header.get(key), kinds):
            raise CorruptArchiveError(f"archive header is corrupt ({key})")


def _statistics(section: tuple[int, bytes] | None, version: tuple[int, int], creator) -> tuple:
    """(Statistics or None, why there are none)."""
    if section is None:
        if version[0] == 1:
            return None, (f"This archive is of format {version[0]}.{version[1]} (written by {creator or 'an older lstmzip'}), "
                          "which did not store coding statistics, so there are no per-position plots; "
                          "compress it again with this lstmzip to get them.")
        return None, "This archive has no statistics section, so there are no per-position plots."
    if section[0] != costs.VERSION:
        return None, (f"This archive's statistics are of version {section[0]}, which this lstmzip cannot read, "
                      "so there are no per-position plots.")
    return costs.describe(costs.unpack(section[1])), None


def read(f: BinaryIO, path: str | None) -> FileFacts:
    """The facts of a seekable archive; path: the file's name, as shown."""
    found = members.read(f)
    described = []
    for number, (stored, _) in enumerate(found, 1):
        try:
            header = stored.header
            _check_header(header)
            check_learning(header.get("learning"))
            block_streams = container.read_block_stream_sizes(f, stored)
            section = container.read_statistics(f, stored)
            statistics, why = _statistics(section, stored.version, header.get("creator"))
        except CorruptArchiveError as error:
            raise members.in_member(number, error) from None
        described.append(Facts(path, number, len(found), stored.offset, header, stored.version, stored.blocks,
                               block_streams, stored.size, statistics, stored.statistics_size, why))
    block_list = [{
        "block": number, "member": row.member.number, "first": row.first, "records": row.info.records,
        "pairs": row.count if row.member.paired else None, "raw_bytes": row.info.raw_size,
        "archive_bytes": row.info.stored, "offset": row.stored.offset + row.info.offset,
    } for number, row in enumerate(members.block_rows(found), 1)]
    return FileFacts(path, described, block_list)


def gather(path: str | Path) -> FileFacts:
    with open(path, "rb") as f:
        return read(f, str(path))
