"""Model files: lstmzip train, compress --model (no training, self-contained archives that name the
model), list of a model file, and the refusal of damaged, foreign and other-version model files."""

import hashlib
import io
import json
import struct
import subprocess
import sys

import pytest

import lstmzip
from lstmzip import container, modelfile, pipeline
from lstmzip.errors import ModelFileError

from conftest import EXAMPLE, corpus_records, decompress_bytes, fastq, split_archive

LSTMZIP = [sys.executable, "-m", "lstmzip"]


def run(*args, stdin=None, cwd=None):
    return subprocess.run([*LSTMZIP, *map(str, args)], input=stdin, capture_output=True, cwd=cwd)


def test_compress_with_the_model_is_compress_without_training(trained, tmp_path):
    """One input: train samples what compress trains on, so the archive made with the model has compress's
    very blocks, networks and training report; only the header's model key is new."""
    model_path, reads = trained
    data = reads.read_bytes()
    plain = run("compress", "-2", "-c", stdin=data)
    with_model = run("compress", "--model", model_path, "-c", stdin=data)
    assert plain.returncode == with_model.returncode == 0 and with_model.stderr == b""
    header, models, blocks, statistics, _ = split_archive(plain.stdout)
    header2, models2, blocks2, statistics2, _ = split_archive(with_model.stdout)
    model = modelfile.read(model_path)
    assert json.loads(header2) == {**json.loads(header), "model": model.sha256}
    assert (models2, blocks2, statistics2) == (models, blocks, statistics)
    assert models == model.learned.to_bytes() and model.learned.qualities is not None
    assert model.sha256 == hashlib.sha256(model_path.read_bytes()[:-32]).hexdigest()
    assert decompress_bytes(with_model.stdout) == data


def test_archives_made_with_a_model_decode_without_it_and_name_it(trained, tmp_path):
    model_path, _ = trained
    other = tmp_path / "hiseqx.fq"
    other.write_bytes(fastq(corpus_records("hiseqx_151", 800)))
    result = run("compress", "-v", "--model", model_path, other)
    assert result.returncode == 0
    assert f"LSTM: from model {modelfile.read(model_path).sha256} (nothing trained)" in result.stderr.decode()
    sha = modelfile.read(model_path).sha256
    moved = tmp_path / "elsewhere.lzm"
    model_path.rename(moved)  # the archive needs no model file
    try:
        assert run("decompress", "-c", tmp_path / "hiseqx.lz").stdout == other.read_bytes()
        listed = run("list", tmp_path / "hiseqx.lz").stdout.decode()
        assert f"hiseqx.lz: made with model {sha}" in listed
        described = json.loads(run("list", "--json", tmp_path / "hiseqx.lz").stdout)["files"][0]
        assert described["model"] == described["members"][0]["model"] == sha and described["level"] == 2
    finally:
        moved.rename(model_path)


def test_list_describes_a_model_file(trained):
    model_path, _ = trained
    model = modelfile.read(model_path)
    text = run("list", model_path)
    assert text.returncode == 0
    lines = text.stdout.decode().splitlines()
    assert lines[0] == (f"{model_path}: lstmzip model for format 2.0, level 2, blocks of 33,554,432 bytes; "
                        f"{model_path.stat().st_size:,} bytes (networks {len(model.learned.to_bytes()):,}), trained "
                        f"on 7,000 records by lstmzip {lstmzip.__version__}")
    assert lines[1] == f"  sha256 {model.sha256}"
    assert lines[3].startswith("  LSTM for qualities: used; hidden 16, ")
    described = json.loads(run("list", "--json", model_path).stdout)
    assert described["files"] == [] and described["models"][0]["sha256"] == model.sha256
    assert described["models"][0]["sample"] == {"records": 7000, "bases": model.sample["bases"]}


def test_a_level_1_model_holds_parameters_only(tmp_path):
    """Training at level 1 trains nothing (nor imports TensorFlow): the model is the level's parameters."""
    result = run("train", "-1", "--block-size", "64K", "-o", tmp_path / "l1.lzm", EXAMPLE)
    assert result.returncode == 0 and result.stderr == b""
    model = modelfile.read(tmp_path / "l1.lzm")
    assert model.level == 1 and model.params["block_bytes"] == 65536 and model.learned.to_bytes() == \
        pipeline.Learned().to_bytes() and model.learned.report == {}
    assert run("list", tmp_path / "l1.lzm").stdout.decode().splitlines()[-1] == "  no networks"
    again = run("train", "-1", "--block-size", "64K", "-f", "-o", tmp_path / "again.lzm", EXAMPLE)
    assert again.returncode == 0 and (tmp_path / "again.lzm").read_bytes() == (tmp_path / "l1.lzm").read_bytes()


def test_the_model_fixes_the_quality_context_compress_would_choose_by_trial(tmp_path):
    """Compress picks the qualities' context by trial on the first reads (the bases' context for nanopore
    reads, not for Illumina's); train makes that choice on its sample, and compress --model keeps it for
    any input, so that every archive of one model has the model's parameters (and join accepts them)."""
    nanopore, illumina = tmp_path / "ont.fq", tmp_path / "hiseqx.fq"
    nanopore.write_bytes(fastq(corpus_records("ont_seqkit", 40)))
    illumina.write_bytes(fastq(corpus_records("hiseqx_151", 400)))
    assert run("train", "-1", "-o", tmp_path / "ont.lzm", nanopore).returncode == 0
    model = modelfile.read(tmp_path / "ont.lzm")
    params = lambda archive: json.loads(split_archive(archive)[0])["params"]  # noqa: E731
    assert model.params["qualities"].get("base_context")
    archived = {**model.params, "lengths_from_names": True}  # how every 3.1 archive stores its lengths
    assert params(run("compress", "-1", "-c", nanopore).stdout) == archived
    assert not params(run("compress", "-1", "-c", illumina).stdout)["qualities"].get("base_context")
    with_model = run("compress", "--model", tmp_path / "ont.lzm", "-c", illumina).stdout
    assert params(with_model) == archived and decompress_bytes(with_model) == illumina.read_bytes()


@pytest.fixture()
def level1_model(tmp_path):
    path = tmp_path / "l1.lzm"
    assert run("train", "-1", "-o", path, EXAMPLE).returncode == 0
    return path


def rehashed(data: bytes) -> bytes:
    """A model file changed by hand, with a valid SHA-256 again."""
    body = data[:-32]
    return body + hashlib.sha256(body).digest()


def craft(data: bytes, change) -> bytes:
    """The model file with its JSON changed by change(about), rehashed."""
    length = struct.unpack_from("<I", data, 8)[0]
    about = change(json.loads(data[12 : 12 + length]))
    payload = json.dumps(about).encode()
    return rehashed(data[:8] + struct.pack("<I", len(payload)) + payload + data[12 + length :])


def test_damaged_and_foreign_model_files_are_refused(level1_model, tmp_path):
    good = level1_model.read_bytes()
    archive = tmp_path / "reads.lz"
    assert run("compress", "-o", archive, EXAMPLE).returncode == 0
    cases = {
        "flipped.lzm": (good[:20] + bytes([good[20] ^ 1]) + good[21:],
                        "model file is damaged or truncated (SHA-256 mismatch)"),
        "truncated.lzm": (good[:-5], "model file is damaged or truncated (SHA-256 mismatch)"),
        "short.lzm": (good[:10], "model file is truncated"),
        "version3.lzm": (rehashed(good[:4] + b"\x03\x00" + good[6:]),
                         "model file is for archive format 3.0; this lstmzip writes 2.0 (train the model again with it)"),
        "flags.lzm": (rehashed(good[:6] + b"\x01\x00" + good[8:]), "model file is corrupt (impossible sizes)"),
        "level.lzm": (craft(good, lambda a: {**a, "level": 10}), "model file is corrupt"),
        "params.lzm": (craft(good, lambda a: {**a, "params": {**a["params"], "row_width": 0}}),
                       "model file is corrupt (archive header has invalid model parameters)"),
        "text.lzm": (b"@r\nACGT\n+\nIIII\n", "not an lstmzip model file"),
        "archive.lzm": (archive.read_bytes(), "this is an lstmzip archive, not a model file (lstmzip train makes one)"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        out = tmp_path / "out.lz"
        result = run("compress", "--model", path, "-o", out, EXAMPLE)
        assert (result.returncode, result.stderr.decode()) == (1, f"lstmzip: {path}: {message}\n"), name
        assert not out.exists()
        listed = run("list", path)
        if name != "archive.lzm" and data[:4] == modelfile.MAGIC:
            assert (listed.returncode, listed.stderr.decode()) == (1, f"lstmzip: {path}: {message}\n")
        with pytest.raises(ModelFileError) as caught:
            lstmzip.load_model(path)
        assert str(caught.value) == f"{path}: {message}"
    missing = run("compress", "--model", tmp_path / "none.lzm", EXAMPLE)
    assert missing.returncode == 1 and missing.stderr.decode() == f"lstmzip: {tmp_path / 'none.lzm'}: No such file or directory\n"
    both = run("compress", "-6", "--model", level1_model, EXAMPLE)
    assert both.returncode == 2 and b"--model sets the level" in both.stderr


def test_crafted_networks_in_a_model_file_are_refused(trained):
    model_path, _ = trained
    good = model_path.read_bytes()
    length = struct.unpack_from("<I", good, 8)[0]
    at = 12 + length + 4  # the networks: two sections (base LSTM, none here; quality LSTM) of an 8-byte length and bytes
    bad = rehashed(good[: at + 8 + 8 + 8] + b"\x00" + good[at + 8 + 8 + 9 :])  # the quality network has 1 class
    with pytest.raises(ModelFileError) as caught:
        modelfile.parse(bad)
    assert str(caught.value).startswith("model file is corrupt (")


def test_block_size_with_a_model(level1_model, tmp_path):
    result = run("compress", "--model", level1_model, "--block-size", "8K", "-o", tmp_path / "a.lz", EXAMPLE)
    assert result.returncode == 0
    with open(tmp_path / "a.lz", "rb") as f:
        (member,) = container.read_members(f)
    assert member.header["params"]["block_bytes"] == 8192 and len(member.blocks) > 3
    assert member.header["model"] == modelfile.read(level1_model).sha256


def test_python_api_trains_and_writes_with_a_model(tmp_path):
    data = EXAMPLE.read_bytes()
    model = lstmzip.train_model(io.BytesIO(data), tmp_path / "m.lzm", level=1, block_size=16384)
    assert isinstance(model, lstmzip.Model) and lstmzip.load_model(tmp_path / "m.lzm").data == model.data
    for given in (model, tmp_path / "m.lzm"):
        with lstmzip.open(tmp_path / "a.lz", "wb", model=given) as out:
            out.write(data)
        with lstmzip.open(tmp_path / "a.lz") as f:
            assert f.read() == data
        assert lstmzip.describe(tmp_path / "a.lz")["model"] == model.sha256
    with pytest.raises(ValueError):
        lstmzip.open(tmp_path / "b.lz", "wb", model=model, level=3)
    with pytest.raises(ValueError):
        lstmzip.open(tmp_path / "a.lz", "rb", model=model)
