"""Archives written by earlier versions decode exactly forever; damaged ones are refused with their message."""

import io
import json
from pathlib import Path

import pytest

from lstmzip import pipeline
from lstmzip.errors import CorruptArchiveError

GOLDEN = Path(__file__).parent / "golden"
ARCHIVES = sorted(GOLDEN.glob("v*/*.lz"))
DAMAGED = sorted(GOLDEN.glob("v*/damaged/*.lz"))


@pytest.mark.parametrize("archive", ARCHIVES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_archive_decodes_exactly(archive):
    expected = (archive.parent / (archive.name.split(".")[0] + ".fq")).read_bytes()
    out = io.BytesIO()
    pipeline.decompress_stream(io.BytesIO(archive.read_bytes()), out, 1)
    assert out.getvalue() == expected


@pytest.mark.parametrize("archive", DAMAGED, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_damaged_golden_archive_is_refused(archive):
    expected = json.loads((archive.parent / "expected.json").read_text())[archive.stem]
    with pytest.raises(CorruptArchiveError) as caught:
        pipeline.decompress_stream(io.BytesIO(archive.read_bytes()), io.BytesIO(), 1)
    assert str(caught.value) == expected


def test_golden_files_exist():
    assert len(ARCHIVES) >= 6 and len(DAMAGED) >= 11
    assert {p.parent.name for p in ARCHIVES} >= {"v1", "v2"}
