"""Regression baselines: pin every strategy configuration's fills and metrics on one data set.

A baseline (``results/baselines/<name>.json``) holds, for one price window:

* ``dataset`` - ticker, first and last date, and the fingerprint (rows, sha256) of the traded
  prices and of the benchmark (SPY) used for alpha/beta;
* ``settings`` - cash and costs the runs used (the engine's current defaults);
* ``tolerances`` - absolute tolerance per metric (and ``fill_price``); edit them in the file,
  ``--update`` keeps the edits;
* ``configurations`` - one entry per registered strategy with its defaults (label = registry
  name) and per variant of the variants file (label = variant name): ``strategy``, resolved
  ``params``, ``metrics`` (every key of :func:`engine.analysis.metrics.compute_metrics`) and ``fills``
  (``[date, side, size, price, reason]``, in execution order).

The configurations are always rebuilt from the *current* code (:mod:`engine.regress.run`), so a
changed default, rule, dependency or engine shows up as a moved parameter, fill or metric; the
comparison rules are :mod:`engine.regress.compare`'s.

The file is deterministic: keys sorted, floats rounded to 12 significant digits (fill prices
to 10 decimals), no timestamps and no paths, so the same code and data write the same bytes.
Formatting of the comparison (terminal table, JUnit XML, Markdown) is in
:mod:`engine.regress.formats`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from engine import params as params_mod
from engine.analysis.metrics import METRIC_KEYS
from engine.errors import UserError
from engine.files import plain_json
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


def rounded(value: Any) -> Any:
    """Plain JSON data (:func:`engine.files.plain_json`) with every float rounded by
    :func:`round_sig`: parameters and metrics as the baseline file stores them."""
    value = plain_json(value)
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return round_sig(value) if isinstance(value, float) else value


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
        "params": rounded(result.params),
        "metrics": rounded(metrics),
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
        content = parse_json(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"{p}: baseline is corrupted or truncated (invalid JSON, {exc.msg.lower()}: line {exc.lineno} column {exc.colno}); {fix}"
        ) from None
    except NonFiniteError as exc:
        raise BaselineError(
            f"{p}: baseline holds {exc} where a number belongs (NaN and infinity would switch "
            f"the comparison off); {fix}"
        ) from None
    except RecursionError:
        raise BaselineError(f"{p}: baseline is nested too deeply to be a baseline; {fix}") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise BaselineError(f"{p}: baseline is not valid JSON ({exc}); {fix}") from None
    problem = baseline_problem(content)
    if problem:
        raise BaselineError(f"{p}: {problem}; {fix}")
    for label, entry in content["configurations"].items():
        # a rule is known by its ref, which changes with the rule: the comparison reports it
        if entry["strategy"] not in registry and not str(entry["strategy"]).startswith("rule:"):
            raise BaselineError(
                f"{p}: configuration {label!r} uses strategy {entry['strategy']!r}, which is not registered"
                f"{params_mod.suggest(str(entry['strategy']), list(registry))}; if the strategy was renamed "
                "or removed on purpose run `crwv-bt regress --update`"
            )
    return content


class NonFiniteError(ValueError):
    """A baseline number that is NaN or infinite (its text is the message)."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise NonFiniteError(text)
    return value


def _no_constant(text: str) -> float:
    raise NonFiniteError(text)


def parse_json(text: str) -> Any:
    """``json.loads`` that refuses ``NaN``, ``Infinity`` and overflowing numbers
    (:class:`NonFiniteError`): a baseline stores a non-finite metric as ``null`` or ``"inf"``,
    never as a number, and a NaN compares as "within any tolerance"."""
    return json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)


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
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not 0 <= value < math.inf
        ):
            return f"tolerance {key} = {value!r} must be a finite number >= 0"
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
    for fill in fills:
        if not (_finite_number(fill[2]) and _finite_number(fill[3])):
            return f"configuration {label!r}: fill {fill!r} needs a finite size and price"
    for key, value in entry["metrics"].items():
        if isinstance(value, (dict, list)) or (
            isinstance(value, (int, float)) and not _finite_number(value)
        ):
            return (
                f"configuration {label!r}: metric {key} = {value!r} is not a number, text or null"
            )
    return ""


def _finite_number(value: Any) -> bool:
    """An int or float (not a bool) that a float holds finitely."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer of more than 308 digits
        return False
