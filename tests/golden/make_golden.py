"""Makes the golden archives of the format version this lstmzip writes (tests/golden/v1 was made by it for
1.0, v2 for 2.0). Run once, by hand, when a format version is introduced: the files it wrote are
committed and must decode exactly in every later version (test_golden.py). Never re-run it for a
released version. Usage: python tests/golden/make_golden.py MODELS_ARCHIVE [CASE...] where MODELS_ARCHIVE is an
archive whose learned models (trained on a whole corpus file) are reused, e.g.
tests/golden/v1/hiseqx_200.level6_lstm.lz; with CASEs (e.g. sorted_reads.level6_lstm) only those archives
are written, for a model feature added to an unreleased version, and the others are left as they are."""

import gzip
import io
import json
import sys
from pathlib import Path

from lstmzip import container, pipeline
from lstmzip.learning import Learned

HERE = Path(__file__).parent / f"v{container.VERSION[0]}"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def records(name: str, count: int) -> list[bytes]:
    with gzip.open(CORPUS / f"{name}.fq.gz", "rb") as f:
        lines = [f.readline() for _ in range(4 * count)]
    return [b"".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]


def compress(data: bytes, level: int, learned: Learned | None = None) -> bytes:
    out = io.BytesIO()
    pipeline.compress_stream(io.BytesIO(data), out, level, 1, name="golden.fq", mtime=1_700_000_000,
                             learned=learned)
    return out.getvalue()


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        _, models, _ = container.read_header(f)
    learned = Learned.from_bytes(models)
    HERE.mkdir(exist_ok=True)
    hiseqx = b"".join(records("hiseqx_151", 200))
    odd = records("hiseq_phred64_dots", 20)
    odd[3] = odd[3].replace(b"\n", b"\r\n")
    odd[4] = odd[4].split(b"\n")[0] + b"\n" + odd[4].split(b"\n")[1].lower() + b"\n+\n" + odd[4].split(b"\n")[3] + b"\n"
    odd[5] = b"@empty read\n\n+\n\n"
    odd[6] = odd[6].replace(b"+\n", b"+" + odd[6].split(b"\n")[0][1:] + b"\n")
    odd_bytes = b"".join(odd).rstrip(b"\n")  # and no final newline
    # 2.0 models: reads of a sorted export (match model, interleaved rows, with both networks) and nanopore
    # reads (their qualities in a context of the bases), with N and lowercase among the bases
    def odd_bases(record: bytes, old: bytes, new: bytes) -> bytes:
        name, seq, plus, qual, end = record.split(b"\n")
        return b"\n".join([name, seq.replace(old, new, 10), plus, qual, end])

    sorted_reads = records("miseq_n701", 300)
    sorted_reads[7] = odd_bases(sorted_reads[7], b"AC", b"aN")
    nanopore = records("ont_seqkit", 40)
    nanopore[2] = odd_bases(nanopore[2], b"GT", b"gN")
    cases = {
        "hiseqx_200.level1": (hiseqx, 1, None),
        "hiseqx_200.level6_lstm": (hiseqx, 6, learned),
        "odd_cases.level6": (odd_bytes, 6, None),
        "sorted_reads.level6_lstm": (b"".join(sorted_reads), 6, learned),
        "nanopore.level1": (b"".join(nanopore), 1, None),
    }
    only = sys.argv[2:]
    if any(name not in cases for name in only):
        raise SystemExit(f"cases are {', '.join(cases)}")
    for name, (data, level, models) in cases.items():
        if only and name not in only:
            continue
        (HERE / f"{name.split('.')[0]}.fq").write_bytes(data)  # the archive a.b.lz decodes to a.fq
        (HERE / f"{name}.lz").write_bytes(compress(data, level, models))

    if only:
        return
    # damaged copies, each with the message it must be refused with
    good = (HERE / "hiseqx_200.level1.lz").read_bytes()
    _, _, header_size = container.read_header(io.BytesIO(good))
    _, blocks, _ = container.read_index(io.BytesIO(good))
    statistics = blocks[-1].offset + blocks[-1].stored  # where the statistics section starts
    damaged = {
        "truncated": good[:-10],
        "trailing_bytes": good + b"\n",
        "header_bit_flip": good[:12] + bytes([good[12] ^ 4]) + good[13:],
        "block_bit_flip": good[: header_size + 300] + bytes([good[header_size + 300] ^ 1]) + good[header_size + 301 :],
        "footer_bit_flip": good[:-20] + bytes([good[-20] ^ 0x80]) + good[-19:],
        "statistics_bit_flip": good[: statistics + 7] + bytes([good[statistics + 7] ^ 2]) + good[statistics + 8 :],
    }
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
