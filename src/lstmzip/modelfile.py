"""Model files (`lstmzip train`, `compress --model`): networks trained once on a sample of some inputs,
with the level's parameters, so that the many files of one run are compressed without training each.

The archives made with a model stay self-contained: they carry its parameters and networks in their
header as any archive does (a few kB), and name the model by its SHA-256 (header key `model`), so
archives made with one model and cut at block boundaries can be joined into one (joining.py).

Layout (docs/FORMAT.md, "Model files"): magic `89 4C 5A 4D` (`\\x89LZM`), the model file format version
(major, minor: 2, 0), two zero flag bytes, a uint32 length and the JSON (creator, level, params,
learning: the training report, sample: records and bases trained on), a uint32 length and the networks
(as an archive's header holds them), then the SHA-256 of all the bytes before it, which names the model
(and is its checksum). Nothing in it depends on the machine or the time: the same inputs and level give
the same file.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from . import __version__, container, levels
from .errors import CorruptArchiveError, LstmzipError, ModelFileError
from .fastq import Block, open_input, read_blocks
from .networks import Learned

MAGIC = b"\x89LZM"
VERSION = (2, 0)  # the model file format's: its parameters and networks fill headers of archive formats 2.0 and 3.0
SUFFIX = ".lzm"
_HEAD = struct.Struct("<4sBBHI")  # magic, major, minor, flags, JSON length
_DIGEST = 32
MAX_JSON = container.MAX_HEADER_JSON
MAX_NETWORKS = container.MAX_MODELS


@dataclass
class Model:
    """A model file's content: what `compress --model` puts in each archive's header."""

    level: int
    params: dict
    learned: Learned  # its report is the stored training report
    sample: dict  # records and bases trained on
    creator: str
    data: bytes  # the file's bytes

    @property
    def sha256(self) -> str:
        return self.data[-_DIGEST:].hex()

    def params_for(self, block_bytes: int | None) -> dict:
        """The model's parameters, with another block size if one is given."""
        if block_bytes is None:
            return self.params
        if not levels.MIN_BLOCK_BYTES <= block_bytes <= levels.MAX_BLOCK_BYTES:
            raise ValueError(f"block size must be {levels.MIN_BLOCK_BYTES} .. {levels.MAX_BLOCK_BYTES} bytes")
        return {**self.params, "block_bytes": block_bytes}

    def describe(self) -> dict:
        """What `lstmzip list` shows of a model file."""
        return {"kind": "model", "format": f"{VERSION[0]}.{VERSION[1]}", "sha256": self.sha256,
                "creator": self.creator, "level": self.level, "block_bytes": self.params["block_bytes"],
                "bytes": len(self.data), "network_bytes": len(self.learned.to_bytes()), "sample": self.sample,
                "learning": self.learned.report}


def make(level: int, params: dict, learned: Learned, sample: dict) -> Model:
    """A model of these parameters and networks (learned.report: the training report to store)."""
    about = {"creator": f"lstmzip {__version__}", "level": level, "params": params, "learning": learned.report,
             "sample": sample}
    payload = json.dumps(about, sort_keys=True, separators=(",", ":")).encode()
    networks = learned.to_bytes()
    body = _HEAD.pack(MAGIC, *VERSION, 0, len(payload)) + payload + struct.pack("<I", len(networks)) + networks
    return parse(body + hashlib.sha256(body).digest())


def parse(data: bytes) -> Model:
    """A model file's bytes, checked: a damaged, truncated, foreign or crafted one raises ModelFileError."""
    if data[:4] != MAGIC:
        if data[:4] == container.MAGIC:
            raise ModelFileError("this is an lstmzip archive, not a model file (lstmzip train makes one)")
        raise ModelFileError("not an lstmzip model file")
    if len(data) < _HEAD.size + 4 + _DIGEST:
        raise ModelFileError("model file is truncated")
    _, major, minor, flags, length = _HEAD.unpack_from(data)
    if major != VERSION[0]:
        raise ModelFileError(f"model file is for archive format {major}.{minor}; this lstmzip writes "
                             f"{VERSION[0]}.{VERSION[1]} (train the model again with it)")
    if hashlib.sha256(data[:-_DIGEST]).digest() != data[-_DIGEST:]:
        raise ModelFileError("model file is damaged or truncated (SHA-256 mismatch)")
    if flags or length > MAX_JSON or _HEAD.size + length + 4 + _DIGEST > len(data):
        raise ModelFileError("model file is corrupt (impossible sizes)")
    end = _HEAD.size + length
    (size,) = struct.unpack_from("<I", data, end)
    if size > MAX_NETWORKS or end + 4 + size + _DIGEST != len(data):
        raise ModelFileError("model file is corrupt (impossible sizes)")
    try:
        about = json.loads(data[_HEAD.size : end])
        if not isinstance(about, dict):
            raise ValueError
        from .report import facts  # the training report's checks, shared with list and report

        level, creator, sample = about.get("level"), about.get("creator"), about.get("sample")
        if type(level) is not int or not 1 <= level <= 9 or not isinstance(creator, str) or not (
                isinstance(sample, dict) and all(type(sample.get(k)) is int and sample[k] >= 0
                                                 for k in ("records", "bases"))):
            raise ValueError
        params = levels.check_params(about.get("params"))
        report = facts.check_learning(about.get("learning"))
        learned = Learned.from_bytes(data[end + 4 : end + 4 + size])
    except (ValueError, CorruptArchiveError) as error:
        detail = f" ({error})" if isinstance(error, CorruptArchiveError) else ""
        raise ModelFileError(f"model file is corrupt{detail}") from None
    learned.report = report
    return Model(level, params, learned, sample, creator, bytes(data))


def read(path: str | Path) -> Model:
    with open(path, "rb") as f:
        return parse(f.read(container.MAX_HEADER_JSON + container.MAX_MODELS + 1024))


def is_model_file(path: str | Path) -> bool:
    """Whether a file starts with a model file's magic (for `lstmzip list`)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == MAGIC
    except OSError:
        return False


def _joined(blocks: list[Block]) -> Block:
    """The records of several blocks as one (the training sample of several inputs)."""
    return Block([name for b in blocks for name in b.names], np.concatenate([b.seq for b in blocks]),
                 np.concatenate([b.qual for b in blocks]), np.concatenate([b.lengths for b in blocks]),
                 np.concatenate([b.layout for b in blocks]), [t for b in blocks for t in b.plus_texts])


def train(sources: list[BinaryIO], level: int, block_bytes: int | None = None,
          names: list[str] | None = None) -> tuple[Model, dict, str | None]:
    """Train the networks as compress would, on the first block of the input (cut as compress cuts it),
    or of several inputs on a sample of the same size: the first block_bytes / k bytes of each of k.
    Unlike compress, train does so however small the sample is (a shared model pays for its training
    once). Returns the model, the training report with each network's training time (which the file
    does not store: it would depend on the machine's load), and, if no network was trained, why not.
    names: the inputs' names, for errors (input that is not FASTQ) when there are several."""
    from . import base_quals, match, pipeline  # numba and the coders: only to train, not to read a model file

    params = levels.params_for_level(level, block_bytes)
    share = max(levels.MIN_BLOCK_BYTES, params["block_bytes"] // max(1, len(sources)))
    firsts = []
    for i, source in enumerate(sources):
        try:
            first = next(read_blocks(open_input(source), params["block_records"], share), None)
        except LstmzipError as error:
            if names and len(names) > 1:
                error.file = names[i]
            raise
        if first is not None:
            firsts.append(first)
    sample = _joined(firsts) if firsts else None
    if sample is not None:  # the quality model, chosen as compress chooses it on its first reads; without
        # the coarse mixes of format 3.1 and 3.2, which model files (format 2.0) do not hold
        params = base_quals.choose(params, sample.seq, sample.qual, sample.lengths, mixed=False)
        if level >= levels.TRIAL_LEVEL:
            params = match.choose_min_length(params, sample.seq, sample.lengths)
        params = levels.sized_for(params, level, len(sample.qual))
    learned, why = pipeline.learn(sample, params, always=True)
    report, learned.report = learned.report, pipeline.stored_report(learned.report)
    model = make(level, params, learned, {"records": sample.records if sample else 0,
                                          "bases": len(sample.seq) if sample else 0})
    return model, report, why
