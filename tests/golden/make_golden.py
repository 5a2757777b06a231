"""Makes the golden archives of the format lstmzip writes (3.5) in tests/golden/v3.5. Run once, by hand,
when a format version is introduced: the files it wrote are committed and must decode exactly in every
later version (test_golden.py). Never re-run it for a released version. The 1.0 files in v1 were made by
this script as it was at commit e8aa435, the 2.0 files in v2 as it was at commit 300b0ec, the 3.0 files in
v3 at 7f6e23b, the 3.1 files in v3.1 at a7dbb4f, the 3.2 .. 3.5 files in v3.2 .. v3.5 at the
commits that added them (their sections are kept below); they are never remade. A minor version gets the archives
that show its change, not the whole set: 3.1 (the coarse quality context, which level 6 uses where no
quality network is trained, and the lengths stream's mode byte, every member having one) has odd_cases,
pair, two_members and trimmed (lengths that follow from the names); 3.2 (the base context's base ahead
and coarse mix, which level 6 chooses for nanopore reads where they are many enough to pay) has
nanopore_400.level6, with reads longer than a row; 3.3 (lengths from the number after a key token) has
trimmed_key.level9: ga2_ecoli reads whose names have ` trim=N` after an optional ` correct`, at level 9
without networks, so that it also holds a names stream whose last tokens are one (names/encode.py) and
the match model's short k (match.py), which 3.2 readers decode as well; 3.4 (the mean quality so far in
the coarse quality context) has miseq_300.level6: miseq_n701's first reads at level 6, which trains no
network on so few bases and so mixes the coarse context in; 3.5 (the quality network reads the next base)
has hiseqx_200.level9_model and nanopore_400.level6_lstm: a quality network trained (at -9) on other reads
of the same corpus file, beside the fqzcomp-like model (made with the model file of that training, so at
its level 9, in blocks of 20 kB) and beside the base context with its base ahead (reads longer than a row, so a row's
last position has no next base, in blocks of 40 kB); their headers hold the learned models packed, and
damaged/ two copies of the first whose packed models do not unpack.

Usage: python tests/golden/make_golden.py MODELS_ARCHIVE, where MODELS_ARCHIVE is an archive whose
learned models (trained on a whole corpus file) are reused: tests/golden/v1/hiseqx_200.level6_lstm.lz.

An archive a.b.lz decodes to a.fq (a paired one to the interleaved pairs); pair.*.lz also restores
pair_R1.fq and pair_R2.fq, its two files. Every member carries a statistics section.

Model files: hiseqx_200.level6.lzm holds those networks (not trained by lstmzip train: its sample is
empty), and hiseqx_200.joined_model.lz is the join of two archives made with it from two chunks of
hiseqx_200.fq cut at its block boundaries, which is the archive of the whole made with it from standard
input. damaged_models/ holds damaged model files and the message each must be refused with.
"""

import gzip
import hashlib
import io
import json
import struct
import sys
from pathlib import Path

from lstmzip import base_quals, container, joining, lengths, levels, match, modelfile, pairs, pipeline, splitting
from lstmzip.errors import ModelFileError
from lstmzip.fastq import read_blocks
from lstmzip.networks import QUALITY_FEATURES, Learned

MAJOR, MINOR = container.VERSION
HERE = Path(__file__).parent / (f"v{MAJOR}" if MINOR == 0 else f"v{MAJOR}.{MINOR}")
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
MTIME = 1_700_000_000


def records(name: str, count: int, skip: int = 0) -> list[bytes]:
    with gzip.open(CORPUS / f"{name}.fq.gz", "rb") as f:
        lines = [f.readline() for _ in range(4 * (skip + count))][4 * skip :]
    return [b"".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]


def compress(data: bytes, level: int, learned: Learned | None = None, block_bytes: int | None = None) -> bytes:
    out = io.BytesIO()
    pipeline.compress_stream(io.BytesIO(data), out, level, 1, name="golden.fq", mtime=MTIME, learned=learned,
                             block_bytes=block_bytes)
    return out.getvalue()


def odd(recs: list[bytes], crlf: int, plus_name: int, lower: int) -> list[bytes]:
    """Records with one CRLF record, one '+name' line and one lowercase run."""
    recs = list(recs)
    recs[crlf] = recs[crlf].replace(b"\n", b"\r\n")
    name, seq, plus, qual, _ = recs[plus_name].split(b"\n")
    recs[plus_name] = b"\n".join([name, seq, b"+" + name[1:], qual, b""])
    name, seq, plus, qual, _ = recs[lower].split(b"\n")
    recs[lower] = b"\n".join([name, seq[:30].lower() + seq[30:], plus, qual, b""])
    return recs


def flip(data: bytes, at: int, bit: int) -> bytes:
    return data[:at] + bytes([data[at] ^ bit]) + data[at + 1 :]


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        _, models, _ = container.read_header(f)
    learned = Learned.from_bytes(models)
    HERE.mkdir(exist_ok=True)
    if (MAJOR, MINOR) == (3, 5):
        hiseqx = b"".join(records("hiseqx_151", 200))
        nanopore = odd_nanopore(400)
        for name, data, sample in (("hiseqx_200", hiseqx, b"".join(records("hiseqx_151", 3000, skip=200))),
                                   ("nanopore_400", nanopore, b"".join(records("ont_seqkit", 1000, skip=400)))):
            trained, _, _ = modelfile.train([io.BytesIO(sample)], 9)
            network = trained.learned.qualities
            if network is None or network.model.n_inputs != QUALITY_FEATURES:
                raise SystemExit(f"no quality network that reads the next base was trained for {name}")
            (HERE / f"{name}.fq").write_bytes(data)
            if name == "hiseqx_200":  # a small sample gets the base context: the model's fqzcomp-like one instead
                out = io.BytesIO()
                pipeline.compress_stream(io.BytesIO(data), out, 6, 1, name="golden.fq", mtime=MTIME, model=trained,
                                         block_bytes=20_000)
                archive = out.getvalue()
            else:
                archive = compress(data, 6, Learned(qualities=network), block_bytes=40_000)
            header, _, _ = container.read_header(io.BytesIO(archive))
            context = header["params"]["qualities"].get("base_context")
            if (name == "nanopore_400") != bool(context and context.get("ahead")):
                raise SystemExit(f"{name}: another quality model than expected")
            (HERE / f"{name}.{'level9_model' if name == 'hiseqx_200' else 'level6_lstm'}.lz").write_bytes(archive)
        # the packed models damaged behind a valid header checksum: an unknown method, a byte of LZMA2 data
        archive = (HERE / "hiseqx_200.level9_model.lz").read_bytes()
        models_at = container._HEAD.size + struct.unpack_from("<I", archive, 8)[0] + 4
        _, _, header_size = container.read_header(io.BytesIO(archive))

        def resealed(head: bytes) -> bytes:
            return head + struct.pack("<I", container._crc(head)) + archive[header_size:]

        head = archive[: header_size - 4]
        write_damaged({"models_unknown_method": resealed(head[:models_at] + b"\x07" + head[models_at + 1 :]),
                       "models_lzma_damaged": resealed(flip(head, models_at + 40, 0x21))})
        return
    if (MAJOR, MINOR) == (3, 4):
        miseq = b"".join(records("miseq_n701", 300))
        (HERE / "miseq_300.fq").write_bytes(miseq)
        archive = compress(miseq, 6)
        header, _, _ = container.read_header(io.BytesIO(archive))
        if header["params"]["qualities"].get("coarse", {}).get("mean_levels", 1) < 2:
            raise SystemExit("level 6 did not mix in the coarse context with its mean level")
        (HERE / "miseq_300.level6.lz").write_bytes(archive)
        return
    if (MAJOR, MINOR) == (3, 3):
        trimmed = b"".join(records("ga2_ecoli", 1500))
        (HERE / "trimmed_key.fq").write_bytes(trimmed)
        archive = compress(trimmed, 9, Learned())
        f = io.BytesIO(archive)
        header, _, header_size = container.read_header(f)
        stored = [streams for _, streams in container.read_blocks(f, header["params"], header_size)]
        if any(streams[1][0] != lengths.FROM_KEY for streams in stored):
            raise SystemExit("the trimmed reads' lengths do not follow from the key ' trim'")
        if header["params"]["bases"]["match"]["min_length"] != match.SHORT_MIN_LENGTH:
            raise SystemExit("level 9 did not choose the match model's short k")
        (HERE / "trimmed_key.level9.lz").write_bytes(archive)
        return
    if (MAJOR, MINOR) == (3, 2):
        nanopore = odd_nanopore(400)
        (HERE / "nanopore_400.fq").write_bytes(nanopore)
        archive = compress(nanopore, 6)
        header, _, _ = container.read_header(io.BytesIO(archive))
        if header["params"]["qualities"].get("base_context") != base_quals.MIXED_CANDIDATE:
            raise SystemExit("level 6 did not choose the base context with the coarse mix")
        (HERE / "nanopore_400.level6.lz").write_bytes(archive)
        return

    hiseqx = b"".join(records("hiseqx_151", 200))
    if MINOR == 0:
        (HERE / "hiseqx_200.fq").write_bytes(hiseqx)
        # level 1 in one block, and several blocks with both learned networks
        (HERE / "hiseqx_200.level1.lz").write_bytes(compress(hiseqx, 1))
        (HERE / "hiseqx_200.level6_lstm.lz").write_bytes(compress(hiseqx, 6, learned, block_bytes=20_000))

    # every odd case: CRLF, lowercase, an empty read, a '+name' line, Phred+64 with dots, no final newline
    cases = records("hiseq_phred64_dots", 20)
    cases[3] = cases[3].replace(b"\n", b"\r\n")
    name, seq, plus, qual, _ = cases[4].split(b"\n")
    cases[4] = b"\n".join([name, seq.lower(), b"+", qual, b""])
    cases[5] = b"@empty read\n\n+\n\n"
    cases[6] = cases[6].replace(b"+\n", b"+" + cases[6].split(b"\n")[0][1:] + b"\n")
    odd_cases = b"".join(cases).rstrip(b"\n")
    (HERE / "odd_cases.fq").write_bytes(odd_cases)
    (HERE / "odd_cases.level6.lz").write_bytes(compress(odd_cases, 6))

    # a paired archive of several blocks: mate 1 ends without a newline, mate 2 with a CRLF record last
    ones = odd(records("ga2_ecoli", 80), 3, 5, 7)
    twos = odd(records("ga2_ecoli_2", 80), 79, 10, 11)
    first, second = b"".join(ones).rstrip(b"\n"), b"".join(twos)
    (HERE / "pair_R1.fq").write_bytes(first)
    (HERE / "pair_R2.fq").write_bytes(second)
    (HERE / "pair.fq").write_bytes(b"".join(part for pair in zip(ones, twos) for part in pair))
    out = io.BytesIO()
    mates = ({"name": "pair_R1.fq", "mtime": MTIME}, {"name": "pair_R2.fq", "mtime": MTIME + 1})
    pairs.compress_pair(io.BytesIO(first), io.BytesIO(second), out, 6, 1, mates, block_bytes=12_000)
    (HERE / "pair.level6.lz").write_bytes(out.getvalue())

    # two members, each with its statistics section: a level-1 archive of several blocks, then a level-6
    # one of odd records without a final newline
    one = b"".join(records("hiseqx_151", 60, skip=200))
    two = b"".join(odd(records("hiseq_phred64_dots", 30), 2, 4, 6)).rstrip(b"\n")
    (HERE / "two_members.fq").write_bytes(one + two)
    first_member = compress(one, 1, block_bytes=9_000)
    members = first_member + compress(two, 6)
    (HERE / "two_members.level1_level6.lz").write_bytes(members)

    # since 3.1: read lengths that follow from the names (' trim=N' on reads cut from 100 bases)
    trimmed = b"".join(records("ga2_ecoli", 1000, skip=100))
    (HERE / "trimmed.fq").write_bytes(trimmed)
    archive = compress(trimmed, 6, block_bytes=120_000)
    f = io.BytesIO(archive)
    header, _, header_size = container.read_header(f)
    stored = [streams for _, streams in container.read_blocks(f, header["params"], header_size)]
    if len(stored) < 2 or any(streams[1][0] != lengths.FROM_NAMES for streams in stored):
        raise SystemExit("the trimmed reads' lengths do not follow from their names")
    (HERE / "trimmed.level6.lz").write_bytes(archive)
    if MINOR == 0:
        earlier_features(learned, hiseqx, members, first_member, mates)


def odd_bases(record: bytes, old: bytes, new: bytes) -> bytes:
    name, seq, plus, qual, end = record.split(b"\n")
    return b"\n".join([name, seq.replace(old, new, 10), plus, qual, end])


def odd_nanopore(count: int) -> bytes:
    """Nanopore reads with N and lowercase among the bases."""
    nanopore = records("ont_seqkit", count)
    nanopore[2] = odd_bases(nanopore[2], b"GT", b"gN")
    return b"".join(nanopore)


def earlier_features(learned: Learned, hiseqx: bytes, members: bytes, first_member: bytes, mates) -> None:
    """The archives of a major version whose models a minor one leaves as they are."""

    # models since 2.0: reads of a sorted export (match model, interleaved rows, both networks) and nanopore
    # reads (their qualities in a context of the bases), with N and lowercase among the bases
    sorted_reads = records("miseq_n701", 300)
    sorted_reads[7] = odd_bases(sorted_reads[7], b"AC", b"aN")
    for name, data, level, models in (("sorted_reads.level6_lstm", b"".join(sorted_reads), 6, learned),
                                      ("nanopore.level1", odd_nanopore(40), 1, None)):
        (HERE / f"{name.split('.')[0]}.fq").write_bytes(data)
        (HERE / f"{name}.lz").write_bytes(compress(data, level, models))

    # a model file, and the join of two archives made with it from two chunks of hiseqx_200.fq
    model = modelfile.make(6, levels.params_for_level(6, 20_000), learned, {"records": 0, "bases": 0})
    (HERE / "hiseqx_200.level6.lzm").write_bytes(model.data)
    blocks = read_blocks(io.BytesIO(hiseqx), model.params["block_records"], model.params["block_bytes"])
    sizes = splitting.chunk_sizes(blocks, None, 2)
    chunks = [hiseqx[: sizes[0]], hiseqx[sizes[0] :]]
    parts = []
    for i, chunk in enumerate(chunks):
        out = io.BytesIO()
        pipeline.compress_stream(io.BytesIO(chunk), out, 6, 1, name=f"chunk{i}.fq", mtime=MTIME, model=model)
        parts.append((f"chunk{i}.lz", io.BytesIO(out.getvalue())))
    joined = io.BytesIO()
    joining.join(parts, joined)
    whole = io.BytesIO()
    pipeline.compress_stream(io.BytesIO(hiseqx), whole, 6, 1, model=model)
    if joined.getvalue() != whole.getvalue() or len(container.read_members(joined)[0].blocks) < 4:
        raise SystemExit("the joined archive is not the archive of the whole")
    (HERE / "hiseqx_200.joined_model.lz").write_bytes(joined.getvalue())

    def rehashed(body: bytes) -> bytes:
        return body + hashlib.sha256(body).digest()

    damaged_models = {
        "bit_flip": flip(model.data, 40, 2),
        "truncated": model.data[:-7],
        "version_3": rehashed(model.data[:4] + b"\x03\x00" + model.data[6:-32]),
        "networks_cut": rehashed(model.data[:-32 - 100]),
    }
    (HERE / "damaged_models").mkdir(exist_ok=True)
    refusals = {}
    for name, data in damaged_models.items():
        (HERE / "damaged_models" / f"{name}.lzm").write_bytes(data)
        try:
            modelfile.parse(data)
            raise SystemExit(f"model {name} was not refused")
        except ModelFileError as error:
            refusals[name] = str(error)
    (HERE / "damaged_models" / "expected.json").write_text(json.dumps(refusals, indent=2) + "\n")

    # damaged copies, each with the message it must be refused with
    good = (HERE / "hiseqx_200.level1.lz").read_bytes()
    _, _, header_size = container.read_header(io.BytesIO(good))
    (single,) = container.read_members(io.BytesIO(good))
    second_start = len(first_member)
    (_, later) = container.read_members(io.BytesIO(members))
    odd_block = io.BytesIO()  # a paired header over a block of one record
    pipeline.compress_blocks(read_blocks(io.BytesIO(records("ga2_ecoli", 1)[0]), 4, 1 << 20), odd_block, 1,
                             levels.params_for_level(1), 1, {"name": None, "mtime": None, "pair": list(mates)})
    at = second_start + container.read_header(io.BytesIO(members[second_start:]))[2] + 200  # in its first block
    stored_json = struct.unpack_from("<I", good, 8)[0]  # the deflated header JSON, damaged, its CRC made valid
    head = flip(good[: header_size - 4], 16 + stored_json // 2, 0x10)
    inflated_wrong = head + struct.pack("<I", container._crc(head)) + good[header_size:]
    damaged = {
        "truncated": good[:-10],
        "header_json_deflate_damaged": inflated_wrong,
        "trailing_bytes": good + b"\n",
        "header_bit_flip": flip(good, 12, 4),
        "block_bit_flip": flip(good, header_size + 300, 1),
        "footer_bit_flip": flip(good, len(good) - 20, 0x80),
        "statistics_bit_flip": flip(good, single.statistics_offset + 7, 2),
        "second_member_truncated": members[:-10],
        "after_the_last_member": members + container.MAGIC,
        "second_member_block_bit_flip": flip(members, at, 8),
        "second_member_statistics_bit_flip": flip(members, later.offset + later.statistics_offset + 9, 1),
        "paired_block_of_one_record": odd_block.getvalue(),
    }
    write_damaged(damaged)


def write_damaged(damaged: dict[str, bytes]) -> None:
    """Damaged archives in HERE/damaged, with the message each is refused with in expected.json."""
    (HERE / "damaged").mkdir(exist_ok=True)
    expected = {}
    for name, data in damaged.items():
        (HERE / "damaged" / f"{name}.lz").write_bytes(data)
        try:
            pipeline.decompress_stream(io.BytesIO(data), io.BytesIO(), 1)
            raise SystemExit(f"{name} was not refused")
        except Exception as error:
            expected[name] = str(error)
    (HERE / "damaged" / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")


if __name__ == "__main__":
    main()
