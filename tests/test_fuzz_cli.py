"""The command line under damage, as a user meets it: `lstmzip decompress -T2` of damaged archives (bits
flipped in every part of an archive with both networks and several blocks) and `lstmzip compress -T2` of
FASTQ damaged in a later block, each run as its own process group with a time limit. A run that does
not end in time, ends with another status than 0 or 1, prints a traceback or more than its one-line
message, leaves a process or a file behind, or writes wrong data is a failure.

Short in CI; `python fuzz/run.py --target cli` runs it for hours (LSTMZIP_FUZZ_EXAMPLES per round)."""

import io
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lstmzip import container, pipeline
from lstmzip.networks import BASE_FEATURES, Learned, QuantLSTM

from conftest import corpus_records, fastq, group_processes

EXAMPLES = os.environ.get("LSTMZIP_FUZZ_EXAMPLES")
HANG = 90  # seconds: every run here takes one to a few on a loaded 2-core machine
LSTMZIP = [sys.executable, "-m", "lstmzip"]
GOLDEN_WITH_NETWORKS = os.path.join(os.path.dirname(__file__), "golden", "v1", "hiseqx_200.level6_lstm.lz")


def cli_settings(ci_examples: int):
    """No shrinking: every example is a process run, and a failing one is reported as drawn."""
    return settings(max_examples=int(EXAMPLES or ci_examples), deadline=None, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck), database=None, print_blob=True)


@pytest.fixture(scope="module")
def seed_archive():
    """1,500 HiSeq X reads in 6 blocks, coded with both networks: a golden archive's quality network and
    a base network of random weights (the decoder runs it all the same)."""
    with open(GOLDEN_WITH_NETWORKS, "rb") as f:
        learned = Learned.from_bytes(container.read_header(f)[1])
    rng = np.random.default_rng(0)
    model = QuantLSTM.__new__(QuantLSTM)
    model.n_inputs, model.hidden, model.n_classes = BASE_FEATURES, 16, 4
    tensors = {name: (rng.integers(-60, 61, shape).astype(np.int8), 40) for name, shape in model.shapes().items()}
    learned.bases = QuantLSTM(BASE_FEATURES, 16, 4, tensors)
    original = fastq(corpus_records("hiseqx_151", 1500))
    out = io.BytesIO()
    pipeline.compress_stream(io.BytesIO(original), out, 6, 1, name="seed.fq", learned=learned, block_bytes=100_000)
    archive = out.getvalue()
    (member,) = container.read_members(io.BytesIO(archive))
    assert len(member.blocks) == 6 and member.statistics_offset is not None
    return archive, original


def parts(archive: bytes) -> dict[str, tuple[int, int]]:
    """Byte ranges [start, end) of each part of an archive: header (with the models), every block's
    header and streams, statistics section, index, footer."""
    header_size = container.read_header(io.BytesIO(archive))[2]
    (member,) = container.read_members(io.BytesIO(archive))
    size = member.size
    index_offset = struct.unpack_from("<Q", archive, size - container.FOOTER_SIZE)[0]
    ranges = {"header": (0, header_size), "index": (index_offset, size - container.FOOTER_SIZE),
              "footer": (size - container.FOOTER_SIZE, size),
              "statistics": (member.statistics_offset, member.statistics_offset + member.statistics_size)}
    head = container._BLOCK.size + 4
    for number, block in enumerate(member.blocks, 1):
        ranges[f"block {number} header"] = (block.offset, block.offset + head)
        ranges[f"block {number} streams"] = (block.offset + head, block.offset + block.stored)
    return ranges


def run_alone(args, cwd) -> tuple[int, str]:
    """lstmzip in its own session; asserts that it ended in time and that no process survived it."""
    process = subprocess.Popen([*LSTMZIP, *map(str, args)], cwd=cwd, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, stderr = process.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"hung: lstmzip {' '.join(map(str, args))}")
    deadline = time.monotonic() + 2
    while group_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_processes(process.pid) == [], "a process outlived lstmzip"
    return process.returncode, stderr.decode(errors="replace")


def assert_one_line_refusal(stderr: str, prefix: str) -> None:
    assert "Traceback" not in stderr and stderr.count("\n") == 1 and stderr.startswith(prefix), stderr


@st.composite
def damage(draw, archive: bytes):
    """1-3 flipped bits, the first in a part chosen evenly (so the small parts are hit as often as the
    streams), the others anywhere."""
    ranges = parts(archive)
    start, end = ranges[draw(st.sampled_from(sorted(ranges)))]
    data = bytearray(archive)
    at = draw(st.integers(start, end - 1))
    data[at] ^= 1 << draw(st.integers(0, 7))
    for _ in range(draw(st.integers(0, 2))):
        data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


@cli_settings(20)
@given(st.data())
def test_cli_decompress_of_damaged_archives(seed_archive, tmp_path_factory, data):
    archive, original = seed_archive
    work = tmp_path_factory.mktemp("decompress")
    damaged = data.draw(damage(archive))
    path = work / "damaged.lz"
    path.write_bytes(damaged)
    output = work / "out.fq"
    code, stderr = run_alone(["decompress", "-T2", "-f", "-o", output, path], work)
    if code == 0:
        assert stderr == "" and output.read_bytes() == original
        output.unlink()
    else:
        assert code == 1
        assert_one_line_refusal(stderr, f"lstmzip: {path}: ")
        assert not output.exists()
    assert sorted(p.name for p in work.iterdir()) == ["damaged.lz"]
    path.unlink()


@pytest.fixture(scope="module")
def seed_fastq():
    """3,000 HiSeq X reads: about eight 128 KiB blocks."""
    return corpus_records("hiseqx_151", 3000)


def _break(record: bytes, how: str) -> bytes:
    name, seq, plus, qual = record.split(b"\n")
    return {
        "name": b"\n".join([b"X" + name[1:], seq, plus, qual]),
        "plus": b"\n".join([name, seq, b"-", qual]),
        "short quality": b"\n".join([name, seq, plus, qual[:-1]]),
        "long quality": b"\n".join([name, seq, plus, qual + b"I"]),
        "control byte": b"\n".join([name, seq[:5] + b"\x01" + seq[6:], plus, qual]),
        "blank line": b"\n".join([name, seq, plus, qual]) + b"\n",
        "cut": b"\n".join([name, seq, plus]),
    }[how]


@cli_settings(10)
@given(st.data())
def test_cli_compress_of_fastq_damaged_in_a_later_block(seed_fastq, tmp_path_factory, data):
    records = list(seed_fastq)
    work = tmp_path_factory.mktemp("compress")
    at = data.draw(st.integers(400, len(records) - 1))  # past the first 128 KiB block (about 360 records)
    how = data.draw(st.sampled_from(["name", "plus", "short quality", "long quality", "control byte", "blank line",
                                     "cut"]))
    records[at] = _break(records[at], how)
    if how == "cut":
        del records[at + 1 :]
    path = work / "reads.fq"
    path.write_bytes(fastq(records))
    level = data.draw(st.sampled_from(["-1", "-6"]))
    code, stderr = run_alone(["compress", level, "-T2", "--block-size", "128K", path], work)
    assert code == 1
    assert_one_line_refusal(stderr, f"lstmzip: {path}:")
    line = int(stderr.split(":")[2])
    assert 4 * at + 1 <= line <= 4 * at + 5, stderr  # the damaged record's lines (or the blank one after it)
    assert sorted(p.name for p in work.iterdir()) == ["reads.fq"]
