"""Archives written by earlier versions decode exactly forever; damaged ones are refused with their message."""

import io
import json
from pathlib import Path

import pytest

import lstmzip
from lstmzip import archive, container, modelfile, pipeline
from lstmzip.errors import CorruptArchiveError, ModelFileError
from lstmzip.report import facts

GOLDEN = Path(__file__).parent / "golden"
ARCHIVES = sorted(GOLDEN.glob("v*/*.lz"))
DAMAGED = sorted(GOLDEN.glob("v*/damaged/*.lz"))


@pytest.mark.parametrize("archive", ARCHIVES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_archive_decodes_exactly(archive):
    expected = (archive.parent / (archive.name.split(".")[0] + ".fq")).read_bytes()
    out = io.BytesIO()
    pipeline.decompress_stream(io.BytesIO(archive.read_bytes()), out, 1)
    assert out.getvalue() == expected
    if archive.parent.name == "v3.5":  # the base decoder runs ahead of the qualities' network in a thread
        out = io.BytesIO()
        pipeline.decompress_stream(io.BytesIO(archive.read_bytes()), out, 2)
        assert out.getvalue() == expected


@pytest.mark.parametrize("archive", DAMAGED, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_damaged_golden_archive_is_refused(archive):
    expected = json.loads((archive.parent / "expected.json").read_text())[archive.stem]
    with pytest.raises(CorruptArchiveError) as caught:
        pipeline.decompress_stream(io.BytesIO(archive.read_bytes()), io.BytesIO(), 1)
    assert str(caught.value) == expected


def test_golden_files_exist():
    assert {p.parent.name for p in ARCHIVES} == {"v1", "v2", "v3", "v3.1", "v3.2", "v3.3", "v3.4", "v3.5"}
    assert container.VERSION == (3, 5)  # the version written has its golden files
    # 3.5 (the quality network reads the next base) beside each kind of quality model,
    assert {p.name for p in ARCHIVES if p.parent.name == "v3.5"} == {"hiseqx_200.level9_model.lz",
                                                                     "nanopore_400.level6_lstm.lz"}
    # and its packed learned models, damaged behind a valid checksum
    assert {p.name for p in DAMAGED if p.parent.parent.name == "v3.5"} == {"models_unknown_method.lz",
                                                                           "models_lzma_damaged.lz"}
    # 3.4 (the mean quality so far in the coarse quality context) has a level 6 archive that mixes it in
    assert {p.name for p in ARCHIVES if p.parent.name == "v3.4"} == {"miseq_300.level6.lz"}
    # 3.3 (lengths from the number after a key token) has the trimmed reads whose names show it
    assert {p.name for p in ARCHIVES if p.parent.name == "v3.3"} == {"trimmed_key.level9.lz"}
    # 3.2 (the base context's base ahead and coarse mix) has the nanopore archive that shows it
    assert {p.name for p in ARCHIVES if p.parent.name == "v3.2"} == {"nanopore_400.level6.lz"}
    # 3.1 (the coarse quality context, lengths from the names) has the archives that show its change
    assert {p.name for p in ARCHIVES if p.parent.name == "v3.1"} == {
        "odd_cases.level6.lz", "pair.level6.lz", "two_members.level1_level6.lz", "trimmed.level6.lz"}
    for version in SINCE_2:
        assert {p.name for p in ARCHIVES if p.parent.name == version} == {
            "hiseqx_200.level1.lz", "hiseqx_200.level6_lstm.lz", "odd_cases.level6.lz", "pair.level6.lz",
            "two_members.level1_level6.lz", "sorted_reads.level6_lstm.lz", "nanopore.level1.lz",
            "hiseqx_200.joined_model.lz"}
    assert "header_json_deflate_damaged.lz" in {p.name for p in DAMAGED if p.parent.parent.name == "v3"}
    assert len(DAMAGED) >= 28 and all(p.stem in json.loads((p.parent / "expected.json").read_text()) for p in DAMAGED)


SINCE_2 = ["v2", "v3"]  # the versions with pairs, members, statistics and model files


def version_of(directory: str) -> tuple[int, int]:
    major, _, minor = directory[1:].partition(".")
    return int(major), int(minor or 0)


@pytest.mark.parametrize("version", SINCE_2 + ["v3.1"])
def test_golden_pair_restores_both_files(version):
    here = GOLDEN / version
    path = here / "pair.level6.lz"
    with open(path, "rb") as f:
        (member,) = container.read_members(f)
    names = [mate["name"] for mate in member.header["pair"]]
    assert names == ["pair_R1.fq", "pair_R2.fq"]
    mates = list(zip(*archive.read_mates(io.BytesIO(path.read_bytes()), 1)))
    for name, parts in zip(names, mates):
        assert b"".join(parts) == (here / name).read_bytes()
    assert (here / "pair_R1.fq").read_bytes()[-1:] != b"\n"  # mate 1 ends without a newline


@pytest.mark.parametrize("version, name", [("v3", "hiseqx_200.level6_lstm"), ("v3.1", "pair.level6"),
                                           ("v3", "two_members.level1_level6"), ("v2", "two_members.level1_level6")])
def test_golden_blocks_and_ranges(name, version):
    """Each block alone, and a range across every block boundary, equal the same part of the whole."""
    path = GOLDEN / version / f"{name}.lz"
    whole = (GOLDEN / version / (name.split(".")[0] + ".fq")).read_bytes()
    described = lstmzip.describe(path, blocks=True)
    rows = described["block_list"]
    assert len(rows) >= 3 and len(described["members"]) == (2 if name.startswith("two") else 1)
    with open(path, "rb") as f:
        assert b"".join(b"".join(archive.read_range(f, block=row["block"], threads=1)) for row in rows) == whole
        for row in rows[1:]:
            across = b"".join(archive.read_range(f, slice(row["first"] - 1, row["first"] + 1), threads=1))
            assert across and whole.find(across) > 0


@pytest.mark.parametrize("archive_path", sorted((GOLDEN / "v1").glob("*.lz")), ids=lambda p: p.name)
def test_version_1_archives_read_through_their_index(archive_path):
    whole = (archive_path.parent / (archive_path.name.split(".")[0] + ".fq")).read_bytes()
    with open(archive_path, "rb") as f:
        assert b"".join(archive.read_range(f, slice(None), threads=1)) == whole
    assert lstmzip.describe(archive_path)["raw_bytes"] == len(whole)


@pytest.mark.parametrize("name", ["hiseqx_200.level1", "hiseqx_200.level6_lstm", "odd_cases.level6", "pair.level6",
                                  "two_members.level1_level6", "hiseqx_200.joined_model"])
@pytest.mark.parametrize("version", SINCE_2 + ["v3.1", "v3.2", "v3.3", "v3.4"])
def test_every_golden_member_since_2_0_has_its_statistics_section(name, version):
    if not (GOLDEN / version / f"{name}.lz").exists():
        assert version in ("v3.1", "v3.2", "v3.3", "v3.4")  # a minor version has only the archives its change reaches
        return
    described = facts.gather(GOLDEN / version / f"{name}.lz")
    assert len(described.members) == (2 if name.startswith("two") else 1)
    for member in described.members:
        assert member.version == version_of(version) and member.statistics is not None
        assert member.statistics_bytes > 0
        assert member.statistics.bases_by_position and member.statistics.qualities_by_position


@pytest.mark.parametrize("version", SINCE_2)
def test_golden_model_file_and_its_joined_archive(version):
    """The model file reads back (its SHA-256 names it); the archive joined from two archives made with it
    names it, carries its networks and parameters, and is one member with one statistics section."""
    here = GOLDEN / version
    model = modelfile.read(here / "hiseqx_200.level6.lzm")
    assert model.level == 6 and model.params["block_bytes"] == 20_000 and model.learned.qualities is not None
    path = here / "hiseqx_200.joined_model.lz"
    with open(path, "rb") as f:
        (member,) = container.read_members(f)
    assert member.header["model"] == model.sha256 and member.header["name"] is None
    assert member.models == model.learned.to_bytes() and member.header["params"] == model.params
    assert len(member.blocks) >= 4 and member.statistics_offset is not None
    assert lstmzip.describe(path)["model"] == model.sha256


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("v*/damaged_models/*.lzm")),
                         ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_damaged_golden_model_files_are_refused(path):
    expected = json.loads((path.parent / "expected.json").read_text())[path.stem]
    with pytest.raises(ModelFileError) as caught:
        modelfile.parse(path.read_bytes())
    assert str(caught.value) == expected
