"""The Python API: lstmzip.open shaped like gzip.open, on paths and file objects, in binary and text mode,
writing the same archive as the command line and raising the exceptions it maps to exit codes."""

import io
import os
import subprocess
import sys
import typing

import pytest
from Bio import SeqIO

import lstmzip
from lstmzip.errors import CorruptArchiveError, FastqError, LstmzipError

from conftest import compress_bytes, corpus_records, fastq

DATA = fastq(corpus_records("hiseqx_151", 50))


@pytest.fixture()
def archive_path(tmp_path):
    path = tmp_path / "reads.lz"
    path.write_bytes(compress_bytes(DATA, level=1))
    return path


def test_writing_gives_the_archive_the_command_line_writes(tmp_path):
    out = io.BytesIO()
    with lstmzip.open(out, "wb", level=1, threads=1) as writer:
        for start in range(0, len(DATA), 1000):
            assert writer.write(memoryview(DATA)[start : start + 1000]) == len(DATA[start : start + 1000])
    assert not out.closed  # a file object passed in is left open
    cli = subprocess.run([sys.executable, "-m", "lstmzip", "compress", "-1", "-c"], input=DATA, capture_output=True)
    assert out.getvalue() == cli.stdout
    path = tmp_path / "out.lz"
    with lstmzip.open(path, "wt", level=1) as writer:
        writer.write(DATA.decode())
    assert path.read_bytes() == cli.stdout
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    with pytest.raises(FileExistsError):
        lstmzip.open(path, "xb")
    with lstmzip.open(os.fsencode(tmp_path / "new.lz"), "xb", level=1) as writer:
        writer.write(DATA)
    assert (tmp_path / "new.lz").read_bytes() == cli.stdout


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_reading_paths_and_file_objects(archive_path):
    with lstmzip.open(archive_path) as reader:
        assert reader.read() == DATA
    with lstmzip.open(str(archive_path), "r") as reader:
        assert reader.peek(1)[:1] == b"@"
        assert reader.readline() == DATA.split(b"\n")[0] + b"\n"
        assert reader.read(10) == DATA[DATA.index(b"\n") + 1 :][:10]
        buffer = bytearray(20)
        assert reader.readinto(buffer) == 20
        rest = bytes(buffer) + reader.read()
        assert DATA.endswith(rest)
        assert reader.read() == b""
    with open(archive_path, "rb") as f:
        with lstmzip.open(f) as reader:
            assert list(reader) == DATA.splitlines(keepends=True)
        assert not f.closed
    assert lstmzip.open(io.BytesIO(archive_path.read_bytes())).read() == DATA


def test_text_mode_reads_records_with_biopython(archive_path):
    with lstmzip.open(archive_path, "rt") as handle:
        records = list(SeqIO.parse(handle, "fastq"))
    assert len(records) == 50
    assert records[0].id == DATA.split(b"\n")[0][1:].split()[0].decode()
    with lstmzip.open(archive_path, "rt", encoding="ascii", newline="") as handle:
        assert handle.read() == DATA.decode()


def test_errors_are_the_exceptions_the_command_line_maps(archive_path, tmp_path):
    damaged = bytearray(archive_path.read_bytes())
    damaged[len(damaged) // 2] ^= 1
    with pytest.raises(CorruptArchiveError, match="checksum mismatch"):
        lstmzip.open(io.BytesIO(bytes(damaged))).read()
    with pytest.raises(CorruptArchiveError, match="not an lstmzip archive"):
        lstmzip.open(io.BytesIO(DATA)).read()
    target = tmp_path / "bad.lz"
    writer = lstmzip.open(target, "wb", level=1)
    writer.write(b"@r\nACGT\n+\nIII\n")
    with pytest.raises(FastqError) as caught:
        writer.close()
    assert (caught.value.line, str(caught.value)) == (4, "line 4: quality line has 3 characters, sequence has 4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reads.lz"]  # no archive, no temporary file
    assert issubclass(FastqError, LstmzipError) and issubclass(CorruptArchiveError, LstmzipError)
    with pytest.raises(LstmzipError, match="the archive is not paired"):
        lstmzip.open(archive_path, mate=1).read()


@pytest.mark.parametrize("mode,kwargs", [
    ("rw", {}), ("rbt", {}), ("q", {}), ("rb", {"encoding": "utf-8"}), ("wb", {"mate": 1}),
    ("wb", {"level": 10}), ("rb", {"records": slice(0, 1), "block": 1}),
])
def test_bad_arguments_are_refused(archive_path, mode, kwargs):
    with pytest.raises(ValueError):
        lstmzip.open(archive_path if "r" in mode else io.BytesIO(), mode, **kwargs)


def test_public_names_are_typed_and_listed():
    for name in lstmzip.__all__:
        assert hasattr(lstmzip, name), name
    for function in (lstmzip.open, lstmzip.open_pair, lstmzip.describe):
        hints = typing.get_type_hints(function)
        assert "return" in hints and "file" in hints and function.__doc__
    assert lstmzip.describe(io.BytesIO(compress_bytes(DATA, level=1)))["records"] == 50
