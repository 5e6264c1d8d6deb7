"""``docs/rules.md`` runs as written: its commands, its rules, and its function table.

Every ``$ crwv-bt`` line of its console blocks runs (against the data dir); every TOML rule in it
loads, and one also shipped in ``strategies/rules/`` has the same conditions there; the function
table lists every function with the definition and warm-up of :data:`engine.rules.FUNCTIONS`.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.rules import FUNCTIONS, load_rules, parse_rules
from engine.testing.docs import console_commands

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
SHIPPED = {
    name: rule
    for path in sorted((ROOT / "strategies" / "rules").glob("*.toml"))
    for name, rule in load_rules(path).rules.items()
}


def commands() -> list[str]:
    return console_commands(ROOT / "docs" / "rules.md")


def test_the_doc_has_examples_of_every_command() -> None:
    used = {shlex.split(c)[1] for c in commands()}
    assert {"rules", "run", "compare", "sweep", "walkforward"} <= used


@pytest.mark.parametrize("command", commands())
def test_doc_example_runs(
    command: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "strategies").symlink_to(ROOT / "strategies")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRWV_BT_DATA_DIR", str(data_dir))
    assert main(shlex.split(command)[1:]) == 0


def test_rules_in_the_doc_load_and_match_the_shipped_files() -> None:
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", DOC, flags=re.S) if "entry =" in b]
    assert len(blocks) >= 4
    for block in blocks:
        for name, rule in parse_rules(block, "docs/rules.md").items():
            shipped = SHIPPED.get(name)
            if shipped is not None:
                assert rule.entry.key() == shipped.entry.key(), name
                mine, theirs = (r.exit.key() if r.exit else None for r in (rule, shipped))
                assert mine == theirs, name
                assert rule.orders == shipped.orders, name


def test_function_table_matches_the_language() -> None:
    rows = {
        m.group(1): (m.group(2), m.group(3))
        for m in re.finditer(r"^\| `(\w+)\([^)]*\)` \| (.*) \| `(.*)` \|$", DOC, flags=re.M)
    }
    assert set(rows) == set(FUNCTIONS)
    for name, fn in FUNCTIONS.items():
        definition, warmup = rows[name]
        assert definition.replace("\\|", "|") == fn.definition, name
        assert warmup == fn.warmup_text, name
