"""Regression baselines: pin every strategy configuration's fills and metrics on one data set.

A baseline (``results/baselines/<name>.json``) holds, for one price window:

* ``dataset`` - ticker, first and last date, and the fingerprint (rows, sha256) of the traded
  prices and of the benchmark (SPY) used for alpha/beta;
* ``settings`` - cash and costs the runs used (the engine's current defaults);
* ``tolerances`` - absolute tolerance per metric (and ``fill_price``); edit them in the file,
  ``--update`` keeps the edits;
* ``configurations`` - one entry per registered strategy with its defaults (label = registry
  name) and per variant of the variants file (label = variant name): ``strategy``, resolved
  ``params``, ``metrics`` (every key of :func:`engine.metrics.compute_metrics`) and ``fills``
  (``[date, side, size, price, reason]``, in execution order).

The configurations are always rebuilt from the *current* code (:mod:`engine.regress_run`), so a
changed default, rule, dependency or engine shows up as a moved parameter, fill or metric.
Comparison rules (:func:`compare`): parameters, strategy names and fills
(date, side, size, reason) must match exactly, fill prices within ``fill_price`` (1e-9), and
each metric within its tolerance; strings, counts and ``null``/``"inf"`` must be equal.

The file is deterministic: keys sorted, floats rounded to 12 significant digits (fill prices
to 10 decimals), no timestamps and no paths, so the same code and data write the same bytes.
Formatting of the comparison (terminal table, JUnit XML, Markdown) is in
:mod:`engine.regress_format`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from engine import params as params_mod
from engine.errors import UserError
from engine.metrics import METRIC_KEYS, to_jsonable
from engine.result import Costs, RunResult, run_settings

FORMAT = 1
FILL_FIELDS = ["date", "side", "size", "price", "reason"]
DEFAULT_CASH = 100_000.0  # the CLI's --cash default
BENCHMARK_TICKER = "SPY"

#: Metrics compared exactly: dates, counts and day counts.
EXACT_METRICS = frozenset(
    ["start", "end", "bars", "n_trades", "n_open", "max_drawdown_duration"]
    + ["max_consecutive_wins", "max_consecutive_losses"]
)
#: Metrics in dollars: one cent.
DOLLAR_METRICS = frozenset(["final_equity", "expectancy", "commission_paid"])
DOLLAR_TOL = 0.01
#: Every other metric is a fraction (returns, drawdowns, rates) or a ratio.
FRACTION_TOL = 1e-6
FILL_PRICE_TOL = 1e-9

_TOP_KEYS = ("format", "dataset", "settings", "tolerances", "configurations")


class BaselineError(UserError):
    """The check cannot run: unreadable baseline, missing data, data differing from the baseline's."""

    exit_code = 2


# ------------------------------------------------------------------------------ tolerances


def default_tolerances(keys: list[str] | None = None) -> dict[str, float]:
    """Absolute tolerance per metric key (exact 0 for counts and dates) plus ``fill_price``."""
    out: dict[str, float] = {}
    for key in keys if keys is not None else METRIC_KEYS:
        if key in EXACT_METRICS:
            out[key] = 0.0
        elif key in DOLLAR_METRICS:
            out[key] = DOLLAR_TOL
        else:
            out[key] = FRACTION_TOL
    out["fill_price"] = FILL_PRICE_TOL
    return out


def merged_tolerances(file_tolerances: dict[str, float] | None) -> dict[str, float]:
    """Defaults, overridden by the values written in a baseline file."""
    return {**default_tolerances(), **(file_tolerances or {})}


# ------------------------------------------------------------------------------ JSON content


def round_sig(value: float, digits: int = 12) -> float:
    """``value`` rounded to ``digits`` significant digits (removes float residue from the file)."""
    return float(f"{value:.{digits}g}") if math.isfinite(value) else value


def _plain(value: Any) -> Any:
    """JSON-ready parameter / metric value: tuples become lists, floats are rounded."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return round_sig(value)
    return str(value)


def fills_rows(fills: pd.DataFrame) -> list[list[Any]]:
    """``[date, side, size, price, reason]`` per fill, prices rounded to 10 decimals."""
    rows = []
    for d, side, size, price, reason in fills[FILL_FIELDS].itertuples(index=False):
        rows.append(
            [
                pd.Timestamp(d).strftime("%Y-%m-%d"),
                str(side),
                round_sig(float(size)),
                round(float(price), 10),
                str(reason),
            ]
        )
    return rows


def entry_for(result: RunResult, metrics: pd.Series) -> dict[str, Any]:
    """One configuration's baseline entry from its run and metrics."""
    return {
        "strategy": "",  # filled in by the caller (the registry name, not the label)
        "params": {k: _plain(v) for k, v in result.params.items()},
        "metrics": {k: _plain(v) for k, v in to_jsonable(metrics).items()},
        "fills": fills_rows(result.fills),
    }


def settings_for(cash: float, costs: Costs, fractional: bool) -> dict[str, Any]:
    """The run settings recorded in (and compared against) the baseline."""
    return run_settings(cash, costs, fractional)


def dumps(content: dict[str, Any]) -> str:
    """Stable text: keys sorted, two-space indent, lists of scalars (a fill) on one line."""
    return _dump(content, 0) + "\n"


def _dump(obj: Any, indent: int) -> str:
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}  {json.dumps(str(k))}: {_dump(obj[k], indent + 2)}" for k in sorted(obj)]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        items = [f"{pad}  {_dump(v, indent + 2)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False, ensure_ascii=False)


# ------------------------------------------------------------------------------ loading


def load_baseline(path: str | Path, registry: dict[str, type]) -> dict[str, Any]:
    """Read and check a baseline file; any problem is a one-line :class:`BaselineError`."""
    p = Path(path)
    fix = f"restore it (`git checkout -- {p}`) or regenerate it with `crwv-bt regress --update`"
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            f"{p}: no baseline file; create it with `crwv-bt regress --update --baseline {p}`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{p}: cannot read the baseline ({exc}); {fix}") from None
    try:
        content = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"{p}: baseline is corrupted or truncated (invalid JSON, {exc.msg.lower()}: line {exc.lineno} column {exc.colno}); {fix}"
        ) from None
    problem = baseline_problem(content)
    if problem:
        raise BaselineError(f"{p}: {problem}; {fix}")
    for label, entry in content["configurations"].items():
        if entry["strategy"] not in registry:
            raise BaselineError(
                f"{p}: configuration {label!r} uses strategy {entry['strategy']!r}, which is not registered"
                f"{params_mod.suggest(str(entry['strategy']), list(registry))}; if the strategy was renamed "
                "or removed on purpose run `crwv-bt regress --update`"
            )
    return content


def baseline_problem(content: Any) -> str:
    """What is wrong with a parsed baseline ('' when it is usable)."""
    if not isinstance(content, dict):
        return "baseline is not a JSON object"
    missing = [k for k in _TOP_KEYS if k not in content]
    if missing:
        return f"baseline lacks the key {missing[0]!r} (truncated or hand-edited?)"
    if content["format"] != FORMAT:
        return f"baseline format {content['format']!r} is not supported (this code writes {FORMAT})"
    ds = content["dataset"]
    if not isinstance(ds, dict) or any(
        k not in ds for k in ("ticker", "start", "end", "fingerprint")
    ):
        return "baseline 'dataset' needs ticker, start, end and fingerprint"
    if not isinstance(ds["fingerprint"], dict) or "sha256" not in ds["fingerprint"]:
        return "baseline dataset fingerprint lacks sha256"
    problem = _tolerance_problem(content)
    if problem:
        return problem
    configs = content["configurations"]
    if not isinstance(configs, dict) or not configs:
        return "baseline has no configurations"
    for label, entry in configs.items():
        problem = _entry_problem(label, entry)
        if problem:
            return problem
    return ""


def _tolerance_problem(content: dict[str, Any]) -> str:
    tols = content["tolerances"]
    if not isinstance(tols, dict):
        return "baseline 'tolerances' must map metric names to numbers"
    known = set(default_tolerances())
    for entry in (
        content["configurations"].values() if isinstance(content["configurations"], dict) else []
    ):
        if isinstance(entry, dict) and isinstance(entry.get("metrics"), dict):
            known.update(entry["metrics"])
    for key, value in tols.items():
        if key not in known:
            return f"tolerance for unknown metric {key!r}{params_mod.suggest(key, sorted(known))}"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            return f"tolerance {key} = {value!r} must be a number >= 0"
    return ""


def _entry_problem(label: str, entry: Any) -> str:
    if not isinstance(entry, dict) or any(
        k not in entry for k in ("strategy", "params", "metrics", "fills")
    ):
        return f"configuration {label!r} needs strategy, params, metrics and fills"
    if not isinstance(entry["params"], dict) or not isinstance(entry["metrics"], dict):
        return f"configuration {label!r}: params and metrics must be objects"
    fills = entry["fills"]
    if not isinstance(fills, list) or any(
        not isinstance(f, list) or len(f) != len(FILL_FIELDS) for f in fills
    ):
        return f"configuration {label!r}: every fill must be [{', '.join(FILL_FIELDS)}]"
    return ""


# ------------------------------------------------------------------------------ comparing


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


def compare_metric(key: str, old: Any, new: Any, tol: float) -> Row | None:
    """A row when ``new`` moved beyond ``tol`` (absolute) from ``old``; None when it holds."""
    if _is_num(old) and _is_num(new):
        diff = abs(float(new) - float(old))
        return Row(f"metric {key}", old, new, diff, tol) if diff > tol else None
    return None if old == new else Row(f"metric {key}", old, new, None, tol)


def fill_equal(a: list[Any], b: list[Any], price_tol: float) -> bool:
    """Same date, side, size and reason; prices within ``price_tol``."""
    if [a[0], a[1], a[4]] != [b[0], b[1], b[4]] or not (
        _is_num(a[2]) and _is_num(b[2]) and float(a[2]) == float(b[2])
    ):
        return False
    return _is_num(a[3]) and _is_num(b[3]) and abs(float(a[3]) - float(b[3])) <= price_tol


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
    if i < len(old) and i < len(new) and _is_num(old[i][3]) and _is_num(new[i][3]):
        return abs(float(new[i][3]) - float(old[i][3]))
    return None


def format_fill(fill: list[Any]) -> str:
    """``2025-08-26 buy 354 @ 94 (ladder 1)``."""
    date, side, size, price, reason = fill
    size_txt = f"{size:g}" if _is_num(size) else str(size)
    price_txt = f"{price:.10g}" if _is_num(price) else str(price)
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
