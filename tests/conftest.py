import gzip
import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from lstmzip import container, levels, packing, pairs, pipeline

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
EXAMPLE = ROOT / "data" / "example.fq"


def corpus_records(name: str, count: int) -> list[bytes]:
    """The first `count` records of a corpus file, each as its 4 lines joined with LF (no final LF)."""
    path = CORPUS / f"{name}.fq.gz"
    if not path.exists():
        pytest.skip(f"corpus file {path} is not here")
    records = []
    with gzip.open(path, "rb") as f:
        while len(records) < count:
            lines = [f.readline() for _ in range(4)]
            if not lines[3]:
                break
            records.append(b"".join(lines).rstrip(b"\n"))
    return records


def fastq(records: list[bytes], newline: bytes = b"\n", final: bool = True) -> bytes:
    text = newline.join(r.replace(b"\n", newline) for r in records)
    return text + newline if final and records else text


def compress_bytes(data: bytes, level: int = 6, threads: int = 1, block_bytes: int | None = None) -> bytes:
    out = io.BytesIO()
    pipeline.compress_stream(io.BytesIO(data), out, level, threads, block_bytes=block_bytes)
    return out.getvalue()


def compress_pair_bytes(first: bytes, second: bytes, level: int = 1, block_bytes: int | None = None,
                        names: tuple = ("r_1.fq", "r_2.fq")) -> bytes:
    out = io.BytesIO()
    mates = tuple({"name": name, "mtime": 1_700_000_000} for name in names)
    pairs.compress_pair(io.BytesIO(first), io.BytesIO(second), out, level, 1, mates, block_bytes=block_bytes)
    return out.getvalue()


def interleave(first: list[bytes], second: list[bytes]) -> bytes:
    """Records (4 lines joined by LF, no final LF) of two mates as the interleaved FASTQ."""
    return fastq([record for pair in zip(first, second) for record in pair])


def decompress_bytes(archive: bytes, threads: int = 1) -> bytes:
    out = io.BytesIO()
    pipeline.decompress_stream(io.BytesIO(archive), out, threads)
    return out.getvalue()


def roundtrip(data: bytes, level: int = 6) -> bytes:
    return decompress_bytes(compress_bytes(data, level))


# Crafting hostile archives: take a valid one apart, change any part, make every checksum valid again.

def split_archive(archive: bytes) -> tuple[bytes, bytes, list[list], tuple | None, int]:
    """Header JSON (as text, inflated where the version deflates it), models, each block's [records, raw
    size, bases, digest, streams], the statistics section's (version, payload) (None without one) and the
    major format version of one member: seal's arguments."""
    f = io.BytesIO(archive)
    header, models, header_size = container.read_header(f)
    found = []
    blocks = [[info.records, info.raw_size, info.bases, info.digest, streams]
              for info, streams in container.read_blocks(f, levels.check_params(header["params"]), header_size,
                                                         statistics=lambda *section: found.append(section))]
    stored = archive[container._HEAD.size : container._HEAD.size + struct.unpack_from("<I", archive, 8)[0]]
    payload = container._header_json(archive[4], stored)
    return payload, models, blocks, (found[0] if found else None), archive[4]


def seal(payload: bytes, models: bytes, blocks: list[list], statistics: tuple | None = None,
         major: int = container.VERSION[0], stored: bytes | None = None, minor: int | None = None,
         stored_models: bytes | None = None) -> bytes:
    """An archive whose every checksum, index entry and footer field is valid again. payload: the header
    JSON as text (deflated for a version that stores it so), or stored: the header's bytes as they are;
    models: the learned models (packed where the version packs them), or stored_models: as they are.
    minor: by default the one written of that major version."""
    if stored is None:
        stored = container.deflate_header(payload) if major >= 3 else payload
    out = io.BytesIO()
    writer = container.ArchiveWriter(out, {})  # for its blocks, index and footer; its header is replaced
    out.seek(0)
    out.truncate()
    if minor is None:
        minor = container.VERSION[1] if major == container.VERSION[0] else 0
    head = container._HEAD.pack(container.MAGIC, major, minor, 0, len(stored)) + stored
    if stored_models is None:
        stored_models = packing.compress(models) if (major, minor) >= (3, 5) and models else models
    head += struct.pack("<I", len(stored_models)) + stored_models
    writer.offset = 0
    writer._write(head + struct.pack("<I", container._crc(head)))
    for records, raw_size, bases, digest, streams in blocks:
        writer.write_block(records, raw_size, bases, streams, digest)
    writer.close(statistics)
    return out.getvalue()


def group_processes(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc: what a killed lstmzip left behind."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
            except OSError:
                continue  # ended meanwhile
            if int(fields[2]) == pgid and fields[0] not in "ZX":
                found.append(int(entry))
    return found


@pytest.fixture(scope="session")
def example_bytes() -> bytes:
    return EXAMPLE.read_bytes()


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A model file trained at level 2 on 7,000 nextseq_dropseq records (680k bases: enough to train), and
    that FASTQ file."""
    here = tmp_path_factory.mktemp("trained")
    reads = here / "nextseq.fq"
    reads.write_bytes(fastq(corpus_records("nextseq_dropseq", 7000)))
    model = here / "nextseq.lzm"
    result = subprocess.run([sys.executable, "-m", "lstmzip", "train", "-2", "-o", str(model), str(reads)],
                            capture_output=True)
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    return model, reads
