"""One file-system error path for every command: one line, exit 2, checked before the work."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from engine.cli.main import main
from engine.testing.baselines import VARIANTS, write_data_dir

LONG = "x" * 300


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    data = write_data_dir(tmp_path / "data", spy=True)
    variants = tmp_path / "variants.toml"
    variants.write_text(VARIANTS, encoding="utf-8")
    (tmp_path / "afile").write_text("not a folder")
    return {"data": data, "variants": variants, "tmp": tmp_path}


def one_line(code: int, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if not ln.startswith("warning: ")]
    assert code == 2, (out, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return out, lines[0]


def commands(s: dict[str, Path]) -> dict[str, list[str]]:
    """Every command that writes a folder, with its options; ``--out`` is appended."""
    data = ["--data-dir", str(s["data"])]
    store = ["--store", str(s["tmp"] / "s.sqlite"), "--jobs", "1", "--no-plots"]
    grid = ["--strategy", "ma_trend", "--grid", "mode=cross", "--grid", "fast=5:6:1"]
    return {
        "run": ["run", "--strategy", "ma_trend", "--no-plots", *data],
        "compare": ["compare", "--config", str(s["variants"]), "--no-plots", *data],
        "run --tickers": ["run", "--strategy", "ma_trend", "--tickers", "CRWV", *data],
        "sweep": ["sweep", *grid, *store, *data],
        "walkforward": ["walkforward", *grid, "--train", "150", "--test", "50", *store, *data],
    }


@pytest.mark.parametrize("command", ["run", "compare", "run --tickers", "sweep", "walkforward"])
@pytest.mark.parametrize(
    "target, message",
    [
        ("afile", "is a file, not a folder"),
        ("afile/sub", "a part of the path is a file, not a folder"),
        (LONG, "the name is too long"),
    ],
)
def test_a_bad_out_is_one_line_before_the_work(
    setup: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    command: str,
    target: str,
    message: str,
) -> None:
    argv = [*commands(setup)[command], "--out", str(setup["tmp"] / target)]
    out, err = one_line(main(argv), capsys)
    assert message in err
    assert out == "" or "sweep" in command  # nothing ran (a sweep prints its plan first)
    assert not (setup["tmp"] / "s.sqlite").exists()  # the sweep store was not even opened


def test_a_foreign_out_folder_is_refused_before_the_work_and_left_alone(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    mine = setup["tmp"] / "mine"
    mine.mkdir()
    (mine / "metrics.json").write_text("{}")
    (mine / "equity_foo.png").write_bytes(b"my chart")
    for argv in commands(setup).values():
        out, err = one_line(main([*argv, "--out", str(mine)]), capsys)
        assert "holds files crwv-bt did not write (equity_foo.png, metrics.json)" in err
    assert sorted(os.listdir(mine)) == ["equity_foo.png", "metrics.json"]
    assert (mine / "equity_foo.png").read_bytes() == b"my chart"


def test_unreadable_inputs_are_one_line(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A price file that is a folder, under a file, too long; SPY.csv unreadable."""
    tmp = setup["tmp"]
    for bad in (tmp / "data", tmp / "afile" / "x.csv", tmp / f"{LONG}.csv"):
        for argv in (
            ["run", "--strategy", "ma_trend", "--no-files", "--csv", str(bad)],
            ["compare", "--config", str(setup["variants"]), "--no-files", "--csv", str(bad)],
            ["today", "--strategy", "ma_trend", "--csv", str(bad)],
            ["data", "check", str(bad)],
        ):
            code = main(argv)
            out, err = capsys.readouterr()
            assert code == 2 and "Traceback" not in err
            assert err.count("error: ") == 1  # data check prints its report, then one line
    # root reads any file whatever its mode: the OS refusal is simulated where pandas reads
    read_csv = pd.read_csv

    def refuse_spy(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if str(path).endswith("SPY.csv"):
            raise PermissionError(13, "Permission denied", str(path))
        return read_csv(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", refuse_spy)
    for argv in (
        ["run", "--strategy", "ma_trend", "--no-files", "--data-dir", str(setup["data"])],
        ["regress", "--baseline", str(tmp / "b.json"), "--update", "--data-dir", str(tmp / "data")],
    ):
        _, err = one_line(main(argv), capsys)
        assert "SPY.csv: permission denied" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes whatever the mode")
def test_a_read_only_out_folder_and_an_unreadable_csv(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ro = setup["tmp"] / "ro"
    ro.mkdir(mode=0o500)
    csv = setup["data"] / "CRWV.csv"
    csv.chmod(0)
    try:
        _, err = one_line(main([*commands(setup)["run"], "--out", str(ro / "out")]), capsys)
        assert "permission denied" in err
        _, err = one_line(main(["data", "check", str(csv)]), capsys)
        assert "permission denied" in err
    finally:
        ro.chmod(0o700)
        csv.chmod(0o600)


def test_report_and_export_and_regress_targets(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp = setup["tmp"]
    cases = {
        ("report", str(tmp / "afile")): "is a file, not a folder",
        ("report", str(tmp / "none")): "no such folder",
        ("report", str(tmp / LONG)): "the name is too long",
        (
            "sweep",
            "export",
            "--store",
            str(tmp / "s.sqlite"),
            "--out",
            str(tmp / "afile" / "x.csv"),
        ): "a part of the path is a file",
        (
            "sweep",
            "export",
            "--store",
            str(tmp / "s.sqlite"),
            "--out",
            str(tmp),
        ): "is a folder; give a file name",
        ("regress", "--markdown", str(tmp)): "is a folder; give a file name",
        ("regress", "--junit", str(tmp / "afile" / "j.xml")): "a part of the path is a file",
        ("regress", "--markdown", str(tmp / f"{LONG}.md")): "the name is too long",
    }
    for argv, message in cases.items():
        _, err = one_line(main(list(argv)), capsys)
        assert message in err, argv
    assert sorted(os.listdir(tmp)) == ["afile", "data", "variants.toml"]


def test_deeply_nested_toml_is_one_line(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    deep = setup["tmp"] / "deep.toml"
    deep.write_text("x = " + "[" * 100_000, encoding="utf-8")
    for argv in (["compare", "--config", str(deep)], ["run", "--rules", str(deep)]):
        _, err = one_line(main([*argv, "--no-files"]), capsys)
        assert "not valid TOML (nested too deeply)" in err
