"""Did a round trip give the input back: byte for byte, or (for lossy CRAM) the reads only."""
from __future__ import annotations

import itertools
from pathlib import Path

CHUNK = 1 << 20


def files_identical(a: Path, b: Path) -> bool:
    if not a.exists() or not b.exists() or a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(CHUNK), fb.read(CHUNK)
            if x != y:
                return False
            if not x:
                return True


def _records(path: Path):
    """4-line records as (first token of name, sequence, quality); tolerant of CRLF."""
    with open(path, "rb") as f:
        while True:
            lines = [f.readline() for _ in range(4)]
            if not lines[0]:
                return
            name, seq, _, qual = (l.rstrip(b"\r\n") for l in lines)
            tok = name.split(None, 1)[0] if name.split() else name
            yield tok, seq, qual


def same_reads(a: Path, b: Path) -> bool:
    """Same record names (up to the first white space), bases and qualities, in order."""
    sentinel = object()
    return all(x == y for x, y in itertools.zip_longest(_records(a), _records(b), fillvalue=sentinel))
