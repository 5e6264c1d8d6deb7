"""A store of the previous schema (2: one wide ``runs`` table) opens, is split into ``combos``,
``jobs`` and ``outcomes`` once, and reads back exactly: the files made from it by the version
that wrote it (tests/sweep/store_v2/) are made again byte for byte."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.sweep.store import SCHEMA_VERSION, SweepStore

FIXTURE = Path(__file__).parent / "store_v2"
MA = ["--strategy", "ma_trend", "--grid", "fast=5,10", "--grid", "slow=20,40"]
MA += ["--grid", "mode=cross,reclaim"]


@pytest.fixture()
def old_store(tmp_path: Path) -> Path:
    path = tmp_path / "sweeps.sqlite"
    shutil.copyfile(FIXTURE / "sweeps.sqlite", path)
    return path


def _tables(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return dict(
            conn.execute("SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        )


def test_the_fixture_is_a_schema_2_store() -> None:
    with sqlite3.connect(f"file:{FIXTURE / 'sweeps.sqlite'}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 12


def test_a_schema_2_store_is_split_once_and_exports_the_same_bytes(
    old_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["sweep", "export", "--store", str(old_store), "--out", str(tmp_path / "e.csv")]) == 0
    )
    assert (tmp_path / "e.csv").read_bytes() == (FIXTURE / "export.csv").read_bytes()
    tables = _tables(old_store)
    assert tables["runs"] == "view"
    assert {"combos", "jobs", "outcomes", "run_returns", "sweeps", "sweep_rows"} <= set(tables)
    with SweepStore(old_store) as store:
        assert store.count() == 12
        n = store.conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0]
        distinct = store.conn.execute("SELECT COUNT(DISTINCT result) FROM runs").fetchone()[0]
        assert n == distinct < 12  # 8 ma_trend rows gave 6 results, 4 swing rows gave 2
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_failed_split_leaves_the_old_store_as_it_was(
    old_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = old_store.read_bytes()

    def fail(*args: object) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(SweepStore, "_job", fail)
    with pytest.raises(Exception, match="disk I/O error"):
        SweepStore(old_store)
    with sqlite3.connect(old_store) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 12
        assert (
            conn.execute("SELECT type FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
            == "table"
        )
    assert old_store.read_bytes() == before


def test_a_schema_2_store_resumes_and_ranks_as_before(
    old_store: Path,
    tmp_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CRWV_BT_DATA_DIR", str(data_dir))
    out = tmp_path / "out"
    assert main(["sweep", *MA, "--store", str(old_store), "--out", str(out), "--no-progress"]) == 0
    assert "stored 0 new row(s); 8 were already in the store" in capsys.readouterr().out
    assert (out / "sweep.csv").read_bytes() == (FIXTURE / "sweep.csv").read_bytes()
