"""Events and Monte Carlo in the run folder and the report (engine.report.extras)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from engine.analysis.metrics import compute_metrics
from engine.backtest.harness import run_backtest
from engine.data.events import load_events
from engine.folders import write_manifest
from engine.jobs.montecarlo_run import MonteCarloSettings, monte_carlo, summaries
from engine.report.extras import Extras
from engine.report.run_folder import rebuild_report, write_run
from strategies import STRATEGIES

REPO = Path(__file__).resolve().parents[2]


def test_run_folder_with_events_and_monte_carlo(crwv: pd.DataFrame, tmp_path: Path) -> None:
    run = run_backtest(STRATEGIES["swing"], crwv)
    settings = MonteCarloSettings(n_paths=200, seed=5, replays=20)
    mc = {"swing": monte_carlo(run, crwv, STRATEGIES["swing"], settings)}
    extras = Extras(
        events=load_events("CRWV", REPO / "data"),
        monte_carlo=mc,
        summaries={"swing": summaries(mc["swing"], settings)},
    )
    metrics = {"swing": compute_metrics(run.equity, run.trades)}
    out = tmp_path / "run"
    names = {p.name for p in write_run(out, [run], metrics, crwv, extras=extras)}
    assert {"events.csv", "montecarlo_fan.csv", "montecarlo_swing.png", "report.html"} <= names
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["monte_carlo"]["swing"]["block"]["seed"] == 5
    events = pd.read_csv(out / "events.csv")
    assert (events.loc[events.kind == "lockup", "session"] == "2025-08-15").all()
    page = (out / "report.html").read_text()
    assert "How lucky was it?" in page and "<h2>Events</h2>" in page
    assert '<a href="#events">Events</a>' in page
    assert "events inside its trades" not in page or "swing" in page
    # redrawn from the folder alone: same sections, the fan chart from montecarlo_fan.csv
    (out / "montecarlo_swing.png").unlink()
    rebuild_report(out)
    again = (out / "report.html").read_text()
    assert (out / "montecarlo_swing.png").exists() and "How lucky was it?" in again
    assert again.count("<tr>") == page.count("<tr>")


def test_a_run_without_extras_writes_no_extra_files(crwv: pd.DataFrame, tmp_path: Path) -> None:
    run = run_backtest(STRATEGIES["buy_hold"], crwv)
    out = tmp_path / "plain"
    (out).mkdir()
    (out / "events.csv").write_text("stale")  # left by an earlier run (in its manifest): removed
    write_manifest(out, ["events.csv"])
    names = {p.name for p in write_run(out, [run], {}, crwv, plots=False)}
    assert "events.csv" not in names and not (out / "events.csv").exists()
    assert "How lucky" not in (out / "report.html").read_text()


def test_results_first_page_shows_events_and_monte_carlo(crwv: pd.DataFrame) -> None:
    from engine.report.results_page import Page, render_page

    run = run_backtest(STRATEGIES["macd"], crwv)
    settings = MonteCarloSettings(n_paths=100, seed=1, replays=10)
    mc = {"macd": monte_carlo(run, crwv, STRATEGIES["macd"], settings)}
    extras = Extras(
        events=load_events("CRWV", REPO / "data"),
        monte_carlo=mc,
        summaries={"macd": summaries(mc["macd"], settings)},
    )
    metrics = {"macd": compute_metrics(run.equity, run.trades)}
    page = render_page(Page([run], metrics, {}, crwv, None, extras=extras))
    assert "How lucky was it?" in page and "Events inside these trades" in page
    assert '"text":"E"' in page.replace(" ", "")  # earnings markers in the interactive chart
    plain = render_page(Page([run], metrics, {}, crwv, None))
    assert "How lucky" not in plain and '"text":"E"' not in plain.replace(" ", "")
