"""The project stands alone: no tracked file points outside the repository at a sibling folder.

The bundled snapshot (data/) and docs/article.md are the project's copies; a path that climbs
out to a sibling `shared` folder works only on the machine it was written on.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Built from two parts so this file does not match itself.
NEEDLE = ".." + "/shared"


def _tracked_files() -> list[Path]:
    """Every file git tracks (or, outside a git checkout, every file but the venv and caches)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        skip = {".git", ".venv", ".pytest_cache", ".mypy_cache", ".ruff_cache", "results"}
        return [
            p
            for p in ROOT.rglob("*")
            if p.is_file() and not (set(p.relative_to(ROOT).parts) & skip)
        ]
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_tracked_file_mentions_the_sibling_shared_folder() -> None:
    files = _tracked_files()
    assert len(files) > 50, "the file list is implausibly short"
    offenders = []
    for path in files:
        if not path.is_file():
            continue
        try:
            text = path.read_bytes().decode("utf-8", errors="ignore")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if NEEDLE in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not offenders, "files refer to a folder outside the project:\n" + "\n".join(offenders)


@pytest.mark.parametrize("text, hit", [(f"see {NEEDLE}/data", True), ("see data/", False)])
def test_the_check_finds_the_needle(text: str, hit: bool) -> None:
    assert (NEEDLE in text) is hit
