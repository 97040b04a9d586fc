"""The one report writer of every verification: JSON and Markdown files, and rich tables on screen.

`verify --offline`, `verify --batfish` and `lab test` all report :class:`~countynet.outputs.flows.Verdict`s
and :class:`~countynet.outputs.flows.Finding`s in the same shape:

    {"result": "clean" | "violations", "checker": ..., "summary": {...},
     "findings": [...], "flows": [{flow fields..., "observed", "status", "reason", "where"}], ...extra}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from countynet.fileio import atomic_write_text
from countynet.outputs.flows import ERROR, MISMATCH, Finding, Verdict, counts

FINDING_COLUMNS = ["kind", "subject", "message"]
VERDICT_COLUMNS = ["status", "rule", "flow", "expected", "observed", "reason"]
COLOURS = {"ok": "green", "mismatch": "red", "error": "red", "unproven": "dim"}


def verdict_data(checker: str, verdicts: Sequence[Verdict], findings: Sequence[Finding],
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report of one checker: result, summary counts, findings and every flow's verdict."""
    c = counts(verdicts)
    bad = bool(findings) or c[MISMATCH] > 0 or c[ERROR] > 0
    summary = {"flows": len(verdicts), **c,
               "allowed": sum(v.observed == "allowed" for v in verdicts),
               "denied": sum(v.observed == "denied" for v in verdicts),
               "findings": len(findings)}
    return {"result": "violations" if bad else "clean", "checker": checker, "summary": summary,
            "findings": [f.as_dict() for f in findings], "flows": [v.as_dict() for v in verdicts], **(extra or {})}


def verdict_rows(verdicts: Iterable[Verdict]) -> list[dict[str, str]]:
    return [{"status": v.status, "rule": v.flow.rule, "flow": v.flow.key(), "expected": v.flow.expected,
             "observed": v.observed, "reason": "; ".join(x for x in (v.reason, v.where) if x)} for v in verdicts]


def write_reports(out_dir: Path, name: str, data: dict[str, Any], rows: list[dict[str, Any]],
                  columns: list[str], title: str, flows: Sequence[Verdict] = ()) -> tuple[Path, Path]:
    """`<name>.json` (the data) and `<name>.md` (summary, a table of `rows`, and the flows) in out_dir."""
    jpath = out_dir / f"{name}.json"
    mpath = out_dir / f"{name}.md"
    atomic_write_text(jpath, json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n")
    md = [f"# {title}", "", f"Result: **{data.get('result', '?')}**", ""]
    for k, v in data.get("summary", {}).items():
        md.append(f"- {k}: {v}")
    md += ["", *_md_table(columns, rows)]
    if flows:
        md += ["", "## Flows", "", *_md_table(VERDICT_COLUMNS, verdict_rows(flows))]
    atomic_write_text(mpath, "\n".join(md) + "\n")
    return jpath, mpath


def write_verdict_report(out_dir: Path, name: str, title: str, checker: str, verdicts: Sequence[Verdict],
                         findings: Sequence[Finding], extra: dict[str, Any] | None = None
                         ) -> tuple[dict[str, Any], Path, Path]:
    """verdict_data() written as `<name>.json` / `<name>.md`; returns the data and both paths."""
    data = verdict_data(checker, verdicts, findings, extra)
    js, md = write_reports(out_dir, name, data, [f.as_dict() for f in findings], FINDING_COLUMNS, title, verdicts)
    return data, js, md


def _md_table(columns: list[str], rows: Iterable[dict[str, Any]]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        out.append("| " + " | ".join(str(r.get(c, "")).replace("|", "\\|") for c in columns) + " |")
    return out


def print_table(con: Any, title: str, rows: list[dict[str, Any]], columns: list[str], limit: int = 60) -> None:
    """Rows as a rich table on `con` (a rich Console), at most `limit` of them."""
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows[:limit]:
        t.add_row(*[escape(str(r.get(c, ""))) for c in columns])
    con.print(t)
    if len(rows) > limit:
        con.print(f"... {len(rows) - limit} more rows in the JSON/Markdown report")


def print_verdicts(con: Any, title: str, verdicts: Sequence[Verdict], limit: int = 400) -> None:
    """Verdicts as a rich table, the status coloured."""
    from rich.markup import escape
    from rich.table import Table

    t = Table(*VERDICT_COLUMNS, title=title)
    for r in verdict_rows(verdicts[:limit]):
        t.add_row(f"[{COLOURS.get(r['status'], 'white')}]{r['status']}[/]",
                  *[escape(r[c]) for c in VERDICT_COLUMNS[1:]])
    con.print(t)
    if len(verdicts) > limit:
        con.print(f"... {len(verdicts) - limit} more flows in the JSON/Markdown report")
