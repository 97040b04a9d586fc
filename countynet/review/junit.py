"""Verify findings as a JUnit XML report, for the merge-request widget of GitLab (`artifacts:reports:junit`)
and any CI that reads JUnit.

Input: a verification report written by `countynet verify` (`build/reports/verify-offline.json`, or the
Batfish one), in the shared shape of `countynet.outputs.reports`. One test suite per report with:

* one test case per flow: `ok` passes; `mismatch` and `error` fail (with the reason and where); `unproven`
  is *skipped* with its reason: never shown as a pass;
* one failing test case per finding that no flow carries (shadowed lines, sessions, parse problems).

Written with the standard library's ElementTree (no dependency needed for a format this small). Run as
`python -m countynet.review.junit REPORT.json OUT.xml`; exit 0 written, 2 unreadable report.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ReportError(Exception):
    """The verification report cannot be read (missing, not JSON, not a verify report)."""


def _flow_name(f: Mapping[str, Any]) -> str:
    svc = str(f.get("protocol", ""))
    if svc in ("tcp", "udp") and f.get("port") is not None:
        svc += f"/{f['port']}"
    return f"{f.get('src_zone')}>{f.get('dst_zone')} {svc} {f.get('src_address')}>{f.get('dst_address')}"


def junit(report: Mapping[str, Any], name: str = "countynet verify") -> ET.Element:
    """The JUnit <testsuites> element of one verification report."""
    flows = list(report.get("flows") or [])
    findings = list(report.get("findings") or [])
    suites = ET.Element("testsuites", name=name)
    suite = ET.SubElement(suites, "testsuite", name=str(report.get("checker") or name))
    failures = skipped = 0
    flow_keys = set()
    for f in flows:
        key = _flow_name(f)
        flow_keys.add(key)
        case = ET.SubElement(suite, "testcase", classname=f"policy.{f.get('rule', '')}", name=key)
        status = f.get("status")
        detail = "; ".join(str(x) for x in (f.get("reason"), f.get("where")) if x)
        msg = f"expected {f.get('expected')}, observed {f.get('observed')}" + (f": {detail}" if detail else "")
        if status in ("mismatch", "error"):
            failures += 1
            ET.SubElement(case, "failure", message=msg, type=str(status)).text = msg
        elif status == "unproven":
            skipped += 1
            ET.SubElement(case, "skipped", message=f"unproven: {detail or 'not checked'}")
        elif status != "ok":
            failures += 1
            ET.SubElement(case, "failure", message=f"unknown status {status!r}", type="error")
    for fd in findings:
        fl = fd.get("flow")
        if isinstance(fl, Mapping) and _flow_name(fl) in flow_keys:
            continue  # already a failing flow case
        case = ET.SubElement(suite, "testcase", classname=f"finding.{fd.get('kind', '')}",
                             name=str(fd.get("subject", "")))
        failures += 1
        ET.SubElement(case, "failure", message=str(fd.get("message", "")), type=str(fd.get("kind", "")))
    total = len(suite)
    for el in (suite, suites):
        el.set("tests", str(total))
        el.set("failures", str(failures))
        el.set("errors", "0")
        el.set("skipped", str(skipped))
    return suites


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such report (run `countynet verify` first)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not a readable JSON report ({exc})") from None
    if not isinstance(data, dict) or "flows" not in data:
        raise ReportError(f"{path}: not a countynet verify report (no 'flows')")
    return data


def write(report_path: Path, out: Path) -> ET.Element:
    """Read a verify report and write its JUnit XML to `out`; returns the element written."""
    from countynet.fileio import atomic_write_text

    root = junit(load(report_path))
    ET.indent(root)
    atomic_write_text(out, '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")
    return root


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m countynet.review.junit REPORT.json OUT.xml", file=sys.stderr)
        return 2
    try:
        root = write(Path(args[0]), Path(args[1]))
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args[1]}: {root.get('tests')} test(s), {root.get('failures')} failure(s), "
          f"{root.get('skipped')} skipped (unproven)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
