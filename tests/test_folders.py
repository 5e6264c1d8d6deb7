"""Output folders own only the files they wrote (engine.folders): claims, manifests, refusals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.errors import FileSystemError, UserError
from engine.folders import (
    MANIFEST,
    check_file_target,
    claim_folder,
    commit_files,
    read_manifest,
    reserved,
    staging_in,
    take_names,
    write_manifest,
)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (a snapshot to compare before/after)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def commit(folder: Path, files: dict[str, str], **kwargs: object) -> list[str]:
    claim = claim_folder(folder, **kwargs)  # type: ignore[arg-type]
    with staging_in(claim.path) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text)
        return [p.name for p in commit_files(claim, tmp, list(files))]


def test_a_new_folder_is_created_and_gets_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    assert commit(out, {"x.csv": "1", "y.png": "2"}) == ["x.csv", "y.png"]
    assert sorted(os.listdir(out)) == [MANIFEST, "x.csv", "y.png"]  # no staging folder left
    doc = json.loads((out / MANIFEST).read_text())
    assert doc == {"app": "crwv-bt", "files": ["x.csv", "y.png"], "version": 1}


def test_a_rerun_replaces_and_removes_only_its_own_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    commit(out, {"metrics.json": "old", "equity_a.png": "a", "equity_b.png": "b"})
    (out / "equity_foo.png").write_text("the user's chart")  # put there by the user
    commit(out, {"metrics.json": "new", "equity_a.png": "a2"})
    assert (out / "metrics.json").read_text() == "new"
    assert not (out / "equity_b.png").exists()  # the previous run's, no longer written
    assert (out / "equity_foo.png").read_text() == "the user's chart"
    assert read_manifest(out) == {"metrics.json", "equity_a.png"}


def test_a_write_over_a_file_not_in_the_manifest_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    commit(out, {"metrics.json": "old"})
    (out / "equity_foo.png").write_text("the user's chart")
    before = tree(tmp_path)
    with pytest.raises(UserError, match=r"equity_foo.png exists and crwv-bt did not write it"):
        commit(out, {"metrics.json": "new", "equity_foo.png": "ours"})
    assert tree(tmp_path) == before


def test_a_foreign_folder_is_refused_in_one_line_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "metrics.json").write_text('{"mine": 1}')
    (out / "equity_foo.png").write_text("chart")
    before = tree(tmp_path)
    with pytest.raises(UserError) as info:
        claim_folder(out)
    text = str(info.value)
    assert "holds files crwv-bt did not write (equity_foo.png, metrics.json)" in text
    assert "\n" not in text and tree(tmp_path) == before


def test_an_older_run_folder_is_adopted_replaced_never_removed(tmp_path: Path) -> None:
    out = tmp_path / "old"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    (out / "equity_gone.png").write_text("older run")

    def adopt(folder: Path, names: list[str]) -> bool:
        return names == ["equity_gone.png", "metrics.json"]

    commit(out, {"metrics.json": "new"}, adopt=adopt)
    assert (out / "metrics.json").read_text() == "new"
    assert (out / "equity_gone.png").read_text() == "older run"  # not provably ours: kept
    assert read_manifest(out) == {"metrics.json"}


@pytest.mark.parametrize(
    "text", ["", "[]", '{"app": "other", "files": []}', '{"app": "crwv-bt", "files": ["../x"]}']
)
def test_a_damaged_or_foreign_manifest_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / MANIFEST).write_text(text)
    (tmp_path / "x").write_text("keep")
    with pytest.raises(UserError, match="is damaged or not crwv-bt's"):
        claim_folder(tmp_path)
    assert (tmp_path / "x").read_text() == "keep"


def test_a_file_path_under_a_file_and_a_long_name_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("a file")
    cases = {
        tmp_path / "f": "is a file, not a folder",
        tmp_path / "f" / "sub": "a part of the path is a file, not a folder",
        tmp_path / ("x" * 300): "the name is too long; use a shorter name",
    }
    for path, message in cases.items():
        with pytest.raises(FileSystemError) as info:
            claim_folder(path)
        assert message in str(info.value) and "\n" not in str(info.value)
        assert len(str(info.value)) < 250  # the 300-character name is elided
    assert sorted(os.listdir(tmp_path)) == ["f"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_a_read_only_folder_is_one_line(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(FileSystemError, match="permission denied"):
            claim_folder(ro / "out")
        with pytest.raises(FileSystemError, match="permission denied"):
            check_file_target(ro / "x.md", "--markdown")
    finally:
        ro.chmod(0o700)


def test_check_file_target(tmp_path: Path) -> None:
    with pytest.raises(FileSystemError, match=r"--markdown .* is a folder; give a file name"):
        check_file_target(tmp_path, "--markdown")
    (tmp_path / "f").write_text("x")
    with pytest.raises(FileSystemError, match="a part of the path is a file"):
        check_file_target(tmp_path / "f" / "x.md", "--markdown")
    assert check_file_target(tmp_path / "new" / "x.md", "--junit") == tmp_path / "new" / "x.md"
    assert sorted(os.listdir(tmp_path)) == ["f", "new"] and os.listdir(tmp_path / "new") == []


def test_reserved_removes_a_folder_it_created_when_the_command_fails(tmp_path: Path) -> None:
    out = tmp_path / "new"
    with pytest.raises(RuntimeError), reserved(out, mark=True):
        assert read_manifest(out) == frozenset()
        raise RuntimeError("the backtest failed")
    assert not out.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    with pytest.raises(RuntimeError), reserved(kept):
        raise RuntimeError("the backtest failed")
    assert kept.is_dir()  # it was there before


def test_take_names_lists_before_a_direct_write_and_refuses_a_clash(tmp_path: Path) -> None:
    claim_folder(tmp_path / "s", mark=True)
    take_names(tmp_path / "s", ["sweep.csv"])
    assert read_manifest(tmp_path / "s") == {"sweep.csv"}
    (tmp_path / "s" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="notes.txt exists and crwv-bt did not write it"):
        take_names(tmp_path / "s", ["notes.txt"])
    write_manifest(tmp_path / "s", ["sweep.csv"])
    take_names(tmp_path / "s", ["chart.png"], check=False)
    assert read_manifest(tmp_path / "s") == {"sweep.csv", "chart.png"}


def test_report_does_not_rewrite_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="give a folder a run wrote"):
        claim_folder(tmp_path, option="report", create=False)
    with pytest.raises(FileSystemError, match="no such folder"):
        claim_folder(tmp_path / "none", option="report", create=False)
