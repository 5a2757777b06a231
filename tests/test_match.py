"""The match model of the bases and the interleaved row order: exact round trips where reads overlap on
either strand, what the model predicts, and the parameters a header may carry."""

import copy
import io

import numpy as np
import pytest

from lstmzip import coder, container, levels, match, pipeline, rows, streams
from lstmzip.errors import CorruptArchiveError
from lstmzip.fastq import read_blocks
from lstmzip.learning import BASE_CODE
from lstmzip.networks import Learned

from conftest import compress_bytes, corpus_records, decompress_bytes, fastq

COMPLEMENT = bytes.maketrans(b"ACGTacgtN", b"TGCAtgcaN")


def reverse_complement(seq: bytes) -> bytes:
    return seq.translate(COMPLEMENT)[::-1]


def overlapping_reads(n: int, length: int, genome: int, seed: int, reverse_share: float = 0.5) -> list[bytes]:
    """Reads of a random genome in genome order (a sorted export), each from either strand."""
    rng = np.random.default_rng(seed)
    g = rng.choice(np.frombuffer(b"ACGT", np.uint8), genome).tobytes()
    starts = np.sort(rng.integers(0, genome - length, n))
    return [reverse_complement(g[s : s + length]) if rng.random() < reverse_share else g[s : s + length]
            for s in starts]


def params_with(match_params, order=rows.INTERLEAVED) -> dict:
    params = levels.params_for_level(6)
    params["bases"]["match"] = match_params
    params["row_order"] = order
    return levels.check_params(params)


def code_bases(reads: list[bytes], params: dict) -> bytes:
    seq = np.frombuffer(b"".join(reads), dtype=np.uint8)
    lengths = np.array([len(r) for r in reads], dtype=np.int64)
    data = streams.encode_bases(seq, lengths, params)
    assert np.array_equal(streams.decode_bases(data, lengths, params), seq)
    return data


MATCH = {"min_length": 12, "table_bits": 16, "count_limit": 255}


def test_overlapping_reads_on_both_strands_round_trip_and_shrink():
    reads = overlapping_reads(2000, 150, 100_000, seed=1)
    without = code_bases(reads, params_with(None))
    with_match = code_bases(reads, params_with(MATCH))
    # 3x coverage of a random 100 kbp genome: the context models (orders up to 14, both strands) already
    # predict much of it; the match model is surer wherever a read continues an earlier one
    assert len(with_match) < 0.95 * len(without)
    # and reads of one length interleaved, so that a read can see its neighbour in the same step
    assert len(with_match) < len(code_bases(reads, params_with(MATCH, rows.IN_FILE_ORDER)))


def test_reverse_complement_matches_are_found():
    """Reads, then the reverse complements of the same reads: the copies are predicted backwards along the
    originals (direction -1), and nearly always right. Coding goes one position of all rows at a time, so
    a copy's last bases read backwards are only coded once a step passes the middle of the reads."""
    forward = overlapping_reads(200, 80, 2_000_000, seed=2, reverse_share=0)  # copies barely overlap
    reads = forward + [reverse_complement(r) for r in forward]
    lengths = np.array([len(r) for r in reads])
    layout = rows.make_rows(lengths, 1024, rows.IN_FILE_ORDER)
    columns = layout.to_columns(BASE_CODE[np.frombuffer(b"".join(reads), dtype=np.uint8)])
    coded = np.ones(len(columns), dtype=bool)
    params = params_with(MATCH, rows.IN_FILE_ORDER)
    model = streams._base_model(params, layout, None)
    hits = backwards = predicted = 0
    for step, span, lo, which in coder._walk(model, layout, coded):
        model.predict(step, which + lo)
        late = which[which + lo >= 200] + lo  # the reverse-complemented copies
        expected = model.match.expected[late].astype(np.int64)
        predicted += int(np.count_nonzero(expected >= 0))
        hits += int(np.count_nonzero(expected == columns[span][late - lo]))
        backwards += int(np.count_nonzero((model.match.direction[late] == -1) & (expected >= 0)))
        model.update(step, lo, columns[span], coded[span])
    assert predicted > 0.9 * 200 * (80 - (80 + 12) // 2)
    assert hits > 0.99 * predicted and backwards > 0.98 * predicted


@pytest.mark.parametrize("order", [rows.IN_FILE_ORDER, rows.INTERLEAVED])
def test_odd_bases_round_trip_with_the_match_model(order):
    """N, lowercase, IUPAC, reads shorter than k, empty reads, long reads cut into rows, duplicates."""
    rng = np.random.default_rng(3)
    reads = overlapping_reads(300, 60, 2000, seed=3)
    odd = []
    for i, r in enumerate(reads):
        r = bytearray(r)
        if i % 7 == 0:
            r[rng.integers(len(r))] = ord("N")
        if i % 11 == 0:
            r[10:30] = bytes(r[10:30]).lower()
        if i % 13 == 0:
            r[rng.integers(len(r))] = ord("R")
        odd.append(bytes(r))
    odd += [b"", b"ACG", b"ACGTACGTACG", reads[5], reads[5], b"N" * 40]
    odd.append(b"".join(reads[:100]))  # 6 kbp: cut into rows of 1024 that match the short reads
    params = params_with(MATCH, order)
    code_bases(odd, params)
    code_bases(odd, dict(params, row_width=37))  # narrow rows: many separators in the history


def test_match_table_smaller_than_the_block_still_round_trips():
    reads = overlapping_reads(2000, 100, 30_000, seed=4)
    code_bases(reads, params_with(dict(MATCH, table_bits=12, min_length=31, count_limit=1)))
    code_bases(reads, params_with(dict(MATCH, min_length=4)))


def test_whole_archives_round_trip_at_every_level_with_the_match_model():
    reads = overlapping_reads(400, 90, 3000, seed=5)
    data = b"".join(b"@r%d\n%s\n+\n%s\n" % (i, r, b"I" * len(r)) for i, r in enumerate(reads))
    for level in (1, 6, 9):
        assert levels.params_for_level(level)["bases"]["match"] is not None
        assert decompress_bytes(compress_bytes(data, level)) == data


def test_interleaved_rows_keep_the_longest_first_and_every_symbol():
    lengths = np.array([5, 3, 5, 5, 0, 3, 2000, 5, 5], dtype=np.int64)
    for order in (rows.IN_FILE_ORDER, rows.INTERLEAVED):
        layout = rows.make_rows(lengths, 1024, order)
        live = np.diff(layout.col_start)
        assert (np.diff(live) <= 0).all()
        flat = np.arange(int(lengths.sum()))
        assert np.array_equal(layout.to_reads(layout.to_columns(flat)), flat)
    # neighbours in the file are far apart among the rows of one length
    layout = rows.make_rows(np.full(16, 10), 1024, rows.INTERLEAVED)
    read_of_row = layout.row_start // 10
    assert list(read_of_row[:4]) == [0, 8, 4, 12] and sorted(read_of_row) == list(range(16))


def test_params_without_the_new_keys_mean_what_they_meant_in_1_0():
    params = levels.params_for_level(6)
    del params["row_order"], params["bases"]["match"]
    assert levels.check_params(params)
    layout = streams._rows(np.array([4, 4, 4]), params)
    assert list(layout.row_start) == [0, 4, 8]  # file order
    assert streams._base_model(params, layout, None).match is None


@pytest.mark.parametrize("change", [
    lambda p: p.update(row_order=2),
    lambda p: p.update(row_order="1"),
    lambda p: p["bases"]["match"].update(min_length=3),
    lambda p: p["bases"]["match"].update(min_length=32),
    lambda p: p["bases"]["match"].update(table_bits=levels.MAX_MATCH_TABLE_BITS + 1),
    lambda p: p["bases"]["match"].update(table_bits=11),
    lambda p: p["bases"]["match"].update(count_limit=256),
    lambda p: p["bases"]["match"].update(count_limit=True),
    lambda p: p["bases"]["match"].update(extra=1),
    lambda p: p["bases"]["match"].pop("min_length"),
    lambda p: p["bases"].update(match=[12, 22, 255]),
    lambda p: p["bases"].update(match={}),
])
def test_crafted_match_parameters_are_refused(change):
    params = copy.deepcopy(levels.params_for_level(6))
    change(params)
    with pytest.raises(CorruptArchiveError, match="invalid model parameters"):
        levels.check_params(params)


def first_block(data: bytes):
    return next(read_blocks(io.BytesIO(data), 1 << 22, 1 << 30))


def archive_params(archive: bytes) -> dict:
    return container.read_header(io.BytesIO(archive))[0]["params"]


def compress_untrained(data: bytes, level: int) -> bytes:
    out = io.BytesIO()
    pipeline.compress_stream(io.BytesIO(data), out, level, 1, learned=Learned())
    return out.getvalue()


def test_levels_7_to_9_take_the_short_k_where_the_first_reads_code_smaller_with_it():
    """An amplicon (ga2_ecoli: reads of about 1.8 kb, so six bases mostly find the right place) takes k =
    6; reads of a human genome (hiseqx_151), where six bases match anywhere, keep k = 12."""
    amplicon, genome = fastq(corpus_records("ga2_ecoli", 1500)), fastq(corpus_records("hiseqx_151", 1000))
    level = levels.params_for_level(9)
    block = first_block(amplicon)
    chosen = match.choose_min_length(level, block.seq, block.lengths)
    assert chosen["bases"]["match"]["min_length"] == match.SHORT_MIN_LENGTH
    short, long = (len(streams.encode_bases(block.seq, block.lengths, p)) for p in (chosen, level))
    assert short < 0.95 * long  # 3,237 and 3,541 bytes when written (hiseqx_151: 20,813 and 17,169)
    block = first_block(genome)
    assert match.choose_min_length(level, block.seq, block.lengths) == level
    for data, k in ((amplicon, match.SHORT_MIN_LENGTH), (genome, 12)):
        archive = compress_untrained(data, 9)
        assert archive_params(archive)["bases"]["match"]["min_length"] == k and decompress_bytes(archive) == data
    # the default level tries nothing: its compression time is what issue 9 measures
    assert archive_params(compress_untrained(amplicon, 6))["bases"]["match"]["min_length"] == 12
