"""Exact round trips through the whole compressor, for every odd form of FASTQ, at several levels."""

import io

import numpy as np
import pytest

from lstmzip import container

from conftest import compress_bytes, corpus_records, decompress_bytes, fastq, roundtrip


def odd_cases() -> dict[str, bytes]:
    hiseqx = corpus_records("hiseqx_151", 200)
    phred64 = corpus_records("hiseq_phred64_dots", 200)
    ont = corpus_records("ont_seqkit", 30)
    rng = np.random.default_rng(7)

    def lower(record: bytes) -> bytes:
        name, seq, plus, qual = record.split(b"\n")
        return b"\n".join([name, seq[:40].lower() + seq[40:80] + seq[80:].lower(), plus, qual])

    def iupac(record: bytes) -> bytes:
        name, seq, plus, qual = record.split(b"\n")
        seq = bytearray(seq)
        for i in rng.choice(len(seq), 10, replace=False):
            seq[i] = b"RYKMSWBDHVN."[rng.integers(12)]
        return b"\n".join([name, bytes(seq), plus, qual])

    def plus_name(record: bytes) -> bytes:
        name, seq, _, qual = record.split(b"\n")
        return b"\n".join([name, seq, b"+" + name[1:], qual])

    long_seq = rng.choice(np.frombuffer(b"ACGT", np.uint8), 400_000).tobytes()
    long_qual = bytes(rng.integers(35, 75, 400_000, dtype=np.uint8))
    return {
        "hiseqx slice": fastq(hiseqx),
        "CRLF": fastq(hiseqx[:50], b"\r\n"),
        "no final newline": fastq(hiseqx[:50], final=False),
        "CRLF, no final newline": fastq(hiseqx[:50], b"\r\n", final=False),
        "plus repeats the name, mixed": fastq([plus_name(r) if i % 3 else r for i, r in enumerate(hiseqx[:60])]),
        "lowercase runs": fastq([lower(r) if i % 2 else r for i, r in enumerate(hiseqx[:60])]),
        "IUPAC and dots": fastq([iupac(r) for r in hiseqx[:60]]),
        "Phred+64 with dots": fastq(phred64),
        "nanopore": fastq(ont),
        "empty reads": fastq([b"@e1\n\n+\n", *hiseqx[:5], b"@e2\n\n+\n"]),
        "1 bp reads": fastq([b"@a\nA\n+\n#", b"@b\nN\n+\n!", b"@c\nT\n+\n~"]),
        "a 400 kbp read among short ones": fastq([hiseqx[0], b"@long\n" + long_seq + b"\n+\n" + long_qual, hiseqx[1]]),
        "UTF-8, tabs and control bytes in names": fastq([
            "@läuft\tXC:Z:ACGT 名前\nACGT\n+\nIIII".encode(), b"@\x01\x02 x\nAC\n+\nII", b"@\nA\n+\nI"]),
        "one quality value only": b"@a\nACGT\n+\nIIII\n@b\nAC\n+\nII\n",
        # all 94 quality characters: the widest alphabet (the fuzzer found a hang here once)
        "every quality character": fastq([b"@q\n" + b"ACGT" * 47 + b"\n+\n" + bytes(range(33, 127)) * 2]),
        "empty file": b"",
    }


CASES = odd_cases()


@pytest.mark.parametrize("name", CASES)
def test_roundtrip_is_exact(name):
    assert roundtrip(CASES[name]) == CASES[name]


@pytest.mark.parametrize("level", [1, 9])
def test_roundtrip_other_levels(level):
    for name in ("hiseqx slice", "IUPAC and dots", "nanopore", "empty reads"):
        assert roundtrip(CASES[name], level) == CASES[name], name


def test_whole_corpus_file_roundtrips():
    data = fastq(corpus_records("ga2_ecoli", 10_000))
    archive = compress_bytes(data)
    assert decompress_bytes(archive) == data
    assert len(archive) < 86_000  # fqzcomp5 -9 makes 84,586 bytes of this file


def test_archive_does_not_depend_on_thread_count():
    data = CASES["hiseqx slice"] + CASES["nanopore"]
    one = compress_bytes(data, threads=1, block_bytes=20_000)  # several blocks: workers run side by side
    assert len(container.read_members(io.BytesIO(one))[0].blocks) > 2
    assert compress_bytes(data, threads=2, block_bytes=20_000) == one
    assert decompress_bytes(one, threads=2) == data
