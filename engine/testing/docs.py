"""The example commands of a Markdown page, for tests that run a page's examples as written."""

from __future__ import annotations

import re
from pathlib import Path


def console_commands(path: Path) -> list[str]:
    """Every ``$ crwv-bt ...`` line of the page's ``console`` blocks, without the ``$ ``."""
    blocks = re.findall(r"```console\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)
    return [
        line[2:].strip()
        for block in blocks
        for line in block.splitlines()
        if line.startswith("$ crwv-bt ")
    ]
