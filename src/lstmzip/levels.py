"""Compression levels: named presets of the model parameters. The chosen parameters are stored in the
archive header, so decompress needs no options and a later change of presets never breaks old archives."""

from __future__ import annotations

from .errors import CorruptArchiveError

# params["row_order"]: how rows.make_rows orders rows of one length (here, not in rows.py, so that the command
# line, which reads the levels, starts without numpy)
IN_FILE_ORDER, INTERLEAVED = 0, 1

DEFAULT_LEVEL = 6
TRIAL_LEVEL = 7  # from this level on, compress also tries parameters on the first block (match.py)
MiB = 1 << 20
MAX_BASE_TABLE = 1 << 28  # counters of all base models together (4 bytes each)
MAX_MATCH_TABLE_BITS = 24  # the match model's table: 8 bytes an entry, 128 MiB at most
# The largest blocks any level writes. A header may not claim more: the block sizes it allows bound
# what a decoder allocates.
MAX_BLOCK_RECORDS = 1 << 22
MAX_BLOCK_BYTES = 256 * MiB


def _bases(orders, bits, limits, reverse, match_bits):
    return {"orders": orders, "table_bits": bits, "count_limits": limits, "positional": [0] * len(orders),
            "reverse_complement": reverse, "learning_rate": 4,
            "match": {"min_length": 12, "table_bits": match_bits, "count_limit": 255}}


MIN_BLOCK_BYTES = 1 << 10
# The coarse quality context mixed into the fine one (quals.py, format 3.1): the previous quality and,
# since 3.4, a level of the mean quality so far (8 levels code miseq_n701's qualities 1.5 % smaller than
# none, 12 no better)
COARSE_QUALITIES = {"q2_levels": 1, "mixer_rate": 4, "mean_levels": 8}
MAX_MEAN_LEVELS = 16


def params_for_level(level: int, block_bytes: int | None = None) -> dict:
    """block_bytes: the input bytes at which a block is cut, instead of the level's."""
    if not 1 <= level <= 9:
        raise ValueError("level must be 1..9")
    if block_bytes is not None and not MIN_BLOCK_BYTES <= block_bytes <= MAX_BLOCK_BYTES:
        raise ValueError(f"block size must be {MIN_BLOCK_BYTES} .. {MAX_BLOCK_BYTES} bytes")
    if level <= 3:
        bases = _bases([2, 11, 16], [4, 22, 22], [30, 255, 255], [0, 1, 1], 22)
        qualities = {"q2_levels": 8, "q3_levels": 4, "increment": 16, "total_limit": 65000, "mixer_rate": 32}
    elif level <= 6:
        # the match model finds what the order-18 and -22 context models did, and more
        bases = _bases([3, 7, 11, 14], [6, 14, 22, 22], [30, 60, 255, 255], [0, 0, 1, 1], 22)
        # counts halved from a total of 8,000 (a context's last ~500 qualities) rather than 65,000 follow
        # a run's drift: qualities of miseq_n701 -1.0 %, hiseqx_151 -0.9 %, nextseq_dropseq (beside its
        # network) -0.2 %, ga2_ecoli +0.2 % (4,000: miseq_n701 -0.8 %; 16,000: -0.9 %, hiseqx_151 -0.7 %).
        # The base context keeps 65,000 (base_quals.TOTAL_LIMIT).
        qualities = {"q2_levels": 16, "q3_levels": 16, "increment": 16, "total_limit": 8000, "mixer_rate": 32}
    else:
        bases = _bases([2, 6, 11, 14, 18], [4, 12, 22, 24, 24], [30, 60, 255, 255, 255], [0, 0, 1, 1, 1], 24)
        qualities = {"q2_levels": 16, "q3_levels": 16, "increment": 16, "total_limit": 65000, "mixer_rate": 32}
    return {
        "block_records": MAX_BLOCK_RECORDS,
        "block_bytes": block_bytes or (32 * MiB if level <= 6 else MAX_BLOCK_BYTES),
        "row_width": 1024,
        "row_order": INTERLEAVED,
        "bases": bases,
        "qualities": qualities,
        "training": _training(level),
    }


def _training(level: int) -> dict | None:
    """How the LSTMs are trained at compression (not needed to decode; stored for the record). Training
    runs a fixed number of epochs, never "until time is up", so the archive does not depend on the
    machine's load. More epochs beat a bigger network (design notes), so levels mainly buy epochs.

    -2, -3: small networks, trained briefly, from 500 k bases. -4 .. -6 (the default): the quality
    network only, and only on a first block of at least 4 M bases (an input of about 10 MB): below that,
    importing TensorFlow and training take longer than coding the file, for 3-6 % of it; the base
    network saves about 0.6 % of the bases stream for a tenth of the decoding time. -7 .. -9: both,
    trained long, from 100 k bases, the quality network smaller on smaller inputs (sized_for), whose
    weights then cost little enough to pay on a file of 0.3 MB; -9 trains the quality network 90 epochs
    instead of 60 (its training loss still falls at 60: miseq_n701's qualities code 0.7 % smaller, its
    archive 1,500,785 -> 1,495,316 B, for half as much training time again)."""
    if level == 1:
        return None
    fast, default = level <= 3, level <= 6
    return {
        "seed": 0,
        "min_symbols": 500_000 if fast else 4_000_000 if default else 100_000,
        "train_reads": 3000 if fast else 6000 if default else 12000,
        "check_reads": 2000,
        "max_steps": 200,
        "bases": {"hidden": 16, "epochs": 2} if fast else None if default else {"hidden": 16, "epochs": 12},
        "qualities": {"hidden": 16 if fast else 32,
                      "epochs": 8 if fast else 16 if default else 60 if level < 9 else 90},
    }


# -7 .. -9: the quality network's hidden size by the qualities of the first block. Its weights (about 0.8
# bytes each: 4.5 kB at 32, 0.6 kB at 8) pay for themselves only over enough symbols. At -9, the quality
# network alone: ga2_ecoli (0.2 M qualities) 80,815 B at 32, 77,331 at 16, 76,341 at 8; hiseqx_151 (1.8 M)
# 276,612 at 32, 273,597 at 16, 274,166 at 8; but miseq_n701 (2.8 M) 1,518,028 at 32, 1,544,374 at 16, and
# ont_seqkit (1.8 M, whole -9 archives) 1,276,319 at 32, 1,280,169 at 16: no size between is kept.
SMALL_BLOCK_QUALITIES, SMALL_QUALITY_HIDDEN = 1_000_000, 8


def sized_for(params: dict, level: int, qualities: int) -> dict:
    """params whose training suits a first block of this many qualities (at -7 .. -9, the small quality
    network below SMALL_BLOCK_QUALITIES; the other levels as they are). Stored in the header, like the rest
    of the training settings."""
    training = params["training"]
    if level < 7 or training is None or training["qualities"] is None or qualities >= SMALL_BLOCK_QUALITIES:
        return params
    small = dict(training["qualities"], hidden=SMALL_QUALITY_HIDDEN)
    return dict(params, training=dict(training, qualities=small))


def _int(value, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise CorruptArchiveError("archive header has invalid model parameters")
    return value


def check_params(params) -> dict:
    """Validate parameters read from an archive: a crafted header must not make the decoder allocate
    huge tables or loop forever."""
    try:
        _int(params["block_records"], 1, MAX_BLOCK_RECORDS)
        _int(params["block_bytes"], 1, MAX_BLOCK_BYTES)
        _int(params["row_width"], 1, 1 << 16)
        _int(params.get("row_order", IN_FILE_ORDER), IN_FILE_ORDER, INTERLEAVED)  # absent in 1.0
        if type(params.get("lengths_from_names", False)) is not bool:  # absent before 3.1: plain lengths
            raise CorruptArchiveError("archive header has invalid model parameters")
        bases = params["bases"]
        n = len(bases["orders"])
        _int(n, 1, 16)
        for key in ("orders", "table_bits", "count_limits", "positional", "reverse_complement"):
            if not isinstance(bases[key], list) or len(bases[key]) != n:
                raise CorruptArchiveError("archive header has invalid model parameters")
        for order, bits, limit, positional, reverse in zip(
                bases["orders"], bases["table_bits"], bases["count_limits"], bases["positional"],
                bases["reverse_complement"]):
            _int(order, 1, 31), _int(bits, 1, 26), _int(limit, 1, 255), _int(positional, 0, 0), _int(reverse, 0, 1)
        if sum(4 << bits for bits in bases["table_bits"]) > MAX_BASE_TABLE:
            raise CorruptArchiveError("archive header has invalid model parameters")
        _int(bases["learning_rate"], 0, 1 << 16)
        match = bases.get("match")  # absent in 1.0 and early 2.0 archives: no match model
        if match is not None:
            if not isinstance(match, dict) or set(match) != {"min_length", "table_bits", "count_limit"}:
                raise CorruptArchiveError("archive header has invalid model parameters")
            # a k-mer and its reverse complement are 2k bits of a 64-bit word
            _int(match["min_length"], 4, 31), _int(match["table_bits"], 12, MAX_MATCH_TABLE_BITS)
            _int(match["count_limit"], 1, 255)
        qualities = params["qualities"]
        _int(qualities["q2_levels"], 1, 128)
        _int(qualities["q3_levels"], 1, 128)
        # counts are uint16: a total at the limit plus one increment must still fit
        _int(qualities["total_limit"], 2, 65535 - _int(qualities["increment"], 1, 1 << 12))
        _int(qualities["mixer_rate"], 0, 1 << 12)
        context = qualities.get("base_context")  # absent: the fqzcomp-like context (quals.py)
        coarse = qualities.get("coarse")  # absent before 3.1: no coarse context; the base context has none
        if coarse is not None:
            required = {"q2_levels", "mixer_rate"}  # 3.1; 3.4 adds mean_levels
            if not isinstance(coarse, dict) or not required <= set(coarse) <= required | {"mean_levels"} \
                    or context is not None:
                raise CorruptArchiveError("archive header has invalid model parameters")
            _int(coarse["q2_levels"], 1, 128), _int(coarse["mixer_rate"], 0, 1 << 12)
            _int(coarse.get("mean_levels", 1), 1, MAX_MEAN_LEVELS)
        if context is not None:
            required = {"bases", "run_levels", "q2_levels"}  # 3.0; 3.2 adds ahead and coarse
            if not isinstance(context, dict) or not required <= set(context) <= required | {"ahead", "coarse"}:
                raise CorruptArchiveError("archive header has invalid model parameters")
            _int(context["bases"], 0, 3), _int(context["run_levels"], 1, 8), _int(context["q2_levels"], 1, 16)
            _int(context.get("ahead", 0), 0, 1)
            mix = context.get("coarse")
            if mix is not None:
                if not isinstance(mix, dict) or set(mix) != {"bases", "mixer_rate"}:
                    raise CorruptArchiveError("archive header has invalid model parameters")
                _int(mix["bases"], 0, 1), _int(mix["mixer_rate"], 0, 1 << 12)
    except (KeyError, TypeError):
        raise CorruptArchiveError("archive header has invalid model parameters") from None
    return params
