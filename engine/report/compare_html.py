"""What a page of several configurations says about them: identical results, changed parameters.

HTML fragments for the results page (and the text lines for the terminal) built from
:mod:`engine.report.compare`: runs whose fills are the same are one result and the page says so,
naming the parameters that did not change a fill; each run is described by its description and
the parameters it changes from its strategy's defaults, never by its whole parameter table.
Text from the run is escaped here.
"""

from __future__ import annotations

import html
import textwrap
from typing import Any

from engine.report.compare import changed_params, identical_groups, varying_params
from engine.result import RunResult


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def value_text(value: Any) -> str:
    """A parameter value as a user writes it (``84``, ``close``, ``95, 91, 87``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def changes_text(params: dict[str, Any], defaults: dict[str, Any] | None) -> str:
    """``stop = 84, stop_mode = close`` (``defaults`` when unknown: every parameter is listed)."""
    changed = changed_params(params, defaults) if defaults is not None else params
    return ", ".join(f"{k} = {value_text(v)}" for k, v in changed.items())


#: the marks of groups of identical runs in the terminal table (``A``, ``B``, ...)
GROUP_MARKS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _groups(results: list[RunResult], exclude: str | None) -> list[tuple[list[str], str]]:
    """(names, sentence) of each group of runs that filled exactly the same orders."""
    runs = [r for r in results if r.strategy != exclude]
    by_name = {r.strategy: r for r in runs}
    out = []
    for names in identical_groups(runs):
        text = f"{len(names)} runs traded identically (same fills, same results): "
        text += f"{', '.join(names)}."
        idle = varying_params([by_name[n].params for n in names])
        if idle:
            text += f" In this window these parameters did not change a fill: {', '.join(idle)}."
        out.append((names, text))
    return out


def group_sentences(results: list[RunResult], exclude: str | None = None) -> list[str]:
    """One sentence per group of runs that filled exactly the same orders (plain text).

    ``5 runs traded identically (same fills, same results): a, b, c, d, e. In this window
    these parameters did not change a fill: stop, stop_mode.`` Runs named ``exclude`` (the
    benchmark) are left out.
    """
    return [text for _names, text in _groups(results, exclude)]


def group_marks(results: list[RunResult], exclude: str | None = None) -> dict[str, str]:
    """Run name -> the letter of its group of identical runs (``A`` for the first group)."""
    return {
        name: GROUP_MARKS[i % len(GROUP_MARKS)]
        for i, (names, _text) in enumerate(_groups(results, exclude))
        for name in names
    }


def groups_text(results: list[RunResult], width: int, exclude: str | None = None) -> str:
    """The groups for a terminal: ``A: 5 runs traded identically ...``, wrapped to ``width``."""
    lines = []
    for i, (_names, text) in enumerate(_groups(results, exclude)):
        mark = GROUP_MARKS[i % len(GROUP_MARKS)]
        lines += textwrap.wrap(f"{mark}: {text}", width=width, subsequent_indent="   ")
    return "\n".join(lines)


def groups_html(results: list[RunResult], exclude: str | None = None) -> str:
    """The identical-results notice of a page ("" when every run traded differently)."""
    sentences = group_sentences(results, exclude)
    if not sentences:
        return ""
    body = "".join(f"<p>{_esc(s)}</p>" for s in sentences)
    return f'<div class="groups" id="identical">{body}</div>'


def about_html(
    result: RunResult, description: str, defaults: dict[str, Any] | None, base: str = ""
) -> str:
    """A run's description and the parameters it changes from its strategy's defaults."""
    parts = []
    if description:
        parts.append(f"{_esc(description.rstrip().rstrip('.'))}.")
    if defaults is not None:
        changes = changes_text(result.params, defaults)
        of = f"{base}'s" if base and base != result.strategy else "the strategy's"
        parts.append(
            f"Changed from {_esc(of)} defaults: {_esc(changes)}."
            if changes
            else f"Parameters: {_esc(of)} defaults."
        )
    return f'<p class="sub">{" ".join(parts)}</p>' if parts else ""
