"""engine.jobs.runner.load_benchmark: SPY from the data dir; absent is silent, broken warns."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from engine.cli.main import main
from engine.data.validate import DataWarning
from engine.jobs.runner import load_benchmark


def _data_dir(tmp_path: Path, data_dir: Path, spy: str | None) -> Path:
    """A data dir holding the real CRWV.csv and, unless ``spy`` is None, that SPY.csv text."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(data_dir / "CRWV.csv", folder / "CRWV.csv")
    if spy is not None:
        (folder / "SPY.csv").write_text(spy)
    return folder


def _broken(data_dir: Path) -> dict[str, tuple[str, str]]:
    """Broken SPY.csv texts -> (text, what the warning must say is wrong)."""
    lines = (data_dir / "SPY.csv").read_text().splitlines(keepends=True)
    truncated = "".join(lines[:60]) + lines[60][:16]  # cut inside a row, as an interrupted copy
    row = lines[40].split(",")
    row[4] = "n/a"  # the close
    non_numeric = "".join([*lines[:40], ",".join(row), *lines[41:]])
    return {
        "truncated": (truncated, f"line 61 {lines[60][:10]}: high is empty"),
        "non-numeric close": (non_numeric, f"line 41 {row[0]}: close is not a number ('n/a')"),
    }


@pytest.mark.parametrize("case", ["truncated", "non-numeric close"])
def test_a_broken_spy_warns_once_naming_the_file_and_the_problem(
    case: str, tmp_path: Path, data_dir: Path, crwv: pd.DataFrame
) -> None:
    text, says = _broken(data_dir)[case]
    folder = _data_dir(tmp_path, data_dir, text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert load_benchmark(str(folder), crwv) is None
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"{folder / 'SPY.csv'}: {says}")
    assert messages[0].endswith("alpha and beta are left out of the metrics")


def test_an_absent_spy_is_silent_and_a_good_one_is_read(
    tmp_path: Path, data_dir: Path, crwv: pd.DataFrame
) -> None:
    folder = _data_dir(tmp_path, data_dir, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_benchmark(str(folder), crwv) is None
        bench = load_benchmark(str(data_dir), crwv)
    assert bench is not None and bench.index[0] == crwv.index[0]


def test_run_with_a_broken_spy_warns_and_reports_no_alpha(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, says = _broken(data_dir)["non-numeric close"]
    folder = _data_dir(tmp_path, data_dir, text)
    argv = ["run", "--strategy", "swing", "--no-files", "--data-dir", str(folder)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    spy = [line for line in err.splitlines() if "SPY.csv" in line]
    assert spy == [
        f"warning: {folder / 'SPY.csv'}: {says}; fix or remove the row; "
        "alpha and beta are left out of the metrics"
    ]
    assert [
        line.split()[-1] for line in out.splitlines() if line.startswith(("Alpha", "Beta"))
    ] == [
        "n/a",
        "n/a",
    ]
