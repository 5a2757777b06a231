"""The corpus: unpacking a file and checking it, and what the corpus and peers READMEs record
(md5 and size of each file, the best exact size known, fqzcomp5's sizes and which are not exact)."""
from __future__ import annotations

import gzip
import hashlib
import os
import re
from pathlib import Path

CHUNK = 1 << 20


def parse_md_tables(text: str) -> list[tuple[list[str], list[dict[str, str]]]]:
    """All pipe tables of a Markdown text, as (header, rows as dicts keyed by header cell)."""
    tables = []
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    for line in text.splitlines() + [""]:
        s = line.strip()
        if s.startswith("|") and s.endswith("|") and len(s) > 1:
            cells = [c.strip() for c in s[1:-1].split("|")]
            if header is None:
                header, rows = cells, []
            elif not all(re.fullmatch(r":?-+:?", c) for c in cells):
                rows.append(dict(zip(header, cells)))
        elif header is not None:
            tables.append((header, rows))
            header = None
    return tables


def stem(name: str) -> str:
    """'ga2_ecoli.fq.gz' -> 'ga2_ecoli'."""
    name = os.path.basename(name.strip().strip("`"))
    for suf in (".gz", ".fq", ".fastq"):
        name = name.removesuffix(suf)
    return name


def exact_int(cell: str | None) -> int | None:
    """'84,586' -> 84586; anything annotated ('(not exact)', '(lossy*)', '84,981 *', 'fails') -> None."""
    c = (cell or "").strip()
    return int(c.replace(",", "")) if re.fullmatch(r"[\d,]+", c) else None


def find_col(header: list[str], *patterns: str) -> str | None:
    for pat in patterns:
        for h in header:
            if re.fullmatch(pat, h.strip(), re.IGNORECASE):
                return h
    return None


def read_corpus_readme(corpus: Path) -> dict[str, dict]:
    """stem -> {"md5": str|None, "size": int|None, "best_exact": int|None} from corpus/README.md
    (its first table gives md5 and plain size, a later one the "best exact" column); {} if absent."""
    readme = corpus / "README.md"
    out: dict[str, dict] = {}
    if not readme.is_file():
        return out
    for header, rows in parse_md_tables(readme.read_text(encoding="utf-8", errors="replace")):
        fcol = find_col(header, r"file")
        if fcol is None:
            continue
        md5col = find_col(header, r"md5.*")
        sizecol = find_col(header, r"bytes.*plain.*", r"bytes.*", r"size.*")
        bestcol = find_col(header, r"best exact.*")
        for r in rows:
            entry = out.setdefault(stem(r.get(fcol, "")), {"md5": None, "size": None, "best_exact": None})
            if md5col:
                entry["md5"] = (r.get(md5col) or "").strip("` ").lower() or None
                entry["size"] = exact_int(r.get(sizecol)) if sizecol else None
            if bestcol:
                entry["best_exact"] = exact_int(r.get(bestcol))
    return out


def read_peers_readme(readme: Path) -> dict[tuple[str, str], tuple[int | None, bool]]:
    """(stem, column) -> (recorded bytes, exact?) from the peers README's table of fqzcomp5 sizes,
    where '84,981 *' marks a result that is not byte-identical; {} if absent."""
    out = {}
    if not readme.is_file():
        return out
    for header, rows in parse_md_tables(readme.read_text(encoding="utf-8", errors="replace")):
        fcol = find_col(header, r"file")
        cols = [h for h in header if re.fullmatch(r"fqzcomp5( -\d)?", h.strip())]
        if fcol is None or not cols:
            continue
        for r in rows:
            for c in cols:
                cell = (r.get(c) or "").strip()
                out[(stem(r[fcol]), c.strip())] = (exact_int(cell.rstrip("* ")), "*" not in cell)
    return out


def unpack(src: Path, dest: Path) -> tuple[int, str]:
    """gunzip src to dest; (plain bytes, md5 of them)."""
    h, n = hashlib.md5(), 0
    with gzip.open(src, "rb") as fi, open(dest, "wb") as fo:
        while chunk := fi.read(CHUNK):
            h.update(chunk)
            n += len(chunk)
            fo.write(chunk)
    return n, h.hexdigest()
