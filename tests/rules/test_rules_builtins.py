"""The shipped ``strategies/rules/article.toml`` rules have the fills of the classes they restate.

Each rule runs through the backtrader rule strategy and its class through the harness, on real
CRWV with the defaults and on seeded synthetic paths (gaps, ties, round levels) with random
parameters the two share; fills must agree in date, side, size, order type and price (1e-9).
Reasons are compared through the one naming difference: the classes tag signal entries and
exits ``signal``, rules ``entry`` / ``exit`` (a stop is ``stop`` / ``stop loss``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.backtest.harness import run_backtest
from engine.result import Costs
from engine.rules import load_rules
from engine.testing.prices import KINDS, synthetic_prices
from strategies import STRATEGIES
from strategies.rule import rule_strategy

BOOK = load_rules(Path(__file__).resolve().parents[2] / "strategies" / "rules" / "article.toml")
REASONS = {("buy", "signal"): "entry", ("sell", "signal"): "exit", ("sell", "stop"): "stop loss"}


def _ma_trend(rng: np.random.Generator, bars: int) -> tuple[dict, dict]:
    slow, hold = int(rng.integers(2, bars // 2)), int(rng.integers(1, 6))
    return {"slow": slow, "hold_bars": hold}, {"slow": slow, "hold_bars": hold, "fast": 1}


def _ma_cross(rng: np.random.Generator, bars: int) -> tuple[dict, dict]:
    slow = int(rng.integers(3, bars // 2))
    fast = int(rng.integers(1, slow))
    return {"fast": fast, "slow": slow}, {"fast": fast, "slow": slow, "mode": "cross"}


def _macd(rng: np.random.Generator, bars: int) -> tuple[dict, dict]:
    slow = int(rng.integers(3, bars // 3))
    p = {"fast": int(rng.integers(1, slow)), "slow": slow, "signal": int(rng.integers(1, 10))}
    zero = bool(rng.random() < 0.4)
    return {**p, "above_zero": zero}, {**p, "above_zero": zero}


def _rsi(rng: np.random.Generator, bars: int) -> tuple[dict, dict]:
    p = {
        "period": int(rng.integers(1, 20)),
        "oversold": float(rng.choice([20, 30, 40.5])),
        "overbought": float(rng.choice([60, 70, 80])),
        "stop_pct": float(rng.choice([0.0, 0.03, 0.1])),
    }
    return p, p


def _confluence(rng: np.random.Generator, bars: int) -> tuple[dict, dict]:
    slow = int(rng.integers(3, 25))
    p = {
        "sma_period": int(rng.integers(1, 30)),
        "rsi_period": int(rng.integers(1, 15)),
        "rsi_mid": float(rng.choice([40, 50, 55.5])),
    }
    macd = {"fast": int(rng.integers(1, slow)), "slow": slow, "signal": int(rng.integers(1, 9))}
    cls = {"macd_fast": macd["fast"], "macd_slow": slow, "macd_signal": macd["signal"]}
    return {**p, **macd}, {**p, **cls}


def _none(rng: np.random.Generator, bars: int) -> tuple[dict, dict]:
    return {}, {}


PAIRS = {  # rule -> (class, random (rule params, class params))
    "ma_trend": ("ma_trend", _ma_trend),
    "ma_cross": ("ma_trend", _ma_cross),
    "macd": ("macd", _macd),
    "rsi": ("rsi", _rsi),
    "confluence": ("confluence", _confluence),
    "buy_hold": ("buy_hold", _none),
}


def same_fills(rule: str, cls: str, prices: pd.DataFrame, rp: dict, cp: dict, **kw) -> list[str]:  # noqa: ANN003
    a = run_backtest(rule_strategy(BOOK.get(rule)), prices, rp, **kw).fills
    b = run_backtest(STRATEGIES[cls], prices, cp, **kw).fills
    if len(a) != len(b):
        return [f"{len(a)} fills against the class's {len(b)}"]
    out = []
    for i, (x, y) in enumerate(zip(a.itertuples(), b.itertuples(), strict=True)):
        mine = (x.date, x.side, x.size, x.order_type, x.reason)
        theirs = (y.date, y.side, y.size, y.order_type, REASONS.get((y.side, y.reason), y.reason))
        if mine != theirs or abs(x.price - y.price) > 1e-9:
            out.append(f"fill {i}: rule {mine} {x.price}, class {theirs} {y.price}")
    return out


def test_every_rule_of_the_file_is_paired_with_a_class() -> None:
    assert set(PAIRS) == set(BOOK.rules)


@pytest.mark.parametrize("rule", sorted(PAIRS))
def test_rules_equal_their_classes_on_crwv(rule: str, crwv: pd.DataFrame) -> None:
    cls, _ = PAIRS[rule]
    rp, cp = ({}, {"mode": "cross"}) if rule == "ma_cross" else ({}, {})
    assert same_fills(rule, cls, crwv, rp, cp) == []


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("rule", sorted(PAIRS))
def test_rules_equal_their_classes_on_synthetic_paths(rule: str, seed: int) -> None:
    cls, draw = PAIRS[rule]
    rng = np.random.default_rng(7_000 + 97 * seed + len(rule))
    bars = int(rng.integers(50, 120))
    prices = synthetic_prices(int(rng.integers(0, 2**31)), bars, KINDS[seed % len(KINDS)])
    rp, cp = draw(rng, bars)
    costs = [Costs(), Costs(0.0, 0.0, 0.0, 0.0), Costs(0.01, 2.0, 0.005, 0.003)][seed % 3]
    cash = [100_000.0, 2_500.0, 10_000.0][seed % 3]
    assert same_fills(rule, cls, prices, rp, cp, costs=costs, cash=cash) == []
