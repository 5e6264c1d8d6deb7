"""Reading a run folder back (for :func:`engine.report.run_folder.rebuild_report`): no rerun.

The results are rebuilt from ``metrics.json``, ``equity.csv``, ``trades.csv``, ``fills.csv``
and ``prices.csv`` alone; ``position`` is the running sum of the fills (shares held at each
close), as the harness records it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.data.load import read_price_csv
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
    the fills (shares held at each close), as the harness records it.
    """
    run_dir = Path(run_dir)
    doc = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    equity = pd.read_csv(run_dir / "equity.csv", index_col="date", parse_dates=["date"])
    trades = pd.read_csv(run_dir / "trades.csv", parse_dates=["entry_date", "exit_date"])
    fills = pd.read_csv(run_dir / "fills.csv", parse_dates=["date"])
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
