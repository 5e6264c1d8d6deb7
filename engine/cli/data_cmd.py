"""``crwv-bt data fetch`` and ``crwv-bt data check``: download price files, list their problems."""

from __future__ import annotations

import argparse

from engine.data.load import check_file, fetch
from engine.errors import DataError


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``data`` (``fetch``, ``check``) to the CLI."""
    data = sub.add_parser("data", help="fetch or check price files")
    dsub = data.add_subparsers(dest="data_command", required=True)
    fetch_ = dsub.add_parser("fetch", help="download daily prices with yfinance into the data dir")
    fetch_.add_argument("ticker")
    fetch_.add_argument("--start", help="first date, YYYY-MM-DD")
    fetch_.add_argument("--data-dir", help="folder to write <TICKER>.csv into")
    fetch_.set_defaults(func=cmd_data_fetch)
    check = dsub.add_parser("check", help="list every problem in a price CSV")
    check.add_argument("file")
    check.set_defaults(func=cmd_data_check)


def cmd_data_fetch(args: argparse.Namespace) -> int:
    """``crwv-bt data fetch``: download raw daily prices into the data dir."""
    path = fetch(args.ticker, start=args.start, data_dir_=args.data_dir)
    print(f"wrote {path}")
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    """``crwv-bt data check``: rows, range and every problem of a price CSV (exit 2 on errors)."""
    frame, problems = check_file(args.file)
    errors = [p for p in problems if not p.endswith("(warning)")]
    if frame is not None:
        print(
            f"{args.file}: {len(frame)} rows, {frame.index[0].date()} to {frame.index[-1].date()}"
        )
    for p in problems:
        print(f"  {p}")
    if errors:  # the summary is the command's one error line (main prints it, exit 2)
        raise DataError(f"{args.file}: {len(errors)} problem(s); fix them before running")
    print(f"{args.file}: ok" + (f" ({len(problems)} warning(s))" if problems else ""))
    return 0
