"""The README's examples run as written (against the data dir)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.testing.docs import console_commands

ROOT = Path(__file__).parents[1]


def readme_commands() -> list[str]:
    return console_commands(ROOT / "README.md")


def test_readme_has_examples() -> None:
    assert len(readme_commands()) >= 4


@pytest.mark.parametrize("command", readme_commands())
def test_readme_example_runs(
    command: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # run from a scratch folder that sees the repo's strategies/ (for --config paths) so that
    # example outputs land in tmp_path
    (tmp_path / "strategies").symlink_to(ROOT / "strategies")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRWV_BT_DATA_DIR", str(data_dir))
    argv = shlex.split(command)[1:]
    assert main(argv) == 0
