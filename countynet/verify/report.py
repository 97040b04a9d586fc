"""Verification reports: a rich table on screen, JSON and Markdown in build/reports/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from countynet.fileio import atomic_write_text


def write_reports(out_dir: Path, name: str, data: dict[str, Any], rows: list[dict[str, Any]],
                  columns: list[str], title: str) -> tuple[Path, Path]:
    jpath = out_dir / f"{name}.json"
    mpath = out_dir / f"{name}.md"
    atomic_write_text(jpath, json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n")
    md = [f"# {title}", "", f"Result: **{data.get('result', '?')}**", ""]
    for k, v in data.get("summary", {}).items():
        md.append(f"- {k}: {v}")
    md += ["", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        md.append("| " + " | ".join(str(r.get(c, "")).replace("|", "\\|") for c in columns) + " |")
    atomic_write_text(mpath, "\n".join(md) + "\n")
    return jpath, mpath


def print_table(con: Console, title: str, rows: list[dict[str, Any]], columns: list[str], limit: int = 60) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows[:limit]:
        t.add_row(*[str(r.get(c, "")) for c in columns])
    con.print(t)
    if len(rows) > limit:
        con.print(f"... {len(rows) - limit} more rows in the JSON/Markdown report")
