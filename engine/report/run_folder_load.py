"""Reading a run folder back (for :func:`engine.report.run_folder.rebuild_report`): no rerun.

The results are rebuilt from ``metrics.json``, ``equity.csv``, ``trades.csv``, ``fills.csv``
and ``prices.csv`` alone; ``position`` is the running sum of the fills (shares held at each
close), as the harness records it.

Nothing is trusted: each file is checked against what the report needs before it is used
(valid JSON object; ``order`` naming entries of ``strategies``; every metric a finite number,
``null``, ``"inf"`` or, for ``start``/``end``, a date; the tables' columns, dates and numbers;
each strategy's equity column ending on its metrics' ``end`` date at its ``final_equity``,
so a truncated or edited ``equity.csv`` is found). A problem is one line naming the file
(:class:`RunFolderError`).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.data.load import read_price_csv
from engine.errors import UserError, os_error, short_path
from engine.result import FILL_COLUMNS, TRADE_COLUMNS, RunResult


def metrics_from_json(values: dict[str, Any]) -> pd.Series:
    """A metrics Series back from its JSON form (None -> NaN, "inf" -> inf)."""
    back = {
        k: (np.nan if v is None else float(v) if v in ("inf", "-inf") else v)
        for k, v in values.items()
    }
    return pd.Series(back, dtype=object)


def load_run(
    run_dir: Path,
) -> tuple[list[RunResult], dict[str, pd.Series], pd.DataFrame | None, RunResult | None, dict]:
    """Results, metrics, prices (None without ``prices.csv``), benchmark and ``metrics.json``.

    The results are rebuilt from the folder's files alone; ``position`` is the running sum of
    the fills (shares held at each close), as the harness records it. Each file is checked
    against what the report needs first (:func:`read_doc`, :func:`read_table`,
    :func:`check_equity`): a damaged, truncated or edited file is one line naming it.
    """
    run_dir = Path(run_dir)
    doc = read_doc(run_dir)
    path = run_dir / "equity.csv"
    equity = read_table(path, ("date",), ("date",))
    if equity["date"].isna().any():
        raise _bad(path, "a row has no date")
    equity = equity.set_index("date")
    check_equity(path, equity, doc)
    trades = read_table(
        run_dir / "trades.csv", _TRADE_NEEDS, ("entry_date", "exit_date"), _TRADE_NUMBERS
    )
    fills = read_table(run_dir / "fills.csv", _FILL_NEEDS, ("date",), _FILL_NUMBERS)
    # an empty text cell reads back as NaN: make it the empty string it was
    fills[["side", "order_type", "reason"]] = fills[["side", "order_type", "reason"]].fillna("")
    trades["exit_reason"] = trades["exit_reason"].fillna("")
    results = [
        _result_from_files(name, doc["strategies"][name], equity, trades, fills)
        for name in doc["order"]
    ]
    metrics = {n: metrics_from_json(doc["strategies"][n]["metrics"]) for n in doc["order"]}
    bench = _benchmark_from_files(doc, results, equity)
    prices = None
    if (run_dir / "prices.csv").exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prices = read_price_csv(run_dir / "prices.csv")
    return results, metrics, prices, bench, doc


def _result_from_files(
    name: str, entry: dict, equity: pd.DataFrame, trades: pd.DataFrame, fills: pd.DataFrame
) -> RunResult:
    eq = equity[name].dropna().astype(float).rename("equity")
    # reindex: a folder written before a column existed reads it as NaN
    f = fills.loc[fills["strategy"] == name].reindex(columns=FILL_COLUMNS).reset_index(drop=True)
    t = trades.loc[trades["strategy"] == name].reindex(columns=TRADE_COLUMNS).reset_index(drop=True)
    if len(t):
        t["is_open"] = t["is_open"].astype(str).str.lower().eq("true")
    signed = np.where(f["side"] == "buy", 1.0, -1.0) * f["size"].to_numpy(float)
    held = pd.Series(signed, index=pd.DatetimeIndex(f["date"])).groupby(level=0).sum()
    position = held.reindex(eq.index, fill_value=0.0).cumsum().rename("position")
    return RunResult(
        strategy=name,
        params=_in_order(entry.get("params", {}), entry.get("param_order", [])),
        ticker=entry.get("ticker", entry.get("fingerprint", {}).get("ticker", "")),
        equity=eq,
        position=position,
        trades=t,
        fills=f,
        fingerprint=entry.get("fingerprint", {}),
        settings=entry.get("settings", {}),
        levels=entry.get("levels", {}),
        notes=tuple(entry.get("notes", ())),
        rule=str(entry.get("rule", "")),
    )


def _in_order(values: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """``values`` with the keys named in ``order`` first, in that order."""
    return {**{k: values[k] for k in order if k in values}, **values}


def _benchmark_from_files(
    doc: dict, results: list[RunResult], equity: pd.DataFrame
) -> RunResult | None:
    name = doc.get("benchmark")
    if not name:
        return None
    found = next((r for r in results if r.strategy == name), None)
    if found is not None or name not in equity:
        return found
    first = results[0] if results else None
    eq = equity[name].dropna().astype(float).rename("equity")
    return RunResult(
        strategy=name,
        params={},
        ticker=first.ticker if first else "",
        equity=eq,
        position=pd.Series(np.nan, index=eq.index),
        trades=pd.DataFrame(columns=TRADE_COLUMNS),
        fills=pd.DataFrame(columns=FILL_COLUMNS),
        fingerprint=first.fingerprint if first else {},
        settings=first.settings if first else {},
    )


# ------------------------------------------------------------------------------- validation
#: What `crwv-bt report` needs of each table: its required columns.
_TRADE_NEEDS = ("strategy", "entry_date", "exit_date", "exit_reason", "is_open")
_FILL_NEEDS = ("strategy", "date", "side", "size", "order_type", "reason")
_TRADE_NUMBERS = (
    "entry_price",
    "exit_price",
    "size",
    "pnl",
    "return",
    "bars_held",
    "mae",
    "mfe",
    "commission",
    "risk_budget",
    "risk_at_entry",
    "r_multiple",
)
_FILL_NUMBERS = (
    "size",
    "price",
    "value",
    "commission",
    "resized_from",
    "risk_stop",
    "risk_budget",
)
_TEXT_METRICS = frozenset(["start", "end"])
_FIX = "rerun the backtest into this folder (`crwv-bt run --out DIR`) to rewrite it"


class RunFolderError(UserError):
    """A run folder file that `crwv-bt report` cannot use (names the file and the problem)."""


def _bad(path: Path, what: str) -> RunFolderError:
    return RunFolderError(f"{short_path(path)}: {what}; {_FIX}")


def read_doc(run_dir: Path) -> dict[str, Any]:
    """``metrics.json``, checked against what the report reads (one line naming the problem)."""
    path = run_dir / "metrics.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _bad(path, "missing") from None
    except OSError as exc:
        raise os_error(exc, "read", path) from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, deep nesting
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise _bad(path, f"not valid JSON ({reason})") from None
    problem = doc_problem(doc)
    if problem:
        raise _bad(path, problem)
    return doc


def doc_problem(doc: Any) -> str:
    """What is wrong with a parsed ``metrics.json`` ('' when the report can use it)."""
    if not isinstance(doc, dict):
        return f"is a JSON {type(doc).__name__}, not a run's metrics (an object with order and strategies)"
    order, strategies = doc.get("order"), doc.get("strategies")
    if not isinstance(order, list) or not order or not all(isinstance(n, str) for n in order):
        return "'order' must list the strategies' names"
    if len(set(order)) != len(order):
        return "'order' names a strategy twice"
    if not isinstance(strategies, dict):
        return "'strategies' must be an object (one entry per strategy)"
    if doc.get("benchmark") is not None and not isinstance(doc.get("benchmark"), str):
        return "'benchmark' must be a strategy name or null"
    for name in order:
        problem = _entry_problem(name, strategies.get(name))
        if problem:
            return problem
    return ""


def _entry_problem(name: str, entry: Any) -> str:
    if not isinstance(entry, dict):
        return f"strategy {name!r} of 'order' has no entry in 'strategies'"
    kinds: dict[str, type] = {"params": dict, "fingerprint": dict, "settings": dict}
    kinds |= {"levels": dict, "notes": list, "param_order": list, "metrics": dict}
    for key, kind in kinds.items():
        if key in entry and not isinstance(entry[key], kind):
            return f"{name}: '{key}' must be a JSON {'object' if kind is dict else 'list'}"
    if "metrics" not in entry:
        return f"{name}: no 'metrics'"
    for key, value in entry["metrics"].items():
        if not _metric_ok(key, value):
            return f'{name}: metric {key} = {_short(value)} is not a number, null or "inf"'
    return ""


def _metric_ok(key: str, value: Any) -> bool:
    if value is None or value in ("inf", "-inf"):
        return True
    if isinstance(value, str):
        return key in _TEXT_METRICS
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_table(
    path: Path, needs: tuple[str, ...], dates: tuple[str, ...], numbers: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A run folder CSV with the columns ``needs``; ``dates`` parsed and ``numbers`` (those
    present) made numeric: a cell that is neither is an error, an empty one NaT / NaN."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise _bad(path, "missing") from None
    except OSError as exc:
        raise os_error(exc, "read", path) from None
    except pd.errors.EmptyDataError:
        raise _bad(path, "empty (not even a header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise _bad(path, f"not a readable CSV ({first[:80]})") from None
    missing = [c for c in needs if c not in frame.columns]
    if missing:
        return _missing_columns(path, frame, missing)
    for col in dates:
        parsed = pd.to_datetime(frame[col], errors="coerce", format="%Y-%m-%d")
        bad = frame[col].notna() & parsed.isna()
        if bad.any():
            raise _bad(path, f"{col} {_short(str(frame[col][bad].iloc[0]))} is not a date")
        frame[col] = parsed
    for col in (c for c in numbers if c in frame.columns):
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = frame[col].notna() & values.isna()
        if bad.any():
            raise _bad(path, f"{col} {_short(str(frame[col][bad].iloc[0]))} is not a number")
        frame[col] = values
    return frame


def _missing_columns(path: Path, frame: pd.DataFrame, missing: list[str]) -> pd.DataFrame:
    have = ", ".join(map(str, frame.columns[:6])) or "none"
    raise _bad(path, f"has no column {missing[0]!r} (its columns: {have})")


def check_equity(path: Path, equity: pd.DataFrame, doc: dict[str, Any]) -> None:
    """Every strategy of ``order`` has a numeric column whose last value and date are the
    ``final_equity`` and ``end`` of its metrics (a truncated or edited file contradicts them)."""
    bench = doc.get("benchmark")
    extra = [bench] if bench in equity.columns and bench not in doc["order"] else []
    for name in [*doc["order"], *extra]:
        if name not in equity.columns:
            have = ", ".join(map(str, equity.columns[:6])) or "none"
            raise _bad(path, f"has no column for strategy {name!r} (its columns: {have})")
        values = pd.to_numeric(equity[name], errors="coerce")
        if (values.isna() & equity[name].notna()).any() or not np.isfinite(values.dropna()).all():
            raise _bad(path, f"column {name!r} holds values that are not finite numbers")
        equity[name] = values
        col = values.dropna()
        if name in extra:
            continue
        if col.empty:
            raise _bad(path, f"column {name!r} is empty")
        metrics = doc["strategies"][name]["metrics"]
        final, end = metrics.get("final_equity"), metrics.get("end")
        last_date = pd.Timestamp(col.index[-1]).strftime("%Y-%m-%d")
        if isinstance(end, str) and end != last_date:
            raise _bad(
                path,
                f"{name!r} ends {last_date} but metrics.json says {end} (truncated or edited?)",
            )
        if _metric_ok("final_equity", final) and isinstance(final, (int, float)):
            if not abs(float(col.iloc[-1]) - float(final)) <= 0.005 + 1e-9 * abs(float(final)):
                raise _bad(
                    path,
                    f"{name!r} ends at {col.iloc[-1]:,.2f} but metrics.json says final equity "
                    f"{float(final):,.2f} (truncated or edited?)",
                )
