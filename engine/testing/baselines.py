"""Fixtures for the regression check: a data dir of synthetic prices, variants, a baseline.

* :func:`write_data_dir` - a folder with ``CRWV.csv`` (and ``SPY.csv``) of
  :func:`engine.testing.prices.walk_prices`, as a data dir;
* :data:`VARIANTS` - a small variants file's text;
* :func:`sample_baseline` - a two-configuration baseline shaped as
  :func:`engine.regress.run.build_content` writes it (values made up).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from engine.analysis.metrics import METRIC_KEYS
from engine.data.load import write_price_csv
from engine.regress.baseline import default_tolerances
from engine.testing.prices import walk_prices


def write_data_dir(folder: Path, n: int = 260, seed: int = 7, spy: bool = False) -> Path:
    """``folder`` with CRWV.csv (and SPY.csv when ``spy``) of :func:`walk_prices`."""
    folder.mkdir(parents=True, exist_ok=True)
    write_price_csv(walk_prices(n, seed), folder / "CRWV.csv")
    if spy:
        write_price_csv(walk_prices(n, seed + 1, level=500.0), folder / "SPY.csv")
    return folder


VARIANTS = """
[tight_stop]
strategy = "swing"
params = { stop = 84.0 }

[rsi_mid_exit]
strategy = "rsi"
params = { exit_below_mid = true }
"""


def sample_baseline(**metric_overrides: object) -> dict[str, Any]:
    """A two-configuration baseline as build_content writes it (values made up, shape real)."""
    metrics: dict[str, object] = {key: 0.0 for key in METRIC_KEYS}
    metrics.update(start="2025-03-28", end="2025-04-03", bars=5, n_trades=1, n_open=0)
    metrics.update(
        total_return=0.1, sharpe=1.5, final_equity=110_000.0, profit_factor="inf", sqn=None
    )
    metrics.update(metric_overrides)
    fills = [
        ["2025-03-31", "buy", 100.0, 94.0, "tranche 1"],
        ["2025-04-02", "sell", 100.0, 130.0, "target 1"],
    ]
    return {
        "format": 1,
        "dataset": {
            "name": "tiny",
            "ticker": "CRWV",
            "start": "2025-03-28",
            "end": "2025-04-03",
            "fingerprint": {
                "ticker": "CRWV",
                "first": "2025-03-28",
                "last": "2025-04-03",
                "rows": 5,
                "sha256": "ab" * 32,
            },
            "benchmark": None,
        },
        "settings": {"cash": 100_000.0, "fractional": False, "slippage": 0.0005},
        "tolerances": default_tolerances(),
        "configurations": {
            "swing": {
                "strategy": "swing",
                "params": {"stop": 79.99, "ladder": [94.0, 90.0]},
                "metrics": dict(metrics),
                "fills": fills,
            },
            "buy_hold": {
                "strategy": "buy_hold",
                "params": {},
                "metrics": dict(metrics),
                "fills": copy.deepcopy(fills[:1]),
            },
        },
    }
