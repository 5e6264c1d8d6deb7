"""``crwv-bt``: the command line (also ``python -m engine``), and its one command table.

:data:`COMMANDS` lists every command module, in ``--help`` order; each has a ``register(sub)``
that adds its parser and handler. Command modules never import this one (what they share is
:mod:`engine.cli.options`). To add a command, write ``engine/cli/<name>_cmd.py`` with a
``register`` and add it to :data:`COMMANDS`.

Every user error (bad data, an unknown strategy or parameter, an impossible combination, a failed
download) is printed as one line ``error: ...`` on stderr with exit code 2, never a traceback; so
is any file-system error a command did not word itself (:func:`engine.errors.os_error`: a file
that cannot be read or written, and why).
Warnings about the data (a stale cache, missing sessions) are printed as ``warning: ...``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from engine.cli import (
    data_cmd,
    regress_cmd,
    report_cmd,
    rules_cmd,
    run_cmd,
    strategies_cmd,
    sweep_cmd,
    today_cmd,
)
from engine.errors import UserError, one_line, os_error

#: Every command module, in ``--help`` order.
COMMANDS = (
    run_cmd,
    today_cmd,
    strategies_cmd,
    rules_cmd,
    data_cmd,
    report_cmd,
    sweep_cmd,
    regress_cmd,
)


class _Parser(argparse.ArgumentParser):
    """argparse whose refusals are one line ``error: ...`` (exit 2), as every other error;
    its default prints the whole usage first (15 lines for ``run --cash abc``). The
    subcommands' parsers are of this class too (argparse makes them of their parent's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``crwv-bt`` parser: one subcommand per :data:`COMMANDS` entry."""
    parser = _Parser(prog="crwv-bt", description="Backtest the CRWV article's trading rules.")
    sub = parser.add_subparsers(dest="command")
    for command in COMMANDS:
        command.register(sub)
    return parser


def _format_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code (0 ok, 1 regress found a change, 2 user error, 130 Ctrl-C)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            args = parser.parse_args(["run", *(argv or [])])
    except SystemExit as exc:  # --help, or a refusal argparse printed: its exit code
        return exc.code if isinstance(exc.code, int) else 2
    old = warnings.showwarning
    warnings.showwarning = _format_warning
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        # the one file-system error path: a file no command turned into its own message
        # (an unreadable price file, a folder where a file belongs, a read-only disk)
        err = os_error(exc)
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        return err.exit_code
    finally:
        warnings.showwarning = old


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
