"""Comparing a baseline with a fresh run: what moved, beyond which tolerance.

Rules (:func:`compare`): parameters, strategy names and fills (date, side, size, reason) must
match exactly, fill prices within ``fill_price`` (1e-9), and each metric within its tolerance
(the baseline file's, else :func:`engine.regress.baseline.default_tolerances`); strings, counts
and ``null``/``"inf"`` must be equal. A NaN or infinite number on either side never holds
(:func:`within`); the baseline loader refuses them before (:func:`engine.regress.baseline.parse_json`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.regress.baseline import BENCHMARK_TICKER, FRACTION_TOL, merged_tolerances


@dataclass(frozen=True)
class Row:
    """One thing that moved: ``item`` (e.g. ``metric sharpe``), old and new values, |diff|, tolerance."""

    item: str
    old: Any
    new: Any
    diff: float | None = None
    tolerance: float | None = None


@dataclass(frozen=True)
class ConfigDiff:
    """What moved in one configuration (``rows`` empty when it holds)."""

    label: str
    strategy: str
    rows: list[Row]

    @property
    def holds(self) -> bool:
        return not self.rows


@dataclass(frozen=True)
class Comparison:
    """The result of comparing a baseline with a fresh run."""

    dataset: dict[str, Any]
    general: list[Row]  # settings that moved (they affect every configuration)
    configs: list[ConfigDiff]

    @property
    def ok(self) -> bool:
        return not self.general and all(c.holds for c in self.configs)

    @property
    def n_hold(self) -> int:
        return sum(c.holds for c in self.configs)


def compare(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    """Compare baseline ``old`` with fresh content ``new`` (both as :func:`build_content` makes them).

    Tolerances come from ``old`` (its file may override the defaults). Configurations are listed
    in ``new``'s order, then those only in the baseline.
    """
    tols = merged_tolerances(old.get("tolerances"))
    general = [
        Row(f"setting {k}", old["settings"].get(k), new["settings"].get(k))
        for k in sorted(set(old["settings"]) | set(new["settings"]))
        if old["settings"].get(k) != new["settings"].get(k)
    ]
    old_cfg, new_cfg = old["configurations"], new["configurations"]
    labels = list(new_cfg) + [k for k in old_cfg if k not in new_cfg]
    diffs = []
    for label in labels:
        a, b = old_cfg.get(label), new_cfg.get(label)
        strategy = (b or a or {}).get("strategy", "?")
        diffs.append(ConfigDiff(label, strategy, compare_entry(a, b, tols)))
    return Comparison(dataset=new["dataset"], general=general, configs=diffs)


def compare_entry(
    old: dict[str, Any] | None, new: dict[str, Any] | None, tols: dict[str, float]
) -> list[Row]:
    """Rows for everything that moved between two entries of one configuration."""
    if old is None:
        return [Row("configuration", "(not in the baseline)", "new")]
    if new is None:
        return [Row("configuration", "in the baseline", "(gone)")]
    if new.get("error"):
        return [Row("error", "ran", new["error"])]
    rows = []
    if old["strategy"] != new["strategy"]:
        rows.append(Row("strategy", old["strategy"], new["strategy"]))
    for key in _union(old["params"], new["params"]):
        a, b = old["params"].get(key, "(none)"), new["params"].get(key, "(none)")
        if a != b:
            rows.append(Row(f"param {key}", a, b))
    rows.extend(compare_fills(old["fills"], new["fills"], tols["fill_price"]))
    for key in _union(old["metrics"], new["metrics"]):
        row = compare_metric(
            key,
            old["metrics"].get(key, "(none)"),
            new["metrics"].get(key, "(none)"),
            tols.get(key, FRACTION_TOL),
        )
        if row is not None:
            rows.append(row)
    return rows


def _union(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return list(a) + [k for k in b if k not in a]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v: Any) -> bool:
    """A number that is neither NaN nor infinite (nor an integer too large for a float)."""
    try:
        return _is_num(v) and math.isfinite(float(v))
    except OverflowError:
        return False


def within(old: Any, new: Any, tol: float) -> bool:
    """``|new - old| <= tol`` for two finite numbers; False when either side (or ``tol``) is
    NaN or infinite. Written so that NaN fails: ``diff > tol`` would be False for NaN and let
    it pass."""
    if not (_finite(old) and _finite(new)):
        return False
    return abs(float(new) - float(old)) <= tol


def compare_metric(key: str, old: Any, new: Any, tol: float) -> Row | None:
    """A row when ``new`` moved beyond ``tol`` (absolute) from ``old``; None when it holds.

    Two numbers hold only when both are finite and within ``tol``; anything else (text,
    ``null``, ``"inf"``) must be equal."""
    if _is_num(old) and _is_num(new):
        if within(old, new, tol):
            return None
        diff = abs(float(new) - float(old)) if _finite(old) and _finite(new) else None
        return Row(f"metric {key}", old, new, diff, tol)
    return None if old == new and not _is_num(old) else Row(f"metric {key}", old, new, None, tol)


def fill_equal(a: list[Any], b: list[Any], price_tol: float) -> bool:
    """Same date, side, size and reason; prices within ``price_tol`` (finite numbers only)."""
    if [a[0], a[1], a[4]] != [b[0], b[1], b[4]] or not within(a[2], b[2], 0.0):
        return False
    return within(a[3], b[3], price_tol)


def compare_fills(old: list[list[Any]], new: list[list[Any]], price_tol: float) -> list[Row]:
    """A summary row and the first differing fill (old vs new), or nothing when every fill matches."""
    n = max(len(old), len(new))
    differ = [
        i
        for i in range(n)
        if i >= len(old) or i >= len(new) or not fill_equal(old[i], new[i], price_tol)
    ]
    if not differ:
        return []
    first = differ[0]
    summary = Row(
        "fills", f"{len(old)} fills", f"{len(new)} fills, {len(differ)} differ from #{first + 1}"
    )
    detail = Row(
        f"fill #{first + 1}",
        format_fill(old[first]) if first < len(old) else "(none)",
        format_fill(new[first]) if first < len(new) else "(none)",
        _price_diff(old, new, first),
        price_tol,
    )
    return [summary, detail]


def _price_diff(old: list[list[Any]], new: list[list[Any]], i: int) -> float | None:
    if i < len(old) and i < len(new) and _finite(old[i][3]) and _finite(new[i][3]):
        return abs(float(new[i][3]) - float(old[i][3]))
    return None


def format_fill(fill: list[Any]) -> str:
    """``2025-08-26 buy 354 @ 94 (ladder 1)``."""
    date, side, size, price, reason = fill
    size_txt = f"{size:g}" if _finite(size) else str(size)
    price_txt = f"{price:.10g}" if _finite(price) else str(price)
    return f"{date} {side} {size_txt} @ {price_txt} ({reason})"


def describe_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """One line per change of the data set (for ``--update``); empty when it is the same."""
    if old is None:
        return []
    a, b = old.get("dataset", {}), new["dataset"]
    out = []
    for key in ("ticker", "start", "end"):
        if a.get(key) != b.get(key):
            out.append(f"data {key}: {a.get(key)} -> {b.get(key)}")
    fa, fb = a.get("fingerprint") or {}, b.get("fingerprint") or {}
    if fa.get("sha256") != fb.get("sha256"):
        out.append(
            f"data sha256: {str(fa.get('sha256'))[:12]} -> {str(fb.get('sha256'))[:12]} ({fa.get('rows')} -> {fb.get('rows')} rows)"
        )
    ba, bb = a.get("benchmark") or {}, b.get("benchmark") or {}
    if (ba.get("fingerprint") or {}).get("sha256") != (bb.get("fingerprint") or {}).get("sha256"):
        out.append(
            f"benchmark {BENCHMARK_TICKER}: {'present' if ba else 'none'} -> {'present' if bb else 'none'} (fingerprint changed)"
        )
    return out
