"""Rule variants from a TOML file: one table per variant.

.. code-block:: toml

    [tight_stop]
    strategy = "swing"
    description = "the article's plan with a stop at $84"
    params = { stop = 84.0 }

    [plan_risk_1pct]
    strategy = "swing"
    description = "the article's plan sized to lose at most 1% of the account at the stop"
    sizing = "risk:0.01"   # engine.sizing; `--sizing` other than all_in overrides it

    [ema_rsi_fast]
    rules = "rules/examples.toml"   # a rule file, relative to this file
    rule = "ema_rsi"
    params = { len = 30 }

Every variant is checked before anything runs: the strategy must be registered (or the rule
must be in its file and check out), every parameter must be one it declares (with a "did you
mean" hint), and the combination must pass the strategy's own checks. A rule variant's
``strategy`` is the rule's ref (``rule:NAME@SHA12``, see :func:`strategies.lookup`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import strategies
from engine import params as params_mod
from engine.checks import shorten
from engine.errors import ParamError
from engine.rules import load_rules
from engine.sizing import canonical, parse_sizing, refuse_without_stop
from strategies.base import ArticleStrategy
from strategies.rule import rule_strategy

_KEYS = {"strategy", "rule", "rules", "description", "params", "sizing"}


@dataclass(frozen=True)
class Variant:
    """A named strategy configuration."""

    name: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    sizing: str = ""  # the variant's position sizing (engine.sizing); "" = the run's --sizing


def read_variant_tables(path: str | Path) -> dict[str, Any]:
    """The TOML tables of a variants file, unchecked; a :class:`ParamError` when unreadable."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamError(f"{p}: variants file not found; check the --config path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParamError(f"{p}: not valid TOML ({exc}); fix the syntax") from None
    except RecursionError:
        raise ParamError(f"{p}: not valid TOML (nested too deeply); fix the syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParamError(f"{p}: cannot read ({exc})") from None


def load_variants(path: str | Path, registry: dict[str, type]) -> list[Variant]:
    """Read and check every variant in ``path`` (in file order)."""
    p = Path(path)
    doc = read_variant_tables(p)
    if not doc:
        raise ParamError(f'{p}: no variants; add a table like [my_variant] with strategy = "swing"')
    out = []
    for name, table in doc.items():
        out.append(_variant(p, name, table, registry))
    return out


def _variant(p: Path, name: str, table: Any, registry: dict[str, type]) -> Variant:
    if not isinstance(table, dict):
        raise ParamError(
            f'{p}: [{name}] must be a table with strategy = "..." and params = {{...}}'
        )
    extra = set(table) - _KEYS
    if extra:
        key = sorted(extra)[0]
        raise ParamError(
            f"{p}: [{name}] has unknown key {key!r}{params_mod.suggest(key, sorted(_KEYS))}; "
            f"use strategy (or rules and rule), description, params, sizing"
        )
    strategy, cls = variant_strategy(p, name, table, registry)
    overrides = table.get("params", {}) or {}
    if not isinstance(overrides, dict):
        raise ParamError(f"{p}: [{name}] params must be a table, e.g. params = {{ stop = 84.0 }}")
    try:
        params_mod.resolve(cls, overrides)
    except ParamError as exc:
        raise ParamError(f"{p}: [{name}] {exc}") from None
    if not isinstance(table.get("description", ""), str):
        raise ParamError(
            f'{p}: [{name}] description must be text, e.g. description = "stop at $84"'
        )
    sizing = table.get("sizing", "")
    if not isinstance(sizing, str):
        raise ParamError(
            f'{p}: [{name}] sizing = {shorten(repr(sizing))} must be text, e.g. sizing = "risk:0.01"'
        )
    try:
        sizing = canonical(sizing) if sizing else ""
        if sizing:
            resolved = params_mod.resolve(cls, overrides)
            refuse_without_stop(parse_sizing(sizing), name, cls.has_stop(resolved))
    except ParamError as exc:
        raise ParamError(f"{p}: [{name}] {str(exc).replace('--sizing', 'sizing')}") from None
    return Variant(
        name=name,
        strategy=strategy,
        params=dict(overrides),
        description=str(table.get("description", "")),
        sizing=sizing,
    )


def variant_strategy(
    p: Path, name: str, table: dict[str, Any], registry: dict[str, type]
) -> tuple[str, type[ArticleStrategy]]:
    """(strategy name or rule ref, class) of a variant table: ``strategy``, or ``rules`` + ``rule``."""
    if "rule" in table or "rules" in table:
        if "strategy" in table:
            raise ParamError(f"{p}: [{name}] names both a strategy and a rule; keep one")
        if not isinstance(table.get("rule"), str) or not isinstance(table.get("rules"), str):
            raise ParamError(
                f'{p}: [{name}] needs rules = "FILE" (relative to {p.name}) and rule = "NAME"'
            )
        book = load_rules(p.parent / table["rules"])
        cls = rule_strategy(book.get(table["rule"]))
        return cls.rule.ref(), cls  # type: ignore[union-attr]
    strategy = table.get("strategy")
    if not isinstance(strategy, str):
        raise ParamError(
            f"{p}: [{name}] strategy = {shorten(repr(strategy))} must be one name in quotes, "
            f'e.g. strategy = "swing"; known: {", ".join(registry)}'
        )
    if strategy not in registry:
        raise ParamError(
            f"{p}: [{name}] strategy {strategy!r} is not registered"
            f"{params_mod.suggest(str(strategy), list(registry))}; known: {', '.join(registry)}"
            ' (or name a rule: rules = "FILE", rule = "NAME")'
        )
    return str(strategy), registry[str(strategy)]


def find_variant(variants: list[Variant], name: str, path: str | Path) -> Variant:
    """The variant called ``name``, or a :class:`ParamError` with a hint."""
    names = [v.name for v in variants]
    for v in variants:
        if v.name == name:
            return v
    raise ParamError(
        f"{path}: no variant {name!r}{params_mod.suggest(name, names)}; known: {', '.join(names)}"
    )


def default_variants_path() -> Path:
    """The shipped ``strategies/variants.toml``."""
    return Path(strategies.__file__).with_name("variants.toml")


def default_rule_files() -> list[Path]:
    """The shipped rule files, ``strategies/rules/*.toml``, in name order."""
    return sorted(Path(strategies.__file__).with_name("rules").glob("*.toml"))
