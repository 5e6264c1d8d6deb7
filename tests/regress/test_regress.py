"""engine.regress: baseline file format, loading checks and the comparison, on small hand-made baselines."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from engine.analysis.metrics import METRIC_KEYS
from engine.regress import baseline, compare
from engine.testing.baselines import sample_baseline as content

REGISTRY = {"swing": object, "buy_hold": object}


def moved(cmp: compare.Comparison) -> dict[str, list[str]]:
    return {c.label: [r.item for r in c.rows] for c in cmp.configs if not c.holds}


# ------------------------------------------------------------------------- tolerances


def test_default_tolerances_by_kind() -> None:
    tol = baseline.default_tolerances()
    assert set(tol) == set(METRIC_KEYS) | {"fill_price"}
    assert tol["n_trades"] == 0 and tol["start"] == 0 and tol["max_drawdown_duration"] == 0
    assert tol["total_return"] == 1e-6 and tol["sharpe"] == 1e-6
    assert tol["final_equity"] == 0.01
    assert tol["fill_price"] == 1e-9


def test_merged_tolerances_file_wins() -> None:
    assert baseline.merged_tolerances({"sharpe": 0.5})["sharpe"] == 0.5
    assert baseline.merged_tolerances(None)["sharpe"] == 1e-6


# ------------------------------------------------------------------------- compare


def test_identical_holds() -> None:
    old = content()
    cmp = compare.compare(old, copy.deepcopy(old))
    assert cmp.ok and cmp.n_hold == 2 and moved(cmp) == {}


def test_metric_within_tolerance_holds_beyond_moves() -> None:
    old = content()
    assert compare.compare(old, content(total_return=0.1 + 5e-7)).ok
    cmp = compare.compare(old, content(total_return=0.1 + 2e-6))
    assert not cmp.ok
    assert moved(cmp) == {"swing": ["metric total_return"], "buy_hold": ["metric total_return"]}
    row = cmp.configs[0].rows[0]
    assert (row.old, row.new, row.tolerance) == (0.1, 0.1 + 2e-6, 1e-6)
    assert row.diff == pytest.approx(2e-6)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 10**400])
@pytest.mark.parametrize("side", ["old", "new"])
def test_a_non_finite_number_never_holds(bad: float, side: str) -> None:
    """``diff > tol`` is False for NaN: the comparison must fail it, on either side."""
    good, broken = content(), content(total_return=bad)
    old, new = (broken, good) if side == "old" else (good, broken)
    cmp = compare.compare(old, new)
    assert not cmp.ok and moved(cmp)["swing"] == ["metric total_return"]
    both = compare.compare(broken, copy.deepcopy(broken))  # NaN == NaN is no hold either
    assert not both.ok
    fills = content()
    fills["configurations"]["swing"]["fills"][0][3] = bad
    assert not compare.compare(content(), fills).ok and not compare.compare(fills, content()).ok


def test_count_and_string_metrics_exact() -> None:
    assert not compare.compare(content(), content(n_trades=2)).ok
    assert not compare.compare(content(), content(end="2025-04-04")).ok
    assert not compare.compare(content(), content(profit_factor=3.0)).ok  # "inf" -> number
    assert not compare.compare(content(), content(sqn=0.0)).ok  # null -> number


def test_tolerance_override_in_file_respected() -> None:
    old = content()
    old["tolerances"]["sharpe"] = 0.1
    assert compare.compare(old, content(sharpe=1.55)).ok
    assert not compare.compare(old, content(sharpe=1.7)).ok
    # the new run's tolerances never loosen the check: only the baseline file's count
    new = content(sharpe=1.55)
    new["tolerances"]["sharpe"] = 1.0
    assert not compare.compare(content(), new).ok


def test_moved_fill_names_first_difference() -> None:
    old, new = content(), content()
    new["configurations"]["swing"]["fills"][1] = ["2025-04-02", "sell", 100.0, 129.5, "target 1"]
    cmp = compare.compare(old, new)
    assert moved(cmp) == {"swing": ["fills", "fill #2"]}
    fills_row, detail = cmp.configs[0].rows
    assert fills_row.new == "2 fills, 1 differ from #2"
    assert detail.old == "2025-04-02 sell 100 @ 130 (target 1)"
    assert detail.new == "2025-04-02 sell 100 @ 129.5 (target 1)"
    assert detail.diff == pytest.approx(0.5) and detail.tolerance == 1e-9


def test_fill_price_to_1e9_sizes_and_dates_exact() -> None:
    old = content()
    near = content()
    near["configurations"]["swing"]["fills"][0][3] = 94.0 + 5e-10
    assert compare.compare(old, near).ok
    for field, value in (
        (0, "2025-04-01"),
        (1, "sell"),
        (2, 101.0),
        (3, 94.0 + 2e-9),
        (4, "tranche 2"),
    ):
        new = content()
        new["configurations"]["swing"]["fills"][0][field] = value
        assert moved(compare.compare(old, new)) == {"swing": ["fills", "fill #1"]}, field


def test_extra_and_missing_fills() -> None:
    old, new = content(), content()
    new["configurations"]["buy_hold"]["fills"].append(
        ["2025-04-03", "sell", 100.0, 120.0, "signal"]
    )
    rows = compare.compare(old, new).configs[1].rows
    assert rows[0].old == "1 fills" and rows[0].new.startswith("2 fills")
    assert rows[1].item == "fill #2" and rows[1].old == "(none)"


def test_moved_param_is_a_regression_even_when_results_hold() -> None:
    new = content()
    new["configurations"]["swing"]["params"]["stop"] = 84.0
    cmp = compare.compare(content(), new)
    assert moved(cmp) == {"swing": ["param stop"]}
    assert (cmp.configs[0].rows[0].old, cmp.configs[0].rows[0].new) == (79.99, 84.0)


def test_renamed_param_new_and_gone_configurations() -> None:
    new = content()
    new["configurations"]["swing"] = {
        "strategy": "swing",
        "error": "parameters do not resolve: unknown parameter 'stop'",
    }
    new["configurations"]["rsi"] = new["configurations"].pop("buy_hold")
    cmp = compare.compare(content(), new)
    assert moved(cmp) == {
        "swing": ["error"],
        "rsi": ["configuration"],
        "buy_hold": ["configuration"],
    }
    rows = {c.label: c.rows[0] for c in cmp.configs}
    assert "unknown parameter 'stop'" in rows["swing"].new
    assert rows["rsi"].old == "(not in the baseline)" and rows["buy_hold"].new == "(gone)"


def test_settings_moved_fails_everything() -> None:
    new = content()
    new["settings"]["slippage"] = 0.001
    cmp = compare.compare(content(), new)
    assert not cmp.ok and [r.item for r in cmp.general] == ["setting slippage"]


def test_describe_changes_for_update() -> None:
    new = content()
    new["dataset"]["end"] = "2025-04-04"
    new["dataset"]["fingerprint"] = dict(new["dataset"]["fingerprint"], sha256="cd" * 32, rows=6)
    lines = compare.describe_changes(content(), new)
    assert lines[0] == "data end: 2025-04-03 -> 2025-04-04"
    assert lines[1].startswith("data sha256: abababababab -> cdcdcdcdcdcd (5 -> 6 rows)")
    assert compare.describe_changes(content(), content()) == []


# ------------------------------------------------------------------------- file format


def test_dumps_stable_sorted_one_line_fills() -> None:
    text = baseline.dumps(content())
    assert text.endswith("}\n") and json.loads(text) == content()
    assert text == baseline.dumps(json.loads(text))
    assert '        ["2025-03-31", "buy", 100.0, 94.0, "tranche 1"],\n' in text
    keys = [line.split('"')[1] for line in text.splitlines() if line.startswith('  "')]
    assert keys == sorted(keys) == ["configurations", "dataset", "format", "settings", "tolerances"]


def test_dumps_refuses_nan() -> None:
    with pytest.raises(ValueError):
        baseline.dumps({"x": float("nan")})


def test_round_sig_removes_float_residue() -> None:
    assert baseline.round_sig(0.5568088999999998) == 0.5568089
    assert baseline.round_sig(155680.89000000001) == 155680.89
    assert baseline.round_sig(float("inf")) == float("inf")


# ------------------------------------------------------------------------- loading


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "base.json"
    p.write_text(text, encoding="utf-8")
    return p


def test_load_roundtrip(tmp_path: Path) -> None:
    assert baseline.load_baseline(write(tmp_path, baseline.dumps(content())), REGISTRY) == content()


@pytest.mark.parametrize(
    "mangle, message",
    [
        (lambda t: t.replace('"sharpe": 1.5', '"sharpe": NaN', 1), "holds NaN where a number"),
        (lambda t: t.replace('"sharpe": 1.5', '"sharpe": -Infinity', 1), "holds -Infinity"),
        (lambda t: t.replace('"sharpe": 1.5', '"sharpe": 1e999', 1), "holds 1e999"),
        (lambda t: t.replace('"sharpe": 1.5', '"sharpe": [1.5]', 1), "metric sharpe = [1.5]"),
        (lambda t: t.replace('"sharpe": 1.5', '"sharpe": ' + "9" * 400, 1), "metric sharpe ="),
        (lambda t: t.replace('94.0, "tranche 1"]', 'NaN, "tranche 1"]', 1), "holds NaN"),
        (lambda t: "[" * 100_000, "nested too deeply"),
        (lambda t: t.replace('"format": 1', '"format": ' + "1" * 5000), "not valid JSON"),
        (lambda t: t[: len(t) // 2], "corrupted or truncated"),
        (lambda t: t[:-3], "corrupted or truncated"),
        (lambda t: "", "corrupted or truncated"),
        (lambda t: t.replace('"tranche 1"]', '"tranche 1"],,'), "corrupted or truncated"),
        (lambda t: "[1, 2]", "not a JSON object"),
        (lambda t: t.replace('"tolerances"', '"tolerance"'), "lacks the key 'tolerances'"),
        (lambda t: t.replace('"format": 1', '"format": 9'), "format 9 is not supported"),
        (
            lambda t: t.replace('"sharpe": 1e-06', '"sharpe": -1'),
            "tolerance sharpe = -1 must be a finite number >= 0",
        ),
        (
            lambda t: t.replace('"sharpe": 1e-06', '"sharpe": 1e-06, "sharp": 0.1'),
            "unknown metric 'sharp' (did you mean 'sharpe'?)",
        ),
        (
            lambda t: t.replace('"params": {}', '"parms": {}'),
            "'buy_hold' needs strategy, params, metrics and fills",
        ),
        (
            lambda t: t.replace('"strategy": "buy_hold"', '"strategy": "buy_hodl"'),
            "'buy_hodl', which is not registered (did you mean 'buy_hold'?)",
        ),
    ],
)
def test_unusable_baseline_is_exit_2_one_line(tmp_path: Path, mangle, message: str) -> None:  # noqa: ANN001
    p = write(tmp_path, mangle(baseline.dumps(content())))
    with pytest.raises(baseline.BaselineError) as info:
        baseline.load_baseline(p, REGISTRY)
    text = str(info.value)
    assert message in text and "\n" not in text and "--update" in text
    assert info.value.exit_code == 2


def test_missing_baseline_says_how_to_create(tmp_path: Path) -> None:
    with pytest.raises(
        baseline.BaselineError, match=r"no baseline file; create it with `crwv-bt regress --update"
    ):
        baseline.load_baseline(tmp_path / "nope.json", REGISTRY)
