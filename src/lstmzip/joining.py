"""Joining archives (`lstmzip join`): the members of several archives made with the same model and
parameters become one member, with one header and one index, their blocks copied as they are (each
checked against its CRCs on the way, never decoded or coded again).

Blocks are independent, and a block's bytes depend only on its records, the parameters and the networks.
So when the inputs were cut at block boundaries (`lstmzip split`), the joined archive is byte for byte the
archive of the whole input compressed at once with that model: the header is the same (the stored name
and mtime are kept where every input has the same, else there are none, as for standard input), the
blocks are, the statistics section's runs merge exactly into those of the whole (costs.py), and the index
and footer follow from the blocks.
"""

from __future__ import annotations

from typing import BinaryIO

from . import container, costs, members, pipeline
from .errors import CorruptArchiveError, LstmzipError

# what may differ between the archives joined: what they say about their input files
INPUT_KEYS = ("name", "mtime", "pair")


class Part:
    """One member of one of the archives to join."""

    def __init__(self, label: str, f: BinaryIO, stored: container.Member, member: members.Member, of: int):
        self.name = label if of == 1 else f"{label} member {member.number}"
        self.f, self.stored, self.member = f, stored, member

    @property
    def header(self) -> dict:
        return self.stored.header

    def refuse(self, detail: str, kind=LstmzipError) -> LstmzipError:
        """An error about this part (the command line names it, then says why)."""
        error = kind(detail)
        error.file = self.name
        return error

    def runs(self) -> costs.Runs:
        try:
            section = container.read_statistics(self.f, self.stored)
            if section is None or section[0] != costs.VERSION:
                why = "no statistics section" if section is None else f"statistics of version {section[0]}"
                raise self.refuse(f"has {why}, which join cannot merge (compress it again with this lstmzip)")
            return costs.unpack(section[1])
        except CorruptArchiveError as error:
            raise self.refuse(str(error), CorruptArchiveError) from None


def parts_of(sources: list[tuple[str, BinaryIO]]) -> list[Part]:
    parts = []
    for label, f in sources:
        try:
            found = members.read(f)
        except LstmzipError as error:
            error.file = error.file or label
            raise
        parts += [Part(label, f, stored, member, len(found)) for stored, member in found]
    return parts


def _difference(part: Part, first: Part) -> str | None:
    """Why part cannot be joined to first, or None."""
    a, b = first.header, part.header
    if part.stored.version[0] not in container.SAME_BLOCKS_MAJORS:  # blocks of 2.0 and 3.0 copy as they are
        version = ".".join(map(str, part.stored.version))
        return f"is of format {version}; join writes {container.VERSION[0]}.{container.VERSION[1]} (compress it again)"
    if (a.get("pair") is None) != (b.get("pair") is None):
        return f"is paired and {first.name} is not" if b.get("pair") is not None else f"is not paired and {first.name} is"
    if a.get("model") != b.get("model"):
        return (f"made with {_model(b)}, but {first.name} with {_model(a)}: join takes archives made with one "
                f"model (compress --model)")
    for key, what in (("params", "model parameters"), ("level", "level"), ("creator", "lstmzip version")):
        if a.get(key) != b.get(key):
            return f"has other {what} than {first.name}"
    if part.stored.models != first.stored.models or a.get("learning") != b.get("learning"):
        return f"has other networks than {first.name}: compress both with one model (compress --model)"
    if {k: v for k, v in a.items() if k not in INPUT_KEYS} != {k: v for k, v in b.items() if k not in INPUT_KEYS}:
        return f"has another header than {first.name}"
    return None


def _model(header: dict) -> str:
    return f"model {header['model'][:16]}" if isinstance(header.get("model"), str) else "no model"


def joined_header(parts: list[Part]) -> dict:
    """The first archive's header; the input's name and mtime (or a pair's) where all agree, else none."""
    header = dict(parts[0].header)
    if any(tuple(p.header.get(k) for k in INPUT_KEYS) != tuple(header.get(k) for k in INPUT_KEYS) for p in parts):
        header["name"] = header["mtime"] = None
        if header.get("pair") is not None:
            header["pair"] = [{"name": None, "mtime": None}, {"name": None, "mtime": None}]
    return header


def join(sources: list[tuple[str, BinaryIO]], dst: BinaryIO) -> pipeline.Stats:
    """Write one archive of the members of these (name, seekable file) archives, in order."""
    parts = parts_of(sources)
    if not parts:
        raise ValueError("nothing to join")
    for part in parts:
        why = _difference(part, parts[0])
        if why:
            raise part.refuse(why)
    statistics = costs.Runs()
    for part in parts:
        statistics.extend(part.runs())
    filled = [i for i, part in enumerate(parts) if part.stored.blocks]
    stats = pipeline.Stats(members=1)
    writer = container.ArchiveWriter(dst, joined_header(parts), parts[0].stored.models)
    for i, part in enumerate(parts):
        for number, info in enumerate(part.stored.blocks, 1):
            try:
                found, streams = container.read_block_at(part.f, part.stored.offset, info, part.member.params,
                                                         number, part.member.paired)
            except CorruptArchiveError as error:
                raise part.refuse(str(error), CorruptArchiveError) from None
            if number == len(part.stored.blocks) and i != filled[-1]:
                _check_ends_with_newline(part, streams[0])
            writer.write_block(found.records, found.raw_size, found.bases, streams, found.digest)
            stats.records += found.records
            stats.bases += found.bases
            stats.raw_bytes += found.raw_size
            stats.blocks += 1
    payload = statistics.pack()
    writer.close((costs.VERSION, payload))
    stats.statistics_bytes = len(payload) + container.SECTION_OVERHEAD
    stats.archive_bytes = writer.offset
    return stats


def _check_ends_with_newline(part: Part, layout: bytes) -> None:
    """An archive whose data (or mate 1's file) ends without a newline can only be the last one joined:
    the layout stream's last byte says so (docs/FORMAT.md, "Streams")."""
    final = layout[-1] if layout else 1
    if not final & 1:
        raise part.refuse("its data ends without a newline, so it can only be the last archive joined")
    if final & 2:
        raise part.refuse("its mate 1 file ends without a newline, so it can only be the last archive joined")
