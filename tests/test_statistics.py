"""The statistics section: the coder's own costs by position and base letter, small, and checked."""

import io
import math

import numpy as np
import pytest

from lstmzip import container, costs, levels, packing, pipeline
from lstmzip.errors import CorruptArchiveError
from lstmzip.fastq import read_blocks

from conftest import EXAMPLE, compress_bytes, decompress_bytes, seal, split_archive


def first_block(data: bytes):
    return next(read_blocks(io.BytesIO(data), 1 << 22, 1 << 25))


@pytest.fixture(scope="module")
def example_block(example_bytes):
    return first_block(example_bytes)


def range_coded_bits(stream: bytes, sections: int) -> int:
    return 8 * len(packing.split_sections(stream, sections)[-1])


def test_costs_are_what_the_range_coder_spent(example_block):
    """Summed -log2 p of every coded symbol is the size of the range-coded words (within the coder's
    0.013 % and its last word), and every coded symbol is counted once, by position and by letter."""
    block, params = example_block, levels.params_for_level(1)
    bases, base_costs = pipeline._encode_bases(block.seq, block.lengths, params, None)
    quals, qual_costs = pipeline._encode_qualities(block.qual, block.lengths, params, None, block.seq)
    for spent, coded_bits, symbols in ((base_costs, range_coded_bits(bases, 5), np.isin(block.seq, list(b"ACGT")).sum()),
                                       (qual_costs, range_coded_bits(quals, 2), len(block.qual))):
        bits = spent.sums.sum() / costs.SCALE
        assert abs(bits - coded_bits) < 0.001 * coded_bits + 64
        assert spent.counts.sum() == spent.letter_counts.sum() == symbols
        assert spent.sums.sum() == spent.letter_sums.sum()
    # qualities counted under their base's letter: as many as the block has of each
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    assert qual_costs.letter_counts[:4].tolist() == [(block.seq == c).sum() for c in letters]
    assert base_costs.letter_counts[4] == 0  # exceptions (N) are not range-coded


def test_bit_cost_table_matches_log2():
    """The integer cost of a probability is -log2 of it, to the table's 1/4096-bit resolution."""
    spent = costs.Costs(0, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    p = np.array([[0.5, 0.25, 0.125, 1e-3], [0.9, 0.05, 0.03, 0.02], [1e-12, 0.3, 0.3, 0.4]])
    rows = type("R", (), {"row_offset": np.zeros(3, dtype=np.int64), "row_start": np.zeros(3, dtype=np.int64)})
    for symbol in range(4):
        spent.sums[:] = 0
        spent.observer(rows)(0, np.arange(3, dtype=np.int32), np.full(3, symbol, dtype=np.int32), p)
        exact = sum(-math.log2(max(q, 2.0**-32)) for q in p[:, symbol])
        assert abs(spent.sums[0] / costs.SCALE - exact) < 3 * 0.0004


def test_long_reads_are_bucketed_by_position_in_the_read():
    """Reads longer than a coding row (1024 symbols): positions count from the read's start. Qualities
    are random up to position 2048 and constant after it, so later buckets cost almost nothing (but for
    the first ones after a row starts afresh, at 3072)."""
    rng = np.random.default_rng(3)
    records = []
    for i in range(30):
        length = 4000 + i
        seq = rng.choice(list(b"ACGT"), length).astype(np.uint8).tobytes()
        qual = rng.integers(33, 74, length, dtype=np.uint8)
        qual[2048:] = ord("I")
        records.append(b"@r%d\n%s\n+\n%s\n" % (i, seq, qual.tobytes()))
    block = first_block(b"".join(records))
    _, spent = pipeline._encode_qualities(block.qual, block.lengths, levels.params_for_level(1), None, block.seq)
    assert spent.shift == costs.bucket_shift(4029) == 2 and len(spent.sums) == 1008
    means = spent.sums / np.maximum(spent.counts, 1) / costs.SCALE
    later = means[(2048 >> 2) + 8 :]
    assert means[: 2048 >> 2].min() > 3 and np.median(later) < 0.01 and (later > 0.2).sum() <= 2
    positions = np.concatenate([np.arange(length) for length in block.lengths])
    assert spent.counts.tolist() == np.bincount(positions >> 2).tolist()


def test_coarsening_and_adding_runs_keep_every_bit():
    unit = costs.UNIT  # sums of whole units, so that rounding them per block changes nothing
    a = costs.Costs(0, np.arange(10, dtype=np.int64) * unit, np.ones(10, dtype=np.int64))
    b = costs.Costs(2, np.array([5, 7], dtype=np.int64) * unit, np.array([4, 4], dtype=np.int64))
    total = costs.Run.of_block(b, b, 2).plus(costs.Run.of_block(a, a, 0))
    assert total.shift == 2 and total.base_sums.tolist() == [0 + 1 + 2 + 3 + 5, 4 + 5 + 6 + 7 + 7, 8 + 9]
    assert total.base_counts.tolist() == total.quality_counts.tolist() == [8, 8, 2]
    assert a.coarsened(5).sums.tolist() == [45 * unit]


def block_costs(block, level=1):
    params = levels.params_for_level(level)
    _, b = pipeline._encode_bases(block.seq, block.lengths, params, None)
    _, q = pipeline._encode_qualities(block.qual, block.lengths, params, None, block.seq)
    return b, q


def test_runs_fit_the_budget_and_unpack(example_block):
    b, q = block_costs(example_block)
    finest = costs.Runs()
    finest.add_block(b, q, 1 << 30)
    stats = costs.describe(costs.unpack(finest.pack()))
    assert stats.positions_per_bucket == 1 and len(stats.bases_by_position) == len(stats.qualities_by_position) == 150
    assert stats.qualities_by_position[7] == pytest.approx(q.sums[7] / q.counts[7] / costs.SCALE, abs=0.001)
    assert stats.bases_by_letter["A"] == pytest.approx(b.letter_sums[0] / b.letter_counts[0] / costs.SCALE, abs=0.001)
    assert set(stats.bases_by_letter) == set("ACGT") and set(stats.qualities_by_letter) == set("ACGTN")
    sizes = []
    for stored in (1_000_000, 300_000, 100_000, 0):
        runs = costs.Runs()
        runs.add_block(b, q, stored)
        payload = runs.pack()
        assert len(payload) <= max(stored // 1000 - container.SECTION_OVERHEAD, costs.MIN_BUDGET)
        unpacked = costs.unpack(payload)
        assert unpacked.pack() == payload and len(unpacked.runs) == 1
        sizes.append(len(costs.describe(unpacked).bases_by_position))
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]


def test_runs_of_archives_put_together_are_those_of_their_blocks_coded_at_once(example_bytes):
    """The rule that makes `lstmzip join` exact: however a sequence of blocks is cut in two, the runs
    of the first part extended by those of the second are the runs of all of them, byte for byte."""
    blocks = list(read_blocks(io.BytesIO(example_bytes), 1 << 22, 6000))
    rng = np.random.default_rng(5)
    gathered = [(*block_costs(block), int(stored)) for block, stored in
                zip(blocks, rng.choice([0, 40_000, 150_000, 10**6], len(blocks)))]
    assert len(gathered) >= 8
    whole = costs.Runs()
    for block in gathered:
        whole.add_block(*block)
    assert len(whole.runs) >= 2  # some blocks were finer than the run before them
    for cut in range(len(gathered) + 1):
        first, second = costs.Runs(), costs.Runs()
        for block in gathered[:cut]:
            first.add_block(*block)
        for block in gathered[cut:]:
            second.add_block(*block)
        first.extend(costs.unpack(second.pack()))
        assert first.pack() == whole.pack()
    assert [run.shift for run in whole.runs] == sorted({run.shift for run in whole.runs})


def test_empty_input_has_statistics_of_nothing():
    archive = compress_bytes(b"")
    _, _, _, (version, payload), _ = split_archive(archive)
    stats = costs.describe(costs.unpack(payload))
    assert version == costs.VERSION and stats.bases_by_position == [] and stats.bases_by_letter["A"] is None


def test_section_is_at_most_a_thousandth_of_the_archive(example_bytes):
    out = io.BytesIO()
    result = pipeline.compress_stream(io.BytesIO(example_bytes), out, 1, 1)
    archive = out.getvalue()
    assert result.archive_bytes == len(archive)
    assert result.statistics_bytes <= max(costs.MIN_BUDGET + container.SECTION_OVERHEAD, len(archive) // 1000)
    f = io.BytesIO(archive)
    (member,) = container.read_members(f)
    version, payload = container.read_statistics(f, member)
    assert len(payload) + container.SECTION_OVERHEAD == result.statistics_bytes == member.statistics_size


def _refused(archive: bytes) -> str:
    with pytest.raises(CorruptArchiveError) as caught:
        decompress_bytes(archive)
    return str(caught.value)


@pytest.fixture(scope="module")
def small_archive():
    data = EXAMPLE.read_bytes()[:20_000].rsplit(b"\n@", 1)[0] + b"\n"
    return data, compress_bytes(data, level=1)


def test_damaged_section_is_refused(small_archive):
    data, archive = small_archive
    f = io.BytesIO(archive)
    (member,) = container.read_members(f)
    start = member.blocks[-1].offset + member.blocks[-1].stored
    assert member.statistics_offset == start
    flipped = bytearray(archive)
    flipped[start + 8] ^= 1  # in the payload
    assert _refused(bytes(flipped)) == "archive statistics section is corrupt (checksum mismatch)"
    with pytest.raises(CorruptArchiveError, match="checksum mismatch"):
        container.read_statistics(io.BytesIO(bytes(flipped)), member)


def test_crafted_sections_are_refused_or_ignored(small_archive):
    data, archive = small_archive
    payload, models, blocks, (version, section), major = split_archive(archive)
    assert seal(payload, models, blocks, (version, section), major) == archive
    bad = seal(payload, models, blocks, (version, section[:-1]), major)  # checksum valid, content truncated
    assert _refused(bad).startswith("statistics section is corrupt")
    bad = seal(payload, models, blocks, (version, b"\xff" * 12), major)
    assert _refused(bad) == "statistics section is corrupt (bad number)"
    later = seal(payload, models, blocks, (version + 1, b"anything"), major)  # a later version: skipped
    assert decompress_bytes(later) == data
    without = seal(payload, models, blocks, None, major)  # no section at all
    assert decompress_bytes(without) == data
    f = io.BytesIO(without)
    (member,) = container.read_members(f)
    assert member.statistics_offset is None and container.read_statistics(f, member) is None


def test_section_out_of_place_is_refused(small_archive):
    """Between two blocks, or twice: refused where it is met."""
    data, archive = small_archive
    payload, models, blocks, statistics, major = split_archive(archive)
    two_blocks = seal(payload, models, blocks * 2, statistics, major)
    (member,) = container.read_members(io.BytesIO(two_blocks))
    first_end = member.blocks[0].offset + member.blocks[0].stored
    section = archive[-container.FOOTER_SIZE - (1 + 8 + 40 + 4) - (len(statistics[1]) + container.SECTION_OVERHEAD):][
        : len(statistics[1]) + container.SECTION_OVERHEAD]
    assert section[:1] == b"S"
    between = two_blocks[:first_end] + section + two_blocks[first_end:]
    assert _refused(between) == f"archive is corrupt (unexpected byte at offset {first_end + len(section)})"
