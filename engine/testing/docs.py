"""The examples of a Markdown page, for tests that run a page's examples as written."""

from __future__ import annotations

import re
from pathlib import Path


def _blocks(path: Path, language: str) -> list[str]:
    """The text of every fenced block tagged ``language`` (```` ```language ````), in order."""
    text = path.read_text(encoding="utf-8")
    return re.findall(rf"```{re.escape(language)}\n(.*?)```", text, flags=re.S)


def console_commands(path: Path) -> list[str]:
    """Every ``$ crwv-bt ...`` line of the page's ``console`` blocks, without the ``$ ``."""
    return [
        line[2:].strip()
        for block in _blocks(path, "console")
        for line in block.splitlines()
        if line.startswith("$ crwv-bt ")
    ]


def python_blocks(path: Path) -> list[str]:
    """The code of the page's ``python`` blocks, in order: one notebook, run top to bottom."""
    return _blocks(path, "python")
