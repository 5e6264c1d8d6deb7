"""engine.fast.api.check_warmup: asked once per distinct value of the keys the warm-up reads,
with the same refusal (naming a row that is too long for the window) as asking every row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.errors import DataError
from engine.fast import api


def _cols(slow: list[int]) -> dict[str, np.ndarray]:
    n = len(slow)
    return {
        "fast": np.arange(2, 2 + n),
        "slow": np.asarray(slow),
        "hold_bars": np.ones(n, dtype=np.int64),
        "mode": np.asarray(["cross"] * n, dtype=object),
        "atr_stop": np.zeros(n),
    }


def test_a_window_long_enough_for_every_row_passes() -> None:
    api.check_warmup("ma_trend", _cols([20, 40, 60]), 3, 400)


def test_the_row_that_needs_more_bars_is_named() -> None:
    with pytest.raises(
        DataError, match=r"100 bars, but ma_trend with .*'slow': 120.* needs at least"
    ):
        api.check_warmup("ma_trend", _cols([20, 120, 60]), 3, 100)


class _Branchy:
    """A warm-up whose keys depend on a value: ``slow`` matters only in cross mode."""

    @classmethod
    def warmup(cls, p: dict[str, Any]) -> int:
        return int(p["slow"]) if p["mode"] == "cross" else int(p["fast"])


def test_a_warm_up_that_reads_other_keys_for_other_values_is_asked_per_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(api, "strategy_class", lambda name: _Branchy)
    cols = _cols([20, 20, 20])
    cols["mode"] = np.asarray(["cross", "reclaim", "reclaim"], dtype=object)
    cols["fast"] = np.asarray([5, 5, 300])  # the first row reads only mode and slow
    with pytest.raises(DataError, match="'fast': 300"):
        api.check_warmup("x", cols, 3, 100)


def test_answers_are_kept_per_warm_up_and_the_earliest_short_row_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    class _Slow:
        @classmethod
        def warmup(cls, p: dict[str, Any]) -> int:
            calls.append(1)
            return int(p["slow"])

    monkeypatch.setattr(api, "strategy_class", lambda name: _Slow)
    api.check_warmup("x", _cols([20, 40, 20, 40]), 4, 100)
    asked = len(calls)
    assert asked <= 3  # a probe, then once per distinct slow
    api.check_warmup("x", _cols([40, 20, 40]), 3, 100)  # the next chunk: nothing new to ask
    assert len(calls) == asked
    with pytest.raises(DataError, match="'slow': 150"):  # the first of the two short rows
        api.check_warmup("x", _cols([20, 150, 40, 200]), 4, 100)

    class _Other(_Slow):  # another warm-up of the same keys is asked afresh
        @classmethod
        def warmup(cls, p: dict[str, Any]) -> int:
            return 500

    monkeypatch.setattr(api, "strategy_class", lambda name: _Other)
    with pytest.raises(DataError, match="needs at least 501"):
        api.check_warmup("x", _cols([20, 40]), 2, 100)
