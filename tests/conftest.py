import gzip
import io
from pathlib import Path

import pytest

from lstmzip import pipeline

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


def compress_bytes(data: bytes, level: int = 6, threads: int = 1) -> bytes:
    out = io.BytesIO()
    pipeline.compress_stream(io.BytesIO(data), out, level, threads)
    return out.getvalue()


def decompress_bytes(archive: bytes, threads: int = 1) -> bytes:
    out = io.BytesIO()
    pipeline.decompress_stream(io.BytesIO(archive), out, threads)
    return out.getvalue()


def roundtrip(data: bytes, level: int = 6) -> bytes:
    return decompress_bytes(compress_bytes(data, level))


@pytest.fixture(scope="session")
def example_bytes() -> bytes:
    return EXAMPLE.read_bytes()
