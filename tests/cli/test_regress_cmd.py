"""``crwv-bt regress`` end to end: exit codes 0 / 1 / 2, --update, JUnit and Markdown files.

Synthetic tests run on a seeded random walk in a temp data dir; the real-history tests run the
check on the shipped ``results/baselines/crwv.json`` with the data of ``$CRWV_BT_DATA_DIR``
(skipped locally without it, failing in CI).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from engine import params as params_mod
from engine.cli.main import main
from engine.cli.regress_cmd import default_baseline
from engine.regress import baseline
from engine.testing.baselines import VARIANTS, write_data_dir
from strategies import STRATEGIES

ROOT = Path(__file__).resolve().parents[2]


def with_default(cls: type, name: str, value: Any) -> type:
    """``cls`` with one parameter default changed, as a user editing its ``params`` would."""
    # backtrader resets ``alias`` on every subclass: keep the registry name.
    return type(
        cls.__name__, (cls,), {"params": ((name, value),), "alias": getattr(cls, "alias", "")}
    )


def altered_default(cls: type) -> tuple[str, Any]:
    """The first parameter whose default can be changed to another valid value, and that value."""
    for name, default in params_mod.declared(cls).items():
        for value in _other_values(default):
            try:
                params_mod.resolve(cls, {name: value})
            except Exception:  # noqa: BLE001 - not a valid value for this strategy, try the next
                continue
            return name, value
    raise AssertionError(f"{cls.__name__}: no default can be changed")


def _other_values(default: Any) -> list[Any]:
    if isinstance(default, bool):
        return [not default]
    if isinstance(default, int):
        return [default + 1, default - 1]
    if isinstance(default, float):
        return [default * 1.1 if default else 0.01, default * 0.9]
    if isinstance(default, tuple):
        return [tuple(v * 1.05 for v in default)]
    if isinstance(default, str) and default[:4].isdigit():
        return [default[:-1] + str((int(default[-1]) + 1) % 10)]
    return []


def test_with_default_and_altered_default_helpers() -> None:
    cls = next(c for c in STRATEGIES.values() if params_mod.declared(c))
    name, value = altered_default(cls)
    assert value != params_mod.declared(cls)[name]
    changed = with_default(cls, name, value)
    assert params_mod.declared(changed)[name] == value
    assert getattr(changed, "alias", "") == getattr(cls, "alias", "")
    assert _other_values(True) == [False] and _other_values("2025-08-25") == ["2025-08-26"]


# ------------------------------------------------------------------------- synthetic data


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    data = write_data_dir(tmp_path / "data", spy=True)
    variants = tmp_path / "variants.toml"
    variants.write_text(VARIANTS, encoding="utf-8")
    return {"data": data, "variants": variants, "baseline": tmp_path / "tiny.json", "tmp": tmp_path}


def run(setup: dict[str, Path], *extra: str) -> int:
    args = ["regress", "--baseline", str(setup["baseline"]), "--config", str(setup["variants"])]
    return main([*args, "--data-dir", str(setup["data"]), *extra])


def test_update_then_check_passes(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(setup, "--update") == 0
    # 6 strategies + 2 variants + the 10 rules of strategies/rules/*.toml
    assert "new baseline: 19 configurations" in capsys.readouterr().out
    first = setup["baseline"].read_bytes()
    junit, md = setup["tmp"] / "r.xml", setup["tmp"] / "r.md"
    assert run(setup, "--junit", str(junit), "--markdown", str(md)) == 0
    out = capsys.readouterr().out
    assert "ok: 19 of 19 configurations hold" in out and "what moved" not in out
    assert ET.parse(junit).getroot().get("failures") == "0"
    assert "passed" in md.read_text(encoding="utf-8")
    assert run(setup, "--update") == 0
    assert "unchanged:" in capsys.readouterr().out and setup["baseline"].read_bytes() == first


@pytest.mark.parametrize("strategy", [n for n, c in STRATEGIES.items() if params_mod.declared(c)])
def test_changed_default_exits_1_naming_it_and_update_restores(
    setup: dict[str, Path],
    strategy: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(setup, "--update") == 0
    name, value = altered_default(STRATEGIES[strategy])
    monkeypatch.setitem(STRATEGIES, strategy, with_default(STRATEGIES[strategy], name, value))
    capsys.readouterr()
    junit = setup["tmp"] / "r.xml"
    assert run(setup, "--junit", str(junit)) == 1
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert [strategy, "param", name] in [r[:3] for r in rows]
    assert "FAIL:" in out and f"moved: {strategy}" in out
    assert int(ET.parse(junit).getroot().get("failures", "0")) >= 1
    assert run(setup, "--update") == 0
    assert f"{strategy}" in capsys.readouterr().out
    assert run(setup) == 0


def test_rename_in_variants_is_exit_1_not_a_crash(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(setup, "--update") == 0
    setup["variants"].write_text(
        VARIANTS.replace("stop = 84.0", "stop_price = 84.0"), encoding="utf-8"
    )
    capsys.readouterr()
    assert run(setup) == 1
    out = capsys.readouterr().out
    assert "tight_stop (swing)" in out and "unknown parameter 'stop_price'" in out
    assert run(setup, "--update") == 2  # --update refuses to pin a configuration that cannot run
    assert "cannot update: configuration 'tight_stop'" in capsys.readouterr().err


def test_unusable_baseline_or_data_exits_2_one_line(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(setup, "--update") == 0
    good = setup["baseline"].read_text(encoding="utf-8")
    capsys.readouterr()

    def err_of(code: int) -> str:
        assert code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err
        return err

    setup["baseline"].write_text(good[: len(good) // 3], encoding="utf-8")
    assert "corrupted or truncated" in err_of(run(setup))
    setup["baseline"].write_text(good, encoding="utf-8")
    write_data_dir(setup["data"], seed=99, spy=True)
    err = err_of(run(setup))
    assert (
        "CRWV data differs from the baseline's (sha256" in err
        and "run `crwv-bt regress --update`" in err
    )
    (setup["data"] / "CRWV.csv").unlink()
    assert "no price file for CRWV" in err_of(run(setup))
    assert "no baseline file" in err_of(
        main(["regress", "--baseline", str(setup["tmp"] / "none.json")])
    )
    assert "only apply with --update" in err_of(run(setup, "--start", "2025-04-01"))


def test_update_replaces_unusable_baseline_and_refreshes_data(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    setup["baseline"].write_text("{", encoding="utf-8")
    assert run(setup, "--update") == 0
    assert "replacing an unusable baseline" in capsys.readouterr().out
    write_data_dir(setup["data"], seed=99, spy=True)
    assert run(setup) == 2
    assert run(setup, "--update") == 0
    assert "data sha256: " in capsys.readouterr().out
    assert run(setup) == 0


def test_update_keeps_tolerance_edits(setup: dict[str, Path]) -> None:
    assert run(setup, "--update") == 0
    text = setup["baseline"].read_text(encoding="utf-8")
    setup["baseline"].write_text(
        text.replace('"sharpe": 1e-06', '"sharpe": 0.25'), encoding="utf-8"
    )
    assert run(setup, "--update") == 0
    assert '"sharpe": 0.25' in setup["baseline"].read_text(encoding="utf-8")


# ------------------------------------------------------------------------- real CRWV history


def test_shipped_baseline_holds_on_real_history(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert default_baseline() == ROOT / "results" / "baselines" / "crwv.json"
    md = tmp_path / "summary.md"
    code = main(["regress", "--data-dir", str(data_dir), "--markdown", str(md)])
    out = capsys.readouterr().out
    assert code == 0, out
    content = baseline.load_baseline(default_baseline(), STRATEGIES)
    ds = content["dataset"]
    assert (ds["ticker"], ds["start"], ds["end"]) == ("CRWV", "2025-03-28", "2026-10-09")
    assert set(STRATEGIES) <= set(content["configurations"])
    assert (
        f"ok: {len(content['configurations'])} of {len(content['configurations'])} configurations hold"
        in out
    )
    assert "passed" in md.read_text(encoding="utf-8")


def test_changed_default_on_real_history_exits_1(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cls = STRATEGIES["ma_trend"]
    hold = params_mod.declared(cls)["hold_bars"]
    monkeypatch.setitem(STRATEGIES, "ma_trend", with_default(cls, "hold_bars", hold + 1))
    assert main(["regress", "--data-dir", str(data_dir)]) == 1
    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines()]
    assert ["ma_trend", "param", "hold_bars", str(hold), str(hold + 1)] in lines
    assert any(r[:2] == ["ma_trend", "fills"] for r in lines)
    assert any(r[:3] == ["ma_trend", "metric", "total_return"] for r in lines)


def test_update_is_byte_identical_across_processes(data_dir: Path, tmp_path: Path) -> None:
    paths = [tmp_path / "a" / "crwv.json", tmp_path / "b" / "crwv.json"]
    assert (
        main(["regress", "--update", "--baseline", str(paths[0]), "--data-dir", str(data_dir)]) == 0
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    cmd = [
        sys.executable,
        "-m",
        "engine",
        "regress",
        "--update",
        "--baseline",
        str(paths[1]),
        "--data-dir",
        str(data_dir),
    ]
    subprocess.run(cmd, check=True, cwd=tmp_path, env=env, capture_output=True)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    text = paths[0].read_text(encoding="utf-8")
    assert str(tmp_path) not in text and str(data_dir) not in text


def test_metrics_json_byte_identical_across_processes(setup: dict[str, Path]) -> None:
    """The run folder's metrics.json (compared by people and CI) carries no timestamp or path."""
    outs = [setup["tmp"] / "one", setup["tmp"] / "two"]
    args = ["run", "--data-dir", str(setup["data"]), "--no-plots", "--out"]
    assert main([*args, str(outs[0])]) == 0
    env = {**os.environ, "PYTHONHASHSEED": "7"}
    subprocess.run(
        [sys.executable, "-m", "engine", *args, str(outs[1])],
        check=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
    )
    first = (outs[0] / "metrics.json").read_bytes()
    assert first == (outs[1] / "metrics.json").read_bytes()
    assert str(setup["tmp"]).encode() not in first


def test_nan_in_a_baseline_fails_the_check_never_holds(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """One NaN metric, or every metric NaN: exit 2 naming it, never "ok: N of N hold"."""
    assert run(setup, "--update") == 0
    good = setup["baseline"].read_text(encoding="utf-8")
    number = r'("(?:sharpe|total_return|max_drawdown)": )-?[0-9.e+-]+'
    capsys.readouterr()
    for pattern, token in (
        (number, "NaN"),
        (r'("[a-z_]+": )-?[0-9][0-9.e+-]*', "NaN"),
        (number, "Infinity"),
    ):
        text, n = re.subn(pattern, rf"\1{token}", good, count=1 if token == "Infinity" else 0)
        assert n >= 1
        setup["baseline"].write_text(text, encoding="utf-8")
        assert run(setup) == 2
        out, err = capsys.readouterr()
        assert "hold" not in out and err.startswith("error: ") and err.count("\n") == 1
        assert f"holds {token} where a number belongs" in err


def test_markdown_or_junit_at_a_folder_is_one_line_before_the_run(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(setup, "--update") == 0
    capsys.readouterr()
    for option in ("--markdown", "--junit"):
        assert run(setup, option, str(setup["tmp"])) == 2
        out, err = capsys.readouterr()
        assert err.startswith("error: ") and err.count("\n") == 1 and "is a folder" in err
        assert "hold" not in out  # refused before the configurations ran
