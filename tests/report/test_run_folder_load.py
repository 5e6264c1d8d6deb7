"""``crwv-bt report DIR`` checks what it reads (engine.report.run_folder_load): one line each."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.report import run_folder
from engine.result import RunResult


@pytest.fixture(scope="module")
def folder(tmp_path_factory, runs: list[RunResult], prices) -> Path:  # noqa: ANN001
    from engine.analysis.metrics import compute_metrics

    out = tmp_path_factory.mktemp("load") / "run"
    metrics = {r.strategy: compute_metrics(r.equity, r.trades) for r in runs}
    run_folder.write_run(out, runs, metrics, prices, plots=False)
    return out


def _json(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        doc = json.loads((d / "metrics.json").read_text())
        edit(doc)  # in place
        (d / "metrics.json").write_text(json.dumps(doc))

    return apply


def _first(doc: dict) -> dict:
    return doc["strategies"][doc["order"][0]]


def _set_metric(value: object) -> Callable[[Path], None]:
    return _json(lambda doc: _first(doc)["metrics"].__setitem__("sharpe", value))


def _text(name: str, text: str) -> Callable[[Path], None]:
    return lambda d: (d / name).write_text(text)


def _gone(name: str) -> Callable[[Path], None]:
    return lambda d: (d / name).unlink()


def _truncate(d: Path) -> None:
    lines = (d / "equity.csv").read_text().splitlines(keepends=True)
    (d / "equity.csv").write_text("".join(lines[:-10]))


def _rename_column(d: Path) -> None:
    text = (d / "equity.csv").read_text()
    head, rest = text.split("\n", 1)
    (d / "equity.csv").write_text(head.replace("swing", "swang") + "\n" + rest)


TAMPERED = {
    "invalid metrics.json": (_text("metrics.json", "{oops"), "metrics.json: not valid JSON"),
    "empty metrics.json": (_text("metrics.json", ""), "metrics.json: not valid JSON"),
    "list metrics.json": (_text("metrics.json", "[]"), "metrics.json: is a JSON list"),
    "deep metrics.json": (_text("metrics.json", "[" * 100_000), "metrics.json: not valid JSON"),
    "no order": (_json(lambda doc: doc.pop("order")), "'order' must list"),
    "order names nothing": (
        _json(lambda doc: doc["order"].append("x")),
        "'x' of 'order' has no entry",
    ),
    "a list as a metric": (_set_metric([1, 2]), "metric sharpe = [1, 2] is not a number"),
    "text as a metric": (_set_metric("high"), 'metric sharpe = "high" is not a number'),
    "params a list": (_json(lambda doc: _first(doc).__setitem__("params", [])), "'params' must be"),
    "no equity.csv": (_gone("equity.csv"), "equity.csv: missing"),
    "garbage equity.csv": (_text("equity.csv", '\x00\x01garbage\n"\n'), "equity.csv:"),
    "empty equity.csv": (_text("equity.csv", ""), "equity.csv: empty"),
    "renamed column": (_rename_column, "equity.csv: has no column for strategy 'swing'"),
    "text in equity": (
        _text("equity.csv", "date,swing,buy_hold\n2025-03-28,abc,1\n"),
        "not finite numbers",
    ),
    "bad date": (
        _text("equity.csv", "date,swing,buy_hold\nsoon,1,1\n"),
        'date "soon" is not a date',
    ),
    "truncated equity.csv": (_truncate, "(truncated or edited?)"),
    "no trades.csv": (_gone("trades.csv"), "trades.csv: missing"),
    "no fills.csv": (_gone("fills.csv"), "fills.csv: missing"),
    "fills without size": (
        _text("fills.csv", "strategy,date\n"),
        "fills.csv: has no column 'side'",
    ),
    "text as a fill size": (
        lambda d: (d / "fills.csv").write_text(
            (d / "fills.csv").read_text().replace(",buy,", ",buy,lots;", 1)
        ),
        "fills.csv: ",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_folder_is_one_line_naming_the_file(
    folder: Path, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tamper, message = TAMPERED[case]
    d = tmp_path / "run"
    shutil.copytree(folder, d)
    tamper(d)
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before  # nothing rewritten


def test_an_intact_folder_still_rebuilds(folder: Path, tmp_path: Path) -> None:
    d = tmp_path / "run"
    shutil.copytree(folder, d)
    assert main(["report", str(d)]) == 0
    assert (d / "report.html").stat().st_size > 0
