"""Fixtures of the report tests: a seeded price window and hand-made runs on it."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.result import RunResult
from engine.testing.prices import chart_prices
from engine.testing.runs import demo_runs


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return chart_prices()


@pytest.fixture(scope="module")
def runs(prices: pd.DataFrame) -> list[RunResult]:
    return demo_runs(prices)
