"""The report as one standalone HTML page: plotly figures (plotly.js inlined once, so the page opens
offline and asks no server for anything), a summary table, and a footer saying how it was made.

Several archives share one page: each figure has a trace per archive, side by side. A file of several
members (`cat a.lz b.lz`) is shown the same way, a column and a trace per member: members may differ in
level, networks and read lengths, and their statistics cannot be summed.
"""

from __future__ import annotations

import html
from datetime import datetime

import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from .. import __version__
from .facts import Facts, FileFacts

STREAMS = ("names", "bases", "qualities", "other")
NETWORKS = {"bases": "base network (previous base → next base)",
            "qualities": "quality network (previous quality, base, position → next quality)"}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; } td, th { padding: 0.25em 0.8em; border-bottom: 1px solid #eee; }
th { text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
p.note { color: #555; font-style: italic; } footer { margin-top: 3em; color: #666; font-size: 0.9em; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _label(facts: Facts) -> str:
    return facts.label


class _Figures:
    """Figures as HTML divs; the first carries plotly.js, the others use it."""

    def __init__(self):
        self.count = 0

    def __call__(self, figure: go.Figure, title: str, height: int = 420) -> str:
        figure.update_layout(title=title, height=height, margin={"t": 60, "b": 50}, template="plotly_white")
        self.count += 1
        div = pio.to_html(figure, include_plotlyjs=self.count == 1, full_html=False,
                          div_id=f"figure-{self.count}", config={"displaylogo": False, "responsive": True})
        return f'<div class=figure data-title="{html.escape(title)}">{div}</div>'


def _number(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else html.escape(str(value))


def _table(head: list[str], rows: list[list], numeric_from: int = 1) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        cells = [f"<td{' class=n' if i >= numeric_from else ''}>{_number(v) if i >= numeric_from else html.escape(str(v))}</td>"
                 for i, v in enumerate(row)]
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(out) + "</table>"


def _summary(archives: list[Facts]) -> str:
    fields = [
        ("file", lambda f: f.path), ("stored name", lambda f: f.stored_name() or "(standard input)"),
        ("records", lambda f: f.records), ("bases", lambda f: f.bases), ("plain bytes", lambda f: f.raw_bytes),
        ("archive bytes", lambda f: f.size), ("ratio", lambda f: f.summary()["ratio"]),
        ("bits per base", lambda f: f.bits_per()["base"]), ("bits per quality", lambda f: f.bits_per()["quality"]),
        ("bits per name", lambda f: f.bits_per()["name"]), ("blocks", lambda f: len(f.blocks)),
        ("statistics bytes", lambda f: f.statistics_bytes), ("level", lambda f: f.header.get("level")),
        ("format version", lambda f: f"{f.version[0]}.{f.version[1]}"),
        ("written by", lambda f: f.header.get("creator") or "–"),
    ]
    rows = [[name] + [get(f) for f in archives] for name, get in fields]
    out = ["<table><tr><th></th>" + "".join(f"<th>{html.escape(_label(f))}</th>" for f in archives) + "</tr>"]
    for row in rows:
        out.append("<tr><th>" + html.escape(row[0]) + "</th>"
                   + "".join(f"<td class=n>{_number(v)}</td>" for v in row[1:]) + "</tr>")
    return "\n".join(out) + "</table>"


def _learning(archives: list[Facts], figure: _Figures) -> str:
    parts = []
    trained = [(f, kind, report) for f in archives for kind, report in f.learning().items()]
    if not trained:
        return ("<p class=note>No network was trained for these archives: level 1 never trains, and the "
                "others train only on inputs large enough to pay for the training (see lstmzip compress "
                "-v).</p>")
    losses = go.Figure()
    for f, kind, report in trained:
        if report["losses"]:
            losses.add_trace(go.Scatter(x=list(range(1, len(report["losses"]) + 1)), y=report["losses"],
                                        mode="lines+markers", name=f"{_label(f)}: {kind}"))
    losses.update_xaxes(title="epoch")
    losses.update_yaxes(title="training loss (nats per symbol)")
    parts.append(figure(losses, "Training loss per epoch"))
    with_without = go.Figure()
    names = [f"{_label(f)}: {kind}" for f, kind, _ in trained]
    with_without.add_trace(go.Bar(x=names, y=[r["bits_per_symbol_without"] for _, _, r in trained], name="without the network"))
    with_without.add_trace(go.Bar(x=names, y=[r["bits_per_symbol_with"] for _, _, r in trained], name="with the network"))
    with_without.update_layout(barmode="group")
    with_without.update_yaxes(title="bits per symbol on a check sample")
    parts.append(figure(with_without, "Bits per symbol with and without each network"))
    rows = [[_label(f), NETWORKS[kind], "kept" if r["used"] else "not kept (saves less than twice its weights)",
             r["hidden"], r["parameters"], r["weight_bytes"], r["epochs"], r["bits_per_symbol_without"],
             r["bits_per_symbol_with"]] for f, kind, r in trained]
    parts.append(_table(["archive", "network", "kept", "hidden", "weights", "weight bytes", "epochs",
                         "bits/symbol without", "bits/symbol with"], rows, numeric_from=3))
    for f in archives:
        if not f.learning():
            parts.append(f"<p class=note>{html.escape(_label(f))}: no network was trained.</p>")
    return "\n".join(parts)


def _streams(archives: list[Facts], figure: _Figures) -> str:
    whole = go.Figure()
    labels = [_label(f) for f in archives]
    for key in STREAMS:
        whole.add_trace(go.Bar(x=labels, y=[f.stream_bytes()[key] for f in archives], name=key))
    whole.update_layout(barmode="stack")
    whole.update_yaxes(title="bytes")
    parts = [figure(whole, "Bytes per stream, whole archive"),
             "<p class=note>other: line layout, read lengths, header, learned weights, statistics, index and footer.</p>"]
    for f in archives:
        if not f.blocks:
            parts.append(f"<p class=note>{html.escape(_label(f))}: the archive has no blocks (empty input).</p>")
            continue
        per_block = go.Figure()
        numbers = list(range(1, len(f.blocks) + 1))
        for key in STREAMS[:3]:
            per_block.add_trace(go.Bar(x=numbers, y=[b[key] for b in f.block_streams], name=key))
        per_block.add_trace(go.Bar(x=numbers, y=[b.stored - sum(s[k] for k in STREAMS[:3])
                                                 for b, s in zip(f.blocks, f.block_streams)], name="layout, lengths"))
        per_block.update_layout(barmode="stack")
        per_block.update_xaxes(title="block", tickmode="linear" if len(numbers) < 30 else "auto")
        per_block.update_yaxes(title="bytes")
        parts.append(figure(per_block, f"Bytes per stream in each block: {_label(f)}", height=360))
    return "\n".join(parts)


def _by_position(archives: list[Facts], figure: _Figures) -> str:
    parts = [f"<p class=note>{html.escape(_label(f))}: {html.escape(f.no_statistics)}</p>"
             for f in archives if f.statistics is None]
    with_stats = [f for f in archives if f.statistics is not None and f.statistics.bases_by_position]
    if not with_stats:
        return "\n".join(parts)
    for key, what in (("bases_by_position", "base"), ("qualities_by_position", "quality")):
        plot = go.Figure()
        for f in with_stats:
            width = f.statistics.positions_per_bucket
            values = getattr(f.statistics, key)
            x = [i * width + 1 for i in range(len(values))]
            text = [f"positions {i * width + 1}-{(i + 1) * width}" if width > 1 else f"position {i + 1}"
                    for i in range(len(values))]
            plot.add_trace(go.Scatter(x=x, y=values, text=text, mode="lines+markers", name=_label(f),
                                      hovertemplate="%{text}: %{y:.3f} bits<extra></extra>"))
        widths = sorted({f.statistics.positions_per_bucket for f in with_stats})
        plot.update_xaxes(title="position in the read" + ("" if widths == [1] else
                          f" (buckets of {', '.join(map(str, widths))} positions)"))
        plot.update_yaxes(title=f"bits per {what}", rangemode="tozero")
        parts.append(figure(plot, f"Coding cost by read position: bits per {what}"))
    return "\n".join(parts)


def _by_letter(archives: list[Facts], figure: _Figures) -> str:
    with_stats = [f for f in archives if f.statistics is not None and f.statistics.bases_by_position]
    if not with_stats:
        return "<p class=note>No per-letter costs: see above.</p>"
    plot = make_subplots(rows=1, cols=2, subplot_titles=("bits per base, by its letter",
                                                         "bits per quality, by the letter of its base"))
    for i, f in enumerate(with_stats):
        color = f"hsl({(i * 67) % 360}, 55%, 50%)"
        for col, costs in ((1, f.statistics.bases_by_letter), (2, f.statistics.qualities_by_letter)):
            plot.add_trace(go.Bar(x=list(costs), y=list(costs.values()), name=_label(f), legendgroup=_label(f),
                                  showlegend=col == 1, marker_color=color), row=1, col=col)
    plot.update_layout(barmode="group")
    plot.update_yaxes(title="bits", row=1, col=1)
    return (figure(plot, "Cost per base letter")
            + "<p class=note>N: any base that is not A, C, G or T. Such bases are stored in a side list, not "
              "range-coded, so only their qualities have a cost here.</p>")


def render(files: list[FileFacts], command: str, when: datetime) -> str:
    archives = [member for facts in files for member in facts.members]
    figure = _Figures()
    title = "lstmzip report: " + ", ".join(_label(f) for f in archives)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Summary</h2>", _summary(archives),
        "<h2>What the networks learned</h2>", _learning(archives, figure),
        "<h2>Where the bytes go</h2>", _streams(archives, figure),
        "<h2>Coding cost by read position</h2>",
        "<p>What each symbol cost the range coder (−log<sub>2</sub> of the probability the models gave it), "
        "averaged over all reads at each position; measured while compressing.</p>",
        _by_position(archives, figure),
        "<h2>Cost per base letter</h2>", _by_letter(archives, figure),
        f"<footer>Made by lstmzip {html.escape(__version__)} with <code>{html.escape(command)}</code> on "
        f"{html.escape(when.strftime('%Y-%m-%d %H:%M:%S %Z').strip())}.</footer>",
    ]
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
