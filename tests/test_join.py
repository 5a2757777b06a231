"""lstmzip split and join: chunks cut at compress's block boundaries, compressed alone with one model and
joined, are byte for byte the archive of the whole input compressed at once with that model from
standard input; archives of other models or parameters, and damaged ones, are refused by name."""

import gzip
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import lstmzip
from lstmzip import container, levels, splitting
from lstmzip.fastq import format_block, read_blocks

from conftest import EXAMPLE, corpus_records, decompress_bytes, fastq
from test_fuzz import fastq_files

LSTMZIP = [sys.executable, "-m", "lstmzip"]


def run(*args, stdin=None, cwd=None):
    return subprocess.run([*LSTMZIP, *map(str, args)], input=stdin, capture_output=True, cwd=cwd)


def odd_input() -> bytes:
    """Records of every kind (CRLF, '+name', lowercase, N, an empty read), ending without a newline."""
    records = corpus_records("hiseq_phred64_dots", 600)
    records[3] = records[3].replace(b"\n", b"\r\n")
    records[10] = records[10].replace(b"\n+\n", b"\n+" + records[10].split(b"\n")[0][1:] + b"\n")
    records[20] = b"@empty\n\n+\n"
    name, seq, plus, qual = records[-1].split(b"\n")
    records[-1] = b"\n".join([name, seq.lower(), plus, qual])
    return fastq(records, final=False)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A level-1 model cutting blocks every 16 KiB (no training: quick)."""
    path = tmp_path_factory.mktemp("model") / "l1.lzm"
    assert run("train", "-1", "--block-size", "16K", "-o", path, EXAMPLE).returncode == 0
    return path


def chunks_then_join(path, model, tmp_path, *split_args) -> tuple[bytes, list]:
    """split the file, compress each chunk (by name) with the model, join: the joined archive's bytes."""
    result = run("split", "--model", model, "--prefix", tmp_path / "chunk", *split_args, path)
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    chunks = sorted(tmp_path.glob("chunk.*.fq"))
    for chunk in chunks:
        assert run("compress", "-q", "--model", model, chunk).returncode == 0
    archives = [chunk.with_suffix(".lz") for chunk in chunks]
    joined = run("join", "-o", tmp_path / "all.lz", *archives)
    assert joined.returncode == 0 and joined.stderr == b"", joined.stderr
    return (tmp_path / "all.lz").read_bytes(), chunks


@pytest.mark.parametrize("how", [("--chunks", "3"), ("--records", "150"), ("--chunks", "12")])
def test_joined_chunks_are_the_archive_of_the_whole(how, model, tmp_path):
    data = odd_input()
    path = tmp_path / "odd.fq.gz"
    path.write_bytes(gzip.compress(data))
    joined, chunks = chunks_then_join(path, model, tmp_path, *how)
    assert b"".join(chunk.read_bytes() for chunk in chunks) == data
    one_shot = run("compress", "--model", model, "-c", stdin=data)
    assert one_shot.returncode == 0 and joined == one_shot.stdout
    assert decompress_bytes(joined) == data
    with open(tmp_path / "all.lz", "rb") as f:
        (member,) = container.read_members(f)
    blocks = len(member.blocks)
    assert 8 <= blocks < 12
    if how[0] == "--chunks":
        assert len(chunks) == int(how[1])
    if how[1] == "12":  # more chunks than blocks: the last ones are empty, and join takes them
        assert [chunk.stat().st_size == 0 for chunk in chunks] == [False] * blocks + [True] * (12 - blocks)
    if how[0] == "--records":  # a chunk closes at the first block boundary at or after 150 records
        counts = [len(chunk.read_bytes().splitlines()) // 4 for chunk in chunks[:-1]]
        assert all(count >= 150 for count in counts) and len(chunks) > 1


def test_joined_chunks_with_trained_networks(trained, tmp_path):
    """With the networks of a trained model (and more than one run of bucket widths in the statistics:
    the last block is small), in blocks of 256 KiB."""
    model, reads = trained
    data = reads.read_bytes()
    result = run("split", "--model", model, "--block-size", "256K", "--chunks", "3", "--prefix", tmp_path / "c", reads)
    assert result.returncode == 0
    for chunk in sorted(tmp_path.glob("c.*.fq")):
        assert run("compress", "-q", "--model", model, "--block-size", "256K", chunk).returncode == 0
    joined = run("join", "-c", *sorted(tmp_path.glob("c.*.lz")))
    one_shot = run("compress", "--model", model, "--block-size", "256K", "-c", stdin=data)
    assert joined.returncode == 0 and joined.stdout == one_shot.stdout
    assert decompress_bytes(joined.stdout) == data
    assert container.read_members(io.BytesIO(joined.stdout))[0].header["learning"]["qualities"]["used"]


def test_join_keeps_a_name_all_share_and_takes_members(model, tmp_path):
    reads = tmp_path / "reads.fq"
    reads.write_bytes(EXAMPLE.read_bytes())
    assert run("compress", "--model", model, reads).returncode == 0
    alone = run("join", "-c", tmp_path / "reads.lz")
    assert alone.stdout == (tmp_path / "reads.lz").read_bytes()  # one archive joined is itself
    (tmp_path / "twice.lz").write_bytes(alone.stdout * 2)  # two members, one name: kept
    joined = run("join", "-o", tmp_path / "joined.lz", tmp_path / "twice.lz")
    assert joined.returncode == 0
    with open(tmp_path / "joined.lz", "rb") as f:
        (member,) = container.read_members(f)
    assert member.header["name"] == "reads.fq" and member.header["mtime"] is not None
    assert decompress_bytes((tmp_path / "joined.lz").read_bytes()) == reads.read_bytes() * 2


def test_archives_of_format_2_0_join_with_those_of_3_0(tmp_path):
    """2.0 and 3.0 members differ only in how the header JSON is stored, so join copies the blocks of
    both into one 3.0 member (the golden archives of one model, one of each version)."""
    golden = Path(__file__).parent / "golden"
    parts = [golden / "v2" / "hiseqx_200.joined_model.lz", golden / "v3" / "hiseqx_200.joined_model.lz"]
    result = run("join", "-o", tmp_path / "both.lz", *parts)
    assert (result.returncode, result.stderr) == (0, b"")
    joined = (tmp_path / "both.lz").read_bytes()
    (member,) = container.read_members(io.BytesIO(joined))
    assert member.version == container.VERSION and len(member.blocks) == 2 * len(
        container.read_members(io.BytesIO(parts[1].read_bytes()))[0].blocks)
    assert decompress_bytes(joined) == (golden / "v3" / "hiseqx_200.fq").read_bytes() * 2


def test_join_refuses_other_models_parameters_and_damage(model, tmp_path):
    reads = tmp_path / "reads.fq"
    reads.write_bytes(EXAMPLE.read_bytes())
    other = tmp_path / "other.lzm"
    assert run("train", "-1", "--block-size", "32K", "-o", other, EXAMPLE).returncode == 0
    sha = {path: lstmzip.load_model(path).sha256 for path in (model, other)}
    made = {}
    for name, args in {"a": ("--model", model), "b": ("--model", other), "plain": ("-1",),
                       "plain6": ("-6",), "c": ("--model", model, "--block-size", "8K")}.items():
        made[name] = tmp_path / f"{name}.lz"
        assert run("compress", *args, "-o", made[name], reads).returncode == 0
    refusals = {
        ("a", "b"): f"b.lz: made with model {sha[other][:16]}, but {made['a']} with model {sha[model][:16]}: "
                    "join takes archives made with one model (compress --model)",
        ("a", "plain"): f"plain.lz: made with no model, but {made['a']} with model {sha[model][:16]}: join takes "
                        "archives made with one model (compress --model)",
        ("a", "c"): f"c.lz: has other model parameters than {made['a']}",
        ("plain", "plain6"): f"plain6.lz: has other model parameters than {made['plain']}",
    }
    for (first, second), message in refusals.items():
        result = run("join", "-o", tmp_path / "out.lz", made[first], made[second])
        assert (result.returncode, result.stderr.decode()) == (1, f"lstmzip: {tmp_path}/{message}\n")
        assert not (tmp_path / "out.lz").exists()
    # a damaged block is refused (its CRC is checked as it is copied), naming the archive
    damaged = bytearray(made["a"].read_bytes())
    damaged[len(damaged) // 2] ^= 1
    (tmp_path / "bad.lz").write_bytes(bytes(damaged))
    result = run("join", "-o", tmp_path / "out.lz", made["a"], tmp_path / "bad.lz")
    assert result.returncode == 1 and result.stderr.decode().startswith(f"lstmzip: {tmp_path / 'bad.lz'}: block ")
    assert not (tmp_path / "out.lz").exists()
    # data without a final newline can only come last
    (tmp_path / "open.fq").write_bytes(EXAMPLE.read_bytes().rstrip(b"\n"))
    assert run("compress", "--model", model, tmp_path / "open.fq").returncode == 0
    result = run("join", "-o", tmp_path / "out.lz", tmp_path / "open.lz", made["a"])
    assert result.stderr.decode() == (f"lstmzip: {tmp_path / 'open.lz'}: its data ends without a newline, so it can "
                                      "only be the last archive joined\n") and result.returncode == 1
    assert run("join", "-o", tmp_path / "out.lz", made["a"], tmp_path / "open.lz").returncode == 0
    assert decompress_bytes((tmp_path / "out.lz").read_bytes()) == reads.read_bytes() + (tmp_path / "open.fq").read_bytes()
    assert run("join", made["a"]).returncode == 2  # neither -o nor -c


def test_paired_archives_join(model, tmp_path):
    ones, twos = corpus_records("ga2_ecoli", 300), corpus_records("ga2_ecoli_2", 300)
    parts = []
    for i, (a, b) in enumerate(((ones[:120], twos[:120]), (ones[120:], twos[120:]))):
        (tmp_path / f"s{i}_R1.fq").write_bytes(fastq(a))
        (tmp_path / f"s{i}_R2.fq").write_bytes(fastq(b))
        assert run("compress", "--pair", "--model", model, tmp_path / f"s{i}_R1.fq", tmp_path / f"s{i}_R2.fq").returncode == 0
        parts.append(tmp_path / f"s{i}.lz")
    assert run("join", "-o", tmp_path / "s.lz", *parts).returncode == 0
    assert run("decompress", "-o", tmp_path / "1.fq", "-o", tmp_path / "2.fq", tmp_path / "s.lz").returncode == 0
    assert (tmp_path / "1.fq").read_bytes() == fastq(ones) and (tmp_path / "2.fq").read_bytes() == fastq(twos)
    plain = tmp_path / "single.lz"
    assert run("compress", "--model", model, "-o", plain, tmp_path / "s0_R1.fq").returncode == 0
    result = run("join", "-c", parts[0], plain)
    assert result.stderr.decode() == f"lstmzip: {plain}: is not paired and {parts[0]} is\n"


def test_split_refuses_what_is_not_fastq_and_writes_nothing(model, tmp_path):
    bad = tmp_path / "bad.fq"
    bad.write_bytes(EXAMPLE.read_bytes() + b"@r\nACGT\n+\nIII\n")
    result = run("split", "--model", model, "--chunks", "2", bad)
    assert result.returncode == 1 and result.stderr.decode().startswith(f"lstmzip: {bad}:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fq"]
    assert run("split", "--records", "5", "--chunks", "2", bad).returncode == 2
    stdin = run("split", "--chunks", "2", "-", stdin=EXAMPLE.read_bytes())
    assert stdin.returncode == 1 and b"split needs a file" in stdin.stderr


def test_split_by_the_api(model, tmp_path):
    reads = tmp_path / "reads.fastq"
    reads.write_bytes(EXAMPLE.read_bytes())
    paths = lstmzip.split(reads, chunks=2, model=model)
    assert [p.name for p in paths] == ["reads.0001.fq", "reads.0002.fq"]
    for path in paths:
        with lstmzip.open(path.with_suffix(".lz"), "wb", model=model) as out:
            out.write(path.read_bytes())
    lstmzip.join([p.with_suffix(".lz") for p in paths], tmp_path / "all.lz")
    with lstmzip.open(tmp_path / "all.lz") as f:
        assert f.read() == reads.read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(fastq_files())
def test_raw_size_is_what_the_block_takes_in_the_input(data):
    for block in read_blocks(io.BytesIO(data), 5, 1 << 20):
        assert splitting.raw_size(block) == len(format_block(block))
    params = levels.params_for_level(1, 1024)
    sizes = splitting.chunk_sizes(read_blocks(io.BytesIO(data), params["block_records"], params["block_bytes"]), None, 3)
    assert sum(sizes) == len(data) and len(sizes) == 3
