"""Rules on the command line: check, run, compare (and variants naming a rule), sweep, walk-forward.

The docs' examples (``docs/rules.md``) run in ``tests/rules/test_rules_docs.py``; here each
command's output and files, and one clear line (exit 2) for each mistake.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = str(ROOT / "strategies" / "rules" / "examples.toml")
ARTICLE = str(ROOT / "strategies" / "rules" / "article.toml")


@pytest.fixture()
def workdir(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRWV_BT_DATA_DIR", str(data_dir))
    return tmp_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_rules_check_lists_parameters_warmup_and_conditions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["rules", "check", EXAMPLES], capsys)
    assert code == 0
    assert "5 rule(s), all check out" in out
    assert "[ema_rsi]  rule:ema_rsi@" in out
    assert "warm-up: 51 bar(s) with the defaults (a run needs at least 52)" in out
    assert "len            50         EMA length, bars" in out
    assert "orders: trailing_stop = 0.1, max_bars = 20" in out


def test_strategies_lists_the_shipped_rules_with_parameters_and_descriptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from engine.rules import load_rules
    from engine.variants import default_rule_files

    code, out, _ = run(["strategies"], capsys)
    assert code == 0
    files = default_rule_files()
    assert files
    for path in files:
        assert f"{path.name} (run with --rules " in out
        for rule in load_rules(path).rules.values():
            assert f"[{rule.name}]  {rule.ref()}" in out
            if rule.description:
                assert f"  {rule.description}" in out
            for key in rule.params:
                assert f"    {key} " in out
    assert "  entry: crosses_above(close, ema(close, len)) and rsi(close, 14) > floor" in out


def test_strategies_lists_the_rules_of_a_given_file_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[dip]\ndescription = "buy a 5% dip"\nparams = { n = 10 }\nhelp = { n = "lookback" }\n'
        'entry = "close < highest(close, n) * 0.95"\nexit = "close > sma(close, n)"\n'
    )
    code, out, _ = run(["strategies", "--rules", str(mine)], capsys)
    assert code == 0
    assert "[dip]  rule:dip@" in out and "  buy a 5% dip" in out
    assert "    n              10         lookback" in out
    assert "[ema_rsi]" not in out  # the shipped files are not listed then
    assert "ma_trend  (MATrend)" in out  # the registered strategies are


def test_strategies_refuses_a_bad_rule_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["strategies", "--rules", str(tmp_path / "none.toml")], capsys)
    assert code == 2 and out == ""
    assert err.strip().startswith("error: ") and "rule file not found" in err


def test_rules_check_refuses_a_bad_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[r]\nparams = { len = 5 }\nentry = "close > ema(close, lne)"\nexit = "false"\n')
    code, out, err = run(["rules", "check", str(bad)], capsys)
    assert code == 2 and out == ""
    assert err.strip() == (
        f"error: {bad}: [r] entry, column 20: unknown name 'lne' (did you mean 'len'?); "
        "prices: open, high, low, close, volume; parameters: len"
    )


def test_run_a_rule_writes_its_text_into_the_run_folder(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["run", "--rules", EXAMPLES, "--rule", "ema_rsi", "--no-plots", "--out", "r"], capsys
    )
    assert code == 0 and "ema_rsi" in out.splitlines()[1]
    doc = json.loads((workdir / "r" / "metrics.json").read_text())
    rule = doc["strategies"]["ema_rsi"]["rule"]
    assert rule.startswith("[ema_rsi]\ndescription = ") and "trailing_stop = 0.1" in rule
    html = (workdir / "r" / "report.html").read_text()
    assert "crosses_above(close, ema(close, len)) and rsi(close, 14) &gt; floor" in html
    # the report rebuilt from the folder keeps it
    assert main(["report", str(workdir / "r")]) == 0
    assert "trailing_stop = 0.1" in (workdir / "r" / "report.html").read_text()


def test_run_rules_beside_strategies_and_with_overrides(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--strategy", "macd", "--rules", ARTICLE, "--rule", "macd", "--no-files"]
    code, out, _ = run(argv, capsys)
    header = out.splitlines()[1].split()
    assert code == 0 and header[-3:] == ["macd", "macd", "(rule)"]
    # the rule restates the class: the same final equity
    final = next(line for line in out.splitlines() if line.startswith("Final equity")).split()
    assert final[-1] == final[-2]
    code, out, _ = run(
        ["run", "--rules", EXAMPLES, "--rule", "ema_rsi", "--param", "len=30", "--no-files"], capsys
    )
    assert code == 0


def test_compare_every_rule_of_a_file_and_variants_naming_a_rule(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["compare", "--rules", ARTICLE, "--metric", "total_return", "--no-files"], capsys
    )
    assert code == 0
    table = out[out.index("  Run ") :].splitlines()[2:8]  # one row per rule, best first
    assert [row.split()[0] for row in table] == [
        "buy_hold", "rsi", "macd", "ma_trend", "ma_cross", "confluence"
    ]  # fmt: skip
    variants = workdir / "v.toml"
    variants.write_text(
        f'[fast_ema]\nrules = "{EXAMPLES}"\nrule = "ema_rsi"\nparams = {{ len = 30 }}\n\n'
        '[plain_macd]\nstrategy = "macd"\n'
    )
    code, out, _ = run(["compare", "--config", str(variants), "--no-files"], capsys)
    assert code == 0 and {"fast_ema", "plain_macd"} <= set(out.split())
    code, out, _ = run(
        ["run", "--config", str(variants), "--variant", "fast_ema", "--no-files"], capsys
    )
    assert code == 0


def test_sweep_and_walkforward_of_a_rule(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sweep", "--rules", EXAMPLES, "--rule", "ema_rsi", "--grid", "len=20:40:10"]
    argv += [
        "--grid",
        "floor=45,50",
        "--jobs",
        "1",
        "--out",
        "s",
        "--no-progress",
        "--pbo-splits",
        "4",
    ]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert "sweep rule ema_rsi (rule:ema_rsi@" in out and "6 combinations; engine fast" in out
    summary = json.loads((workdir / "s" / "summary.json").read_text())
    assert summary["strategy"].startswith("rule:ema_rsi@") and "[ema_rsi]" in summary["rule"]
    code, out, _ = run([*argv, "--engine", "backtrader"], capsys)  # the same rows, the reference
    assert code == 0 and "stored 6 new row(s)" in out
    wf = ["walkforward", "--rules", EXAMPLES, "--rule", "ema_rsi", "--grid", "len=20,30"]
    wf += ["--train", "150", "--test", "80", "--jobs", "1", "--no-files", "--no-progress"]
    code, out, _ = run(wf, capsys)
    assert code == 0 and "walk-forward rule ema_rsi" in out and "out of sample:" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--rules", ARTICLE, "--rule", "mcd"], "no rule 'mcd' (did you mean 'macd'?)"),
        (["run", "--rule", "macd"], "--rule macd needs --rules FILE"),
        (["run", "--rules", "nope.toml"], "nope.toml: rule file not found"),
        (["run", "--rules", EXAMPLES, "--rule", "ema_rsi", "--param", "lne=3"], "unknown parameter 'lne' for ema_rsi (did you mean 'len'?)"),
        (["run", "--rules", EXAMPLES, "--rule", "ema_rsi", "--param", "len=0"], "periods are whole numbers >= 1"),
        (["compare"], "give --config VARIANTS.toml and/or --rules RULES.toml"),
        (["sweep", "--rules", EXAMPLES, "--grid", "len=20,30"], "holds 5 rules"),
        (["sweep", "--strategy", "macd", "--rules", EXAMPLES, "--rule", "ema_rsi", "--grid", "len=5"], "not both"),
        (["sweep", "--rules", EXAMPLES, "--rule", "ema_rsi", "--grid", "lne=20,30"], "unknown grid key 'lne'"),
        (["sweep", "--rules", EXAMPLES, "--rule", "ema_rsi", "--grid", "len=20", "--constraint", "len < flor"], "unknown name 'flor'"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line_exit_2(
    argv: list[str], message: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([*argv, "--no-files"], capsys)
    assert code == 2, out + err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], err


def test_a_variant_naming_a_missing_rule_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    variants = workdir / "v.toml"
    variants.write_text(f'[x]\nrules = "{EXAMPLES}"\nrule = "ema_rs"\n')
    code, _, err = run(["compare", "--config", str(variants), "--no-files"], capsys)
    assert code == 2 and "no rule 'ema_rs' (did you mean 'ema_rsi'?)" in err
    variants.write_text('[x]\nrule = "ema_rsi"\n')
    code, _, err = run(["compare", "--config", str(variants), "--no-files"], capsys)
    assert code == 2 and 'needs rules = "FILE"' in err


def test_sweep_standing_aside_reads_the_report_dates(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A grid with stand_aside > 0 gets the events file's report dates (else nothing stands aside)."""
    rules = workdir / "aside.toml"
    rules.write_text('[hold]\nentry = "true"\nexit = "false"\nstand_aside = 0\n')
    argv = ["sweep", "--rules", str(rules), "--rule", "hold", "--grid", "stand_aside=0,1"]
    argv += ["--no-files", "--no-progress", "--store", "s.sqlite", "--metric", "total_return"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    rows = [
        line.split()
        for line in out.splitlines()
        if "2025-05-15,2025-08-13" in line and not line.startswith("rerun")
    ]
    assert len(rows) == 2  # both combinations carry the dates
    by_sessions = {r[1]: r for r in rows}
    assert by_sessions["1"][3] != by_sessions["0"][3]  # total_return moved
    assert by_sessions["0"][-3] == "0" and int(by_sessions["1"][-3]) >= 4  # closed trades
    # without stand_aside > 0 the grid is left as it was (no earnings column)
    argv[argv.index("stand_aside=0,1")] = "stand_aside=0"
    code, out, _ = run(argv, capsys)
    assert code == 0 and "2025-05-15" not in out
