"""``crwv-bt report DIR``: rebuild ``report.html`` (and the charts) from a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.report.run_folder import rebuild_report


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``report`` to the CLI."""
    rep = sub.add_parser("report", help="rebuild report.html from a run folder without rerunning")
    rep.add_argument("dir")
    rep.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Redraw the charts and ``report.html`` of ``args.dir``."""
    path = rebuild_report(Path(args.dir))
    print(f"wrote {path}")
    return 0
