"""Shared fixtures: real CRWV history from the data dir (other shared helpers: engine.testing)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

from engine.data.load import DATA_DIR_ENV, load_prices
from engine.testing.browser import Browser, find_chromium


def shared_data_dir() -> Path | None:
    """The data dir named by $CRWV_BT_DATA_DIR when it holds CRWV.csv."""
    env = os.environ.get(DATA_DIR_ENV)
    if env and (Path(env) / "CRWV.csv").exists():
        return Path(env).resolve()
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = shared_data_dir()
    if d is None:
        if os.environ.get("CI"):
            pytest.fail(
                f"CI must set {DATA_DIR_ENV} to a folder holding CRWV.csv (the bundled snapshot: data/)"
            )
        pytest.skip(f"real history not available: set {DATA_DIR_ENV}")
    return d


@pytest.fixture(scope="session")
def crwv(data_dir: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("CRWV", data_dir_=data_dir)


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201
    """A headless Chromium (engine/testing/browser.py), shared by the session.

    Skips only on a developer machine without chromium; under CI (``$CI`` set) a missing
    chromium fails, since ``.ci/run`` installs it.
    """
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium); CI installs it")
    with Browser(binary) as b:
        yield b
