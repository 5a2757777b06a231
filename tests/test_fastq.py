"""The byte-exact FASTQ reader: every odd but valid form round-trips, every invalid one is refused with
its line number."""

import io

import pytest
from Bio.SeqIO.QualityIO import FastqGeneralIterator

from lstmzip import fastq
from lstmzip.errors import FastqError
from lstmzip.fastq import format_block, read_blocks

from conftest import corpus_records


def parse_and_format(data: bytes, max_records=1 << 20, max_bytes=1 << 30) -> bytes:
    return b"".join(format_block(b) for b in read_blocks(io.BytesIO(data), max_records, max_bytes))


def error_of(data: bytes) -> str:
    with pytest.raises(FastqError) as caught:
        parse_and_format(data)
    return str(caught.value)


VALID = {
    "empty file": b"",
    "one record": b"@r\nACGT\n+\nIIII\n",
    "no final newline": b"@r\nACGT\n+\nIIII",
    "CRLF": b"@r\r\nACGT\r\n+\r\nIIII\r\n@s\r\nA\r\n+\r\nI\r\n",
    "CRLF without final newline": b"@r\r\nACGT\r\n+\r\nIIII\r",
    "mixed line endings": b"@r\r\nACGT\n+\r\nIIII\n",
    "plus repeats name": b"@r 1\nACGT\n+r 1\nIIII\n@s\nAC\n+\nII\n",
    "plus with other text": b"@r\nACGT\n+something else\nIIII\n",
    "empty read": b"@r\n\n+\n\n@s\nA\n+\nI\n",
    "only empty reads": b"@\n\n+\n\n",
    "name with tab, UTF-8 and control bytes": "@r\tü 名\x01\nAC\n+\nII\n".encode(),
    "name with CR inside": b"@r\rx\nAC\n+\nII\n",
    "IUPAC, dots and lowercase": b"@r\nACGTNRYKMSWBDHV.acgtnrykm-*\n+\n" + b"I" * 27 + b"\n",
    "every quality character": b"@r\n" + b"A" * 94 + b"\n+\n" + bytes(range(33, 127)) + b"\n",
}


@pytest.mark.parametrize("name", VALID)
@pytest.mark.parametrize("max_records,max_bytes", [(1, 1 << 30), (1 << 20, 1), (2, 20), (1 << 20, 1 << 30)])
def test_valid_inputs_format_back_exactly(name, max_records, max_bytes):
    assert parse_and_format(VALID[name], max_records, max_bytes) == VALID[name]


def test_block_cuts_do_not_depend_on_read_size(monkeypatch):
    records = corpus_records("hiseqx_151", 300)
    data = b"\n".join(records) + b"\n"
    reference = [b.records for b in read_blocks(io.BytesIO(data), 70, 20_000)]
    for chunk in (1, 7, 333, 4096):
        monkeypatch.setattr(fastq, "READ_CHUNK", chunk)
        blocks = list(read_blocks(io.BytesIO(data), 70, 20_000))
        assert [b.records for b in blocks] == reference
        assert b"".join(format_block(b) for b in blocks) == data


def test_columns_agree_with_biopython():
    records = corpus_records("ga2_ecoli", 500)
    data = b"\n".join(records) + b"\n"
    (block,) = read_blocks(io.BytesIO(data), 1 << 20, 1 << 30)
    expected = list(FastqGeneralIterator(io.StringIO(data.decode())))
    assert [n.decode() for n in block.names] == [title for title, _, _ in expected]
    assert block.seq.tobytes().decode() == "".join(seq for _, seq, _ in expected)
    assert block.qual.tobytes().decode() == "".join(qual for _, _, qual in expected)
    assert block.lengths.tolist() == [len(seq) for _, seq, _ in expected]


INVALID = [
    (b"@r\nACGT\n+\nIII\n", "line 4: quality line has 3 characters, sequence has 4"),
    (b"@r\nACGT\n+\nIIIII\n", "line 4: quality line has 5 characters, sequence has 4"),
    (b"@r\nACGT\n+\nIIII\nr2\nAC\n+\nII\n", "line 5: expected a name line starting with '@', found 'r2'"),
    (b">r\nACGT\n", "line 1: expected a name line starting with '@', found a FASTA header"),
    (b"@r\nACGT\nACGT\n+\nIIIIIIII\n", "line 3: expected a '+' line (wrapped multi-line FASTQ is not supported)"),
    (b"@r\nACGT\n+\nII\x07I\n", "line 4: quality line contains byte 0x07"),
    (b"@r\nAC GT\n+\nIIIII\n", "line 2: sequence line contains byte 0x20"),
    (b"@r\nACGT\n+\nIIII\n\n", "line 5: expected a name line starting with '@', found an empty line"),
    (b"@r\nACGT\n+\nIIII\n@s\n", "line 6: unexpected end of file: the record has no sequence line"),
    (b"\x00\x01\x02binary", "line 1: expected a name line starting with '@', found '\\x00\\x01\\x02binary'"),
]


@pytest.mark.parametrize("data,message", INVALID)
def test_invalid_inputs_name_the_line(data, message):
    assert error_of(data) == message


def test_every_truncation_of_a_record_is_refused_or_valid():
    data = b"@r1\nACGT\n+\nIIII\n@r2\nGG\n+r2\nII\n"
    for end in range(len(data) + 1):
        prefix = data[:end]
        try:
            assert parse_and_format(prefix) == prefix
        except FastqError as error:
            assert error.line >= 1 and "line" in str(error)
    assert error_of(data[:-4]) == "line 8: unexpected end of file: the record has no quality line"
    assert error_of(data[:-7]) == "line 7: unexpected end of file: the record has no '+' line"


def test_gzip_input_is_detected():
    import gzip

    data = VALID["CRLF"]
    stream = fastq.open_input(io.BytesIO(gzip.compress(data)))
    assert b"".join(format_block(b) for b in read_blocks(stream, 10, 1 << 20)) == data


class Endless(io.RawIOBase):
    """A valid record, then one line that never ends: the reader must give up at the record limit."""

    def __init__(self, start: bytes):
        self.data = start
        self.served = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        part = self.data[: len(buffer)] + b"A" * max(0, len(buffer) - len(self.data))
        self.data = self.data[len(part) :]
        buffer[: len(part)] = part
        self.served += len(part)
        return len(part)


@pytest.mark.parametrize("chunk", [10, 4096])
def test_records_longer_than_the_limit_are_refused(monkeypatch, chunk):
    monkeypatch.setattr(fastq, "MAX_RECORD_BYTES", 60)
    monkeypatch.setattr(fastq, "READ_CHUNK", chunk)
    fits = b"@r1\n" + b"A" * 26 + b"\n+\n" + b"I" * 26 + b"\n"  # 60 bytes
    assert parse_and_format(fits * 3) == fits * 3
    message = "record is longer than 60 bytes, the most lstmzip can store"
    assert error_of(fits + fits.replace(b"@r1", b"@r12") + fits) == f"line 5: {message}"
    assert error_of(fits + b"@" + b"x" * 100) == f"line 5: {message}"  # within one line
    endless = Endless(fits + b"@r2\n")
    with pytest.raises(FastqError) as caught:
        list(read_blocks(endless, 10, 1 << 20))
    assert str(caught.value) == f"line 5: {message}"
    assert endless.served <= 2 * 60 + 2 * chunk  # stopped within the record, not at the end of input
