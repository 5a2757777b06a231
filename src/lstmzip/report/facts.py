"""What an archive says about itself, read without decoding a block: the header, the index, the block
headers and the statistics section. One code path for `list`, `report` and the MultiQC files.

Archives are untrusted: every header value shown is checked for its type here, so a crafted (but
checksum-valid) archive is refused with CorruptArchiveError rather than failing somewhere in a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import container, costs
from ..errors import CorruptArchiveError

NETWORK_FIELDS = {"used": bool, "hidden": int, "parameters": int, "weight_bytes": int, "epochs": int,
                  "losses": list, "bits_per_symbol_without": (int, float), "bits_per_symbol_with": (int, float)}


@dataclass
class Facts:
    path: str
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

    def stream_bytes(self) -> dict:
        """names, bases, qualities, and other: everything else (layout, lengths, header and models,
        statistics, index, footer), so the four add up to the archive's size."""
        totals = {key: sum(b[key] for b in self.block_streams) for key in ("names", "bases", "qualities")}
        return totals | {"other": self.size - sum(totals.values())}

    def bits_per(self) -> dict:
        s = self.stream_bytes()
        per = lambda key, count: round(8 * s[key] / count, 4) if count else None  # noqa: E731
        return {"base": per("bases", self.bases), "quality": per("qualities", self.bases),
                "name": per("names", self.records)}

    def learning(self) -> dict:
        return _learning(self.header.get("learning"))

    def summary(self) -> dict:
        """`list --json`'s entry."""
        bits = self.bits_per()
        return {
            "file": self.path,
            "name": self.header.get("name"),
            "level": self.header.get("level"),
            "format": f"{self.version[0]}.{self.version[1]}",
            "creator": self.header.get("creator"),
            "records": self.records,
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


def _learning(learning) -> dict:
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
    for key, kinds in (("name", (str, type(None))), ("creator", (str, type(None))), ("level", (int, type(None)))):
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
    return costs.unpack(section[1]), None


def gather(path: str | Path) -> Facts:
    with open(path, "rb") as f:
        header, blocks, size = container.read_index(f)
        version = container.read_version(f)
        block_streams = container.read_block_stream_sizes(f, blocks)
        section = container.read_statistics(f, blocks, size)
    _check_header(header)
    _learning(header.get("learning"))
    statistics, why = _statistics(section, version, header.get("creator"))
    return Facts(str(path), header, version, blocks, block_streams, size, statistics,
                 len(section[1]) + container.SECTION_OVERHEAD if section else 0, why)
