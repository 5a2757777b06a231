"""`lstmzip list --json`, read defensively: a field the listing lacks stays None."""
from __future__ import annotations

import json

STREAMS = ["names", "bases", "qualities", "other"]


def _num(d, *keys):
    for k in keys:
        v = d.get(k) if isinstance(d, dict) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
    return None


def parse_list_json(text: str) -> dict:
    """Sums the numeric fields over all entries of "files" (or takes the object itself); {} if the
    text is not such JSON."""
    try:
        doc = json.loads(text)
    except (ValueError, TypeError):
        return {}
    if isinstance(doc, dict) and isinstance(doc.get("files"), list):
        entries = doc["files"]
    elif isinstance(doc, list):
        entries = doc
    else:
        entries = [doc]
    entries = [e for e in entries if isinstance(e, dict)]
    if not entries:
        return {}

    def total(getter):
        vals = [getter(e) for e in entries]
        return None if any(v is None for v in vals) else sum(vals)

    out = {key: total(lambda e: _num(e, *names)) for key, names in (
        ("records", ("records", "reads")), ("bases", ("bases",)),
        ("quality_values", ("quality_values", "qualities")), ("raw_bytes", ("raw_bytes",)),
        ("archive_bytes", ("archive_bytes",)), ("blocks", ("blocks",)))}
    out["level"] = _num(entries[0], "level")
    names = {s for e in entries if isinstance(e.get("streams"), dict) for s in e["streams"]}
    ordered = sorted(names, key=lambda k: (STREAMS.index(k) if k in STREAMS else len(STREAMS), k))
    out["streams"] = {s: total(lambda e: _num(e.get("streams") or {}, s)) for s in ordered}
    return out
