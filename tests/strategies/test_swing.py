"""SwingPlan on hand-made paths: the ladder, the stop, the targets, with exact fills."""

from __future__ import annotations

import pytest

from engine.backtest.harness import run_backtest
from engine.errors import ParamError
from engine.params import resolve
from engine.testing.prices import bars
from engine.testing.runs import NO_COSTS, fills_list
from strategies.swing import SwingPlan, relative_levels

ACTIVE = {"active_from": "2025-08-19"}  # bar 1 of the paths below (bar 0 is 2025-08-18)

# bar 0 flat at 100 (plan armed on its close), then down through 94, 90, 86
LADDER = [(100,), (99, 100, 93, 95), (95, 96, 89.5, 91), (91, 92, 85, 88)]
# 90,000 of cash in three tranches of 30,000: 319 @ 94, 333 @ 90, 348 @ 86 = 1,000 shares
TRANCHE_FILLS = [
    ("2025-08-19", "buy", 319.0, 94.0, "tranche 1"),
    ("2025-08-20", "buy", 333.0, 90.0, "tranche 2"),
    ("2025-08-21", "buy", 348.0, 86.0, "tranche 3"),
]
AVG_ENTRY = (319 * 94 + 333 * 90 + 348 * 86) / 1000  # 89.884


def run(path, **params):  # noqa: ANN001, ANN201
    return run_backtest(SwingPlan, bars(path), {**ACTIVE, **params}, cash=90_000, costs=NO_COSTS)


def test_ladder_then_both_targets() -> None:
    path = LADDER + [(88, 100, 87, 99), (120, 131, 119, 129), (129, 151, 128, 149), (149,)]
    res = run(path)
    assert fills_list(res) == TRANCHE_FILLS + [
        ("2025-08-25", "sell", 500.0, 130.0, "target 1"),
        ("2025-08-26", "sell", 500.0, 150.0, "target 2"),
    ]
    t = res.trades.iloc[0]
    assert t["exit_reason"] == "target 2" and t["entry_price"] == pytest.approx(AVG_ENTRY)
    assert res.levels["active_from"] == "2025-08-19" and res.levels["active_to"] == "2025-08-26"


def test_gap_below_stop_fills_at_open() -> None:
    res = run(LADDER + [(75, 76, 70, 72), (72,)])
    assert fills_list(res) == TRANCHE_FILLS + [("2025-08-22", "sell", 1000.0, 75.0, "stop")]
    assert res.trades["exit_reason"].tolist() == ["stop"]


def test_stop_touched_inside_bar_fills_at_stop_price() -> None:
    res = run(LADDER + [(85, 86, 78, 79), (79,)])
    assert fills_list(res)[-1] == ("2025-08-22", "sell", 1000.0, 79.99, "stop")


def test_plan_not_active_when_zone_is_touched() -> None:
    # default active_from 2025-08-25: the dip to 86 on 08-19..08-21 comes before publication
    path = LADDER + [(95,), (96, 97, 95, 96), (97,)]
    res = run_backtest(SwingPlan, bars(path), cash=90_000, costs=NO_COSTS)
    assert res.fills.empty
    assert res.levels["active_from"] == "2025-08-25"


def test_session_touching_stop_and_target_counts_as_stopped() -> None:
    res = run(LADDER + [(100, 135, 75, 100), (100,)])
    assert fills_list(res)[-1] == ("2025-08-22", "sell", 1000.0, 79.99, "stop")
    assert len(res.fills) == 4  # the OCO group cancelled target 1


def test_close_mode_stop_exits_next_open() -> None:
    res = run(LADDER + [(85, 86, 78, 79), (78.5, 80, 77, 79), (79,)], stop_mode="close")
    assert fills_list(res)[-1] == ("2025-08-25", "sell", 1000.0, 78.5, "stop")
    # an intraday dip below 79.99 that closes above does not exit in close mode
    res2 = run(LADDER + [(85, 86, 78, 82), (82,)], stop_mode="close")
    assert len(res2.fills) == 3


def test_breakeven_after_first_target() -> None:
    path = LADDER + [(88, 100, 87, 99), (120, 131, 119, 129), (100, 101, 85, 86), (86,)]
    res = run(path, breakeven_after_t1=True)
    assert fills_list(res)[-2:] == [
        ("2025-08-25", "sell", 500.0, 130.0, "target 1"),
        ("2025-08-26", "sell", 500.0, round(AVG_ENTRY, 9), "stop"),
    ]
    plain = run(path)
    assert len(plain.fills) == 4  # without break-even the rest stays open above 79.99


def test_stop_shrinks_as_targets_fill_and_covers_every_tranche() -> None:
    path = LADDER + [(88, 100, 87, 99), (120, 131, 119, 129), (100, 101, 70, 75), (75,)]
    res = run(path)
    assert fills_list(res)[-1] == ("2025-08-26", "sell", 500.0, 79.99, "stop")


def test_rearm_waits_for_close_above_zone_and_never_buys_below_stop() -> None:
    path = LADDER + [(75, 76, 70, 72), (80, 86, 79, 85), (86, 97, 85, 96), (95, 96, 93, 95), (95,)]
    res = run(path, rearm=True)
    fills = fills_list(res)
    assert fills[3] == ("2025-08-22", "sell", 1000.0, 75.0, "stop")
    # 2025-08-25 closes at 85 (inside the zone): no re-arm; 08-26 closes at 96 > 94: ladder re-sent
    assert fills[4][:2] == ("2025-08-27", "buy") and fills[4][3] == 94.0
    assert len(fills) == 5
    spent = run(path)
    assert len(spent.fills) == 4  # without rearm the plan is spent after the stop


def test_max_wait_days_cancels_unfilled_tranches() -> None:
    path = [(100,), (99, 100, 93, 95), (95,), (96,), (96,), (95, 95, 85, 88), (88,)]
    res = run(path, max_wait_days=3)
    assert fills_list(res) == [TRANCHE_FILLS[0]]
    assert len(run(path).fills) == 3


def test_relative_levels_from_close_before_active_from() -> None:
    path = [(93.99,)] + LADDER[1:]
    res = run(path, levels="relative")
    assert res.levels["ladder"] == [93.99, 90.23, 86.47]
    assert res.levels["stop"] == 79.89 and res.levels["targets"] == [126.89, 150.38]
    assert relative_levels(93.99, resolve(SwingPlan, {"levels": "relative"})) == (
        (93.99, 90.23, 86.47),
        79.89,
        (126.89, 150.38),
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stop": 90.0}, "stop 90 is at or above the lowest tranche 86"),
        ({"scale_out": "0.5,0.4"}, "summing to 1"),
        ({"targets": "130"}, "1 targets but 2 scale_out"),
        ({"targets": "92,150"}, "targets must be above the ladder"),
        ({"stop_mode": "weekly"}, "choose one of intraday, close"),
        (
            {"levels": "relative", "stop_pct": 0.05, "ladder_step_pct": 0.04},
            "stop at or above the lowest tranche",
        ),
        ({"active_from": "soon"}, "not a date"),
        ({"max_wait_days": -1}, "max_wait_days must be >= 0"),
    ],
)
def test_impossible_combinations_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(ParamError, match=message):
        resolve(SwingPlan, overrides)


def test_article_plan_on_real_crwv(crwv) -> None:  # noqa: ANN001
    res = run_backtest(SwingPlan, crwv)
    got = [(d, s, r) for d, s, _, _, r in fills_list(res)]
    assert got == [
        ("2025-08-25", "buy", "tranche 1"),
        ("2025-08-25", "buy", "tranche 2"),
        ("2025-09-04", "buy", "tranche 3"),
        ("2025-09-22", "sell", "target 1"),
        ("2025-10-10", "sell", "target 2"),
    ]


def test_close_stop_exit_then_rearm() -> None:
    # regression: notifications carry order clones, so the market exit must be matched by ref,
    # else the plan never sees its exit complete and never re-arms
    path = LADDER + [
        (85, 86, 78, 79),
        (78.5, 80, 77, 79),
        (90, 97, 89, 96),
        (95, 96, 93, 95),
        (95,),
    ]
    res = run(path, stop_mode="close", rearm=True)
    fills = fills_list(res)
    assert fills[3] == ("2025-08-25", "sell", 1000.0, 78.5, "stop")
    assert fills[4][:2] == ("2025-08-27", "buy") and fills[4][4] == "tranche 1"
