"""Strategy parameters: discovered from backtrader's ``params``, never declared twice.

Every consumer (CLI ``--param``, sweeps, variant files, reports) goes through this module:

* :func:`declared` - the strategy's parameters and defaults, in declaration order;
* :func:`describe` - the comment written next to each parameter in the class source;
* :func:`coerce` - a user's value turned into the type of the default and checked: a number
  must be finite and within :data:`engine.checks.LIMIT` (list elements too), a whole number is
  not true/false, a date is inside :data:`engine.checks.DATE_RANGE`;
* :func:`resolve` - defaults + overrides, unknown names rejected with a "did you mean" hint,
  and the strategy's own ``check_params`` run before anything trades.
"""

from __future__ import annotations

import difflib
import inspect
import io
import tokenize
from collections.abc import Iterator
from datetime import date
from functools import cache
from typing import Any

from engine import checks
from engine.errors import ParamError

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


def declared(cls: type) -> dict[str, Any]:
    """Parameter name -> default, as declared in the class's backtrader ``params``."""
    items = cls.params._getitems()  # type: ignore[attr-defined]
    return {name: default for name, default in items}


@cache
def describe(cls: type) -> dict[str, str]:
    """Parameter name -> the comment beside its ``params`` entry (inherited ones included)."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        # backtrader's metaclass turns the ``params`` tuple into a class, so look for the name
        # in the class body's source rather than at the attribute's type.
        if "params" not in vars(klass) or klass.__module__.startswith("backtrader"):
            continue
        try:
            src = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        out.update(_comments_in_params(src))
    return out


def _comments_in_params(src: str) -> dict[str, str]:
    # Walk the tokens of the class body: a string token that opens a ("name", default) tuple
    # inside `params = (...)`, followed on the same line by a comment.
    found: dict[str, str] = {}
    tokens = list(tokenize.generate_tokens(io.StringIO(src).readline))
    in_params = False
    depth = 0
    current: str | None = None
    for i, tok in enumerate(tokens):
        if not in_params:
            if (
                tok.type == tokenize.NAME
                and tok.string == "params"
                and i + 1 < len(tokens)
                and tokens[i + 1].string == "="
            ):
                in_params = True
                depth = 0
            continue
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
            if depth == 2:
                # the entry's name is its first string (after any line break the formatter added)
                j = i + 1
                while j < len(tokens) and tokens[j].type in (tokenize.NL, tokenize.COMMENT):
                    j += 1
                if j < len(tokens) and tokens[j].type == tokenize.STRING:
                    current = tokens[j].string.strip("\"'")
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
            if depth == 0:
                in_params = False
        elif tok.type == tokenize.COMMENT and current is not None:
            found.setdefault(current, tok.string.lstrip("#").strip())
        elif tok.type in (tokenize.NL, tokenize.NEWLINE) and depth <= 1:
            current = None
    return found


def strategy_name(cls: type) -> str:
    """The name a strategy class is known by: its registry ``alias``, else its class name."""
    return str(getattr(cls, "alias", "") or cls.__name__)


def suggest(name: str, choices: list[str] | dict[str, Any]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def coerce(cls: type, key: str, value: Any) -> Any:
    """Convert ``value`` (often text from the command line) to the type of ``key``'s default,
    checked by :mod:`engine.checks` (finite, in range)."""
    defaults = declared(cls)
    if key not in defaults:
        raise ParamError(
            f"unknown parameter {checks.shorten(repr(key))} for {getattr(cls, 'alias', cls.__name__)}"
            f"{suggest(key, defaults)}; known: {', '.join(defaults)}"
        )
    default = defaults[key]
    try:
        out = _convert(default, value)
    except (TypeError, ValueError, OverflowError):
        kind = _kind(default)
        raise ParamError(
            f"parameter {key}={checks.shorten(repr(value))} is not {kind} (default {default!r}); "
            f"give {kind}"
        ) from None
    _check(key, default, out)
    return out


def _check(key: str, default: Any, value: Any) -> None:
    """A converted value's numbers finite and in range, its date plausible (engine.checks)."""
    what = f"parameter {key}"
    if isinstance(default, bool) or isinstance(value, bool):
        return
    if isinstance(value, int | float):
        checks.number(value, what, need=f"{_kind(default)} (default {default!r})")
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            checks.number(
                v, f"{what} (item {i + 1})", need=f"{_kind(default)} (default {default!r})"
            )
    elif isinstance(value, str) and isinstance(default, str) and _is_date(default):
        checks.check_date(date.fromisoformat(value), what)


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "true/false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a finite number"
    if isinstance(default, tuple):
        return "a comma-separated list of finite numbers"
    if isinstance(default, str) and _is_date(default):
        return "a date YYYY-MM-DD"
    return "text"


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _convert(default: Any, value: Any) -> Any:
    # true/false is never a number here (TOML's `hold_bars = true` would otherwise become 1),
    # nor is a list or table a single value (TOML's `mode = ["x"]`)
    if isinstance(value, list | dict) and not isinstance(default, tuple):
        raise ValueError(value)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(value)
    if isinstance(default, int):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        if isinstance(value, str):
            f = float(value)
            if not f.is_integer():
                raise ValueError(value)
            return int(f)
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if isinstance(default, tuple):
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
            return tuple(float(p) for p in parts)
        if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
            raise ValueError(value)
        if any(isinstance(v, bool) for v in value):
            raise ValueError(value)
        return tuple(float(v) for v in value)
    if isinstance(default, str):
        if isinstance(value, date):
            return value.isoformat()
        text = str(value).strip()
        if _is_date(default) and not _is_date(text):
            raise ValueError(value)
        return text
    return value


def resolve(cls: type, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults updated with ``overrides`` (coerced), checked by the strategy's ``check_params``.

    Raises :class:`ParamError` for an unknown name (with a hint), a value of the wrong type, or an
    impossible combination (the strategy's own message).
    """
    params = declared(cls)
    for key, value in (overrides or {}).items():
        params[key] = coerce(cls, key, value)
    check = getattr(cls, "check_params", None)
    if check is not None:
        problems = check(params)
        if problems:
            name = getattr(cls, "alias", cls.__name__)
            raise ParamError(
                f"{name}: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            )
    return params


def parse_assignments(pairs: list[str] | None) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; a pair without ``=`` is an error."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ParamError(
                f"--param {pair!r} has no '='; write KEY=VALUE, e.g. --param hold_bars=5"
            )
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


class ReadRecorder(dict):  # type: ignore[type-arg]
    """A parameter dict that notes which keys a function reads (all of them when it iterates):
    a pure function of it (``check_params``, ``warmup``) can then be cached on those values
    (the sweep grid's memo, the fast engine's warm-up check)."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.read: list[str] = []

    def __getitem__(self, key: str) -> Any:
        self.read.append(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.append(key)
        return super().get(key, default)

    def _everything(self) -> None:
        self.read.extend(super().keys())

    def __iter__(self) -> Iterator[str]:
        self._everything()
        return super().__iter__()

    def keys(self) -> Any:
        self._everything()
        return super().keys()

    def values(self) -> Any:
        self._everything()
        return super().values()

    def items(self) -> Any:
        self._everything()
        return super().items()
