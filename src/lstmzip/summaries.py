"""The text the command line prints about an archive or a model file: compress -v's summary, train -v's,
and list's table. Lines only; cli.py decides where they go."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pipeline import Stats


def compress_lines(stats: Stats, paired: bool) -> list[str]:
    """The numbers `list --json` gives, as text."""
    n, archive_bytes = stats.bases, stats.archive_bytes
    s = stats.stream_bytes
    per = lambda key, count: f"{8 * s[key] / count:.3f}" if count else "-"  # noqa: E731
    other = archive_bytes - s["names"] - s["bases"] - s["qualities"]
    lines = [f"  names     {s['names']:>12,} B  {per('names', stats.records)} bits/name"]
    if paired:
        mate2 = s["names"] - stats.mate1_names_bytes
        per_read = f"{8 * mate2 / (stats.records // 2):.3f}" if stats.records else "-"
        lines.append(f"    mate 2  {mate2:>12,} B  {per_read} bits/read (the names stream beyond mate 1's names "
                     f"coded alone)")
    lines += [f"  bases     {s['bases']:>12,} B  {per('bases', n)} bits/base",
              f"  qualities {s['qualities']:>12,} B  {per('qualities', n)} bits/quality",
              f"  other     {other:>12,} B  (line layout {s['layout']:,}, read lengths {s['lengths']:,}, "
              f"header and models, statistics, index)",
              f"  statistics {stats.statistics_bytes:>11,} B  {100 * stats.statistics_bytes / archive_bytes:.3f} % "
              f"of the archive (coding cost by position and base letter, for lstmzip report)"]
    if stats.model:
        lines.append(f"  LSTM: from model {stats.model} (nothing trained)")
    lines += learning_lines(stats.learning, stats.untrained_because)
    ratio = stats.raw_bytes / archive_bytes if archive_bytes else 0
    speed = stats.raw_bytes / stats.seconds / 1e6 if stats.seconds else 0
    records = f"{stats.records // 2:,} pairs" if paired else f"{stats.records:,} records"
    return lines + [f"  {records}, {stats.raw_bytes:,} -> {archive_bytes:,} B, ratio {ratio:.2f}, {speed:.2f} MB/s"]


def learning_lines(learning: dict, untrained_because: str | None) -> list[str]:
    """What was trained (a training report), or why nothing was."""
    lines = [f"  LSTM: none trained: {untrained_because}"] if untrained_because else []
    for kind, report in learning.items():
        seconds = f" in {report['train_seconds']} s" if "train_seconds" in report else ""
        lines.append(f"  LSTM for {kind}: {'used' if report['used'] else 'not used'}; on a check sample "
                     f"{report['bits_per_symbol_without']} -> {report['bits_per_symbol_with']} bits/symbol; "
                     f"{report['parameters']:,} weights in {report['weight_bytes']:,} B; hidden {report['hidden']}; "
                     f"{report['epochs']} epochs{seconds}")
    return lines


def model_lines(m: dict) -> list[str]:
    """A model file, from Model.describe() plus its "file"."""
    lines = [f"{m['file']}: lstmzip model for format {m['format']}, level {m['level']}, blocks of "
             f"{m['block_bytes']:,} bytes; {m['bytes']:,} bytes (networks {m['network_bytes']:,}), trained on "
             f"{m['sample']['records']:,} records by {m['creator']}",
             f"  sha256 {m['sha256']}"]
    for kind, report in m["learning"].items():
        lines.append(f"  LSTM for {kind}: {'used' if report['used'] else 'not used'}; hidden {report['hidden']}, "
                     f"{report['parameters']:,} weights, {report['epochs']} epochs; on its check sample "
                     f"{report['bits_per_symbol_without']} -> {report['bits_per_symbol_with']} bits/symbol")
    return lines if m["learning"] else lines + ["  no networks"]


def list_lines(described: list[dict], with_blocks: bool) -> list[str]:
    """list's table of archives (facts summaries): a row per member, the models they were made with, and
    with_blocks, a table of blocks per file."""
    if not described:
        return []
    lines = [f"{'records':>10} {'bases':>13} {'raw':>14} {'archive':>12} {'ratio':>7} {'blocks':>6} {'level':>5}  name"]
    for d in described:
        for records, row, name in _rows(d):
            lines.append(f"{records:>10,} {row['bases']:>13,} {row['raw_bytes']:>14,} {row['archive_bytes']:>12,} "
                         f"{row['ratio'] or 0:>7.2f} {row['blocks']:>6} {str(row['level']):>5}  {name}")
    for d in described:
        for i, member in enumerate(d["members"], 1):
            if member["model"]:
                where = f" member {i}" if len(d["members"]) > 1 else ""
                lines.append(f"{d['file']}{where}: made with model {member['model']}")
    for d in described if with_blocks else ():
        lines.append(f"\n{d['file']}: {'block':>6} {'member':>6} {'first':>12} {'records':>10} "
                     f"{'raw':>14} {'archive':>12} {'offset':>14}")
        for b in d["block_list"]:
            records = b["pairs"] if b["pairs"] is not None else b["records"]
            lines.append(f"{'':{len(d['file']) + 1}} {b['block']:>6} {b['member']:>6} {b['first']:>12,} "
                         f"{records:>10,} {b['raw_bytes']:>14,} {b['archive_bytes']:>12,} {b['offset']:>14,}")
    return lines


def _rows(d: dict) -> list[tuple[int, dict, str]]:
    """Rows of the table, one per member (and a total) or one for the file: records as ranges count them
    (pairs in a paired member), the row, its name."""
    def label(member: dict) -> str:
        if member["mates"] is not None:
            return f"paired: {member['mates'][0]} + {member['mates'][1]}"
        return member["name"] or "no stored name"

    counted = [m["pairs"] if m["pairs"] is not None else m["records"] for m in d["members"]]
    if len(d["members"]) == 1:
        return [(counted[0], d, f"{d['file']} ({label(d['members'][0])})")]
    rows = [(count, m, f"{d['file']} member {i} ({label(m)})")
            for i, (count, m) in enumerate(zip(counted, d["members"]), 1)]
    return rows + [(sum(counted), d | {"level": "-"}, f"{d['file']} (all {len(d['members'])} members)")]
