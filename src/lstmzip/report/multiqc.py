"""MultiQC custom-content files (https://docs.seqera.io/multiqc/custom_content), so a MultiQC run over a
project directory shows an lstmzip section.

MultiQC reads one section from each `*_mqc.json` file, so a sample gets two: `<sample>.lstmzip_mqc.json`,
the bar graph of bytes per stream (the lstmzip section), and `<sample>.lstmzip_general_stats_mqc.json`,
its columns of the general-statistics table. Files of several samples with the same id are merged.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports this module before any numpy-based one
    from .facts import FileFacts

SECTION = {
    "id": "lstmzip",
    "section_name": "lstmzip",
    "description": "Bytes per stream of each lstmzip archive (names, bases, qualities, and the rest: line "
                   "layout, read lengths, header, learned weights, statistics, index).",
    "plot_type": "bargraph",
    "pconfig": {"id": "lstmzip_streams", "title": "lstmzip: bytes per stream", "ylab": "bytes"},
}
GENERAL_STATS = {
    "id": "lstmzip_general_stats",
    "plot_type": "generalstats",
    "namespace": "lstmzip",
    "headers": {
        "ratio": {"title": "Ratio", "description": "plain FASTQ bytes / archive bytes", "format": "{:,.2f}"},
        "bits_per_base": {"title": "Bits/base", "description": "bits per base in the archive", "format": "{:,.3f}"},
        "bits_per_quality": {"title": "Bits/qual", "description": "bits per quality value in the archive",
                             "format": "{:,.3f}"},
    },
}


def sample_name(path: str) -> str:
    """The archive's file name without its directory and .lz."""
    name = os.path.basename(path)
    return name[:-3] if name.endswith(".lz") and len(name) > 3 else name


def files(facts: FileFacts) -> dict[str, dict]:
    """File name -> JSON object, for one archive file (a sample; a file of several members gets their
    totals)."""
    sample = sample_name(facts.path)
    summary = facts.summary()
    stats = {key: summary[key] for key in ("ratio", "bits_per_base", "bits_per_quality") if summary[key] is not None}
    return {
        f"{sample}.lstmzip_mqc.json": SECTION | {"data": {sample: facts.stream_bytes()}},
        f"{sample}.lstmzip_general_stats_mqc.json": GENERAL_STATS | {"data": {sample: stats}},
    }
