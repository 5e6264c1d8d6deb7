"""Show a regression comparison: terminal table, JUnit XML (for CI test views), Markdown summary.

Pure functions of a :class:`engine.regress.Comparison` returning text; the CLI writes the files.
No timestamps and no timings go into the XML or Markdown, so the same comparison gives the
same bytes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from engine.regress.compare import Comparison, Row

HEADER = ("configuration", "what moved", "old", "new", "|diff|", "tolerance")


def fmt_value(value: Any) -> str:
    """A baseline value as text: floats to 10 significant digits, lists comma-separated."""
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, list):
        return ",".join(fmt_value(v) for v in value)
    return str(value)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def _tol(row: Row) -> str:
    if row.tolerance is None:
        return ""
    return "exact" if row.tolerance == 0 else f"{row.tolerance:g}"


def table_rows(cmp: Comparison) -> list[tuple[str, ...]]:
    """Every moved item as ``(configuration, item, old, new, |diff|, tolerance)``."""
    rows: list[tuple[str, ...]] = [
        ("(settings)", r.item, fmt_value(r.old), fmt_value(r.new), "", "exact") for r in cmp.general
    ]
    for c in cmp.configs:
        name = c.label if c.label == c.strategy else f"{c.label} ({c.strategy})"
        rows.extend(
            (name, r.item, fmt_value(r.old), fmt_value(r.new), _num(r.diff), _tol(r))
            for r in c.rows
        )
    return rows


def dataset_line(cmp: Comparison) -> str:
    ds = cmp.dataset
    fp = ds["fingerprint"]
    bench = " + SPY benchmark" if ds.get("benchmark") else ""
    return f"{ds['ticker']} {ds['start']} to {ds['end']} ({fp['rows']} bars{bench}), data sha256 {fp['sha256'][:12]}"


def summary_line(cmp: Comparison) -> str:
    """``16 of 16 configurations hold`` plus the names of those that moved."""
    total = len(cmp.configs)
    line = f"{cmp.n_hold} of {total} configurations hold"
    moved = [c.label for c in cmp.configs if not c.holds]
    if moved:
        line += f"; moved: {', '.join(moved)}"
    if cmp.general:
        line += (
            f"; settings moved: {', '.join(r.item.removeprefix('setting ') for r in cmp.general)}"
        )
    return line


def format_table(cmp: Comparison) -> str:
    """Aligned text table of what moved (empty string when nothing did)."""
    rows = table_rows(cmp)
    if not rows:
        return ""
    widths = [min(max(len(r[i]) for r in [HEADER, *rows]), 48) for i in range(len(HEADER))]
    lines = []
    for r in [HEADER, *rows]:
        cells = [cell.ljust(w) for cell, w in zip(r, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def junit_xml(cmp: Comparison, name: str) -> str:
    """JUnit XML: one test case per configuration (plus one for the settings), failures listed."""
    failures = sum(not c.holds for c in cmp.configs) + (1 if cmp.general else 0)
    suite = ET.Element(
        "testsuite",
        name=f"crwv-bt regress {name}",
        tests=str(len(cmp.configs) + 1),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    ET.SubElement(suite, "properties")
    ET.SubElement(suite[0], "property", name="dataset", value=dataset_line(cmp))
    settings = ET.SubElement(suite, "testcase", classname=f"regress.{name}", name="(settings)")
    if cmp.general:
        _failure(settings, [("(settings)", r) for r in cmp.general])
    for c in cmp.configs:
        case = ET.SubElement(
            suite, "testcase", classname=f"regress.{name}.{c.strategy}", name=c.label
        )
        if not c.holds:
            _failure(case, [(c.label, r) for r in c.rows])
    root = ET.Element(
        "testsuites", name="crwv-bt regress", tests=suite.get("tests", "0"), failures=str(failures)
    )
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _failure(case: ET.Element, rows: list[tuple[str, Row]]) -> None:
    fail = ET.SubElement(
        case, "failure", message=f"moved: {moved_items(r for _, r in rows)}", type="regression"
    )
    fail.text = "\n".join(
        f"{r.item}: {fmt_value(r.old)} -> {fmt_value(r.new)}"
        + (f" (|diff| {_num(r.diff)}, tolerance {_tol(r)})" if r.diff is not None else "")
        for _, r in rows
    )


def markdown(cmp: Comparison, name: str) -> str:
    """A summary for a CI job page: status line, data set, table of what moved."""
    mark = "passed" if cmp.ok else "FAILED"
    lines = [
        f"## Regression check `{name}`: {mark}",
        "",
        f"**{summary_line(cmp)}**  ",
        f"Data: {dataset_line(cmp)}",
        "",
    ]
    rows = table_rows(cmp)
    if rows:
        lines.append("| " + " | ".join(_md(h) for h in HEADER) + " |")
        lines.append("|" + "---|" * len(HEADER))
        lines.extend("| " + " | ".join(_md(cell) for cell in r) + " |" for r in rows)
        lines.append("")
        lines.append(
            "If the change is intended, run `crwv-bt regress --update` and commit the baseline."
        )
    else:
        lines.append("Every configuration's fills and metrics match the baseline.")
    return "\n".join(lines) + "\n"


def moved_items(rows: Iterable[Row]) -> str:
    """Short list of what moved: ``param stop; fills; 20 metrics``."""
    rows = list(rows)
    metrics = [r for r in rows if r.item.startswith("metric ")]
    parts = [r.item for r in rows if not r.item.startswith(("metric ", "fill #"))]
    if len(metrics) > 3:
        parts.append(f"{len(metrics)} metrics")
    else:
        parts.extend(r.item for r in metrics)
    return "; ".join(parts)


def _md(cell: str) -> str:
    return cell.replace("|", "\\|") if cell else " "
