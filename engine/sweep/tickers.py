"""Do the best parameters travel? One sweep grid on several tickers, ranked by the median.

:func:`across_tickers` joins each ticker's sweep rows on their parameters and ranks the
combinations by the median of a metric over the tickers. A combination missing on a ticker
(e.g. one whose warm-up a shorter history refused) or without a value there (a Sharpe ratio of a
run that never traded) has its median over the tickers it has, and ``n`` says how many; it ranks
after every combination with a value on more tickers, so that a median over one ticker never
beats a robust one.
"""

from __future__ import annotations

import pandas as pd


def across_tickers(
    frames: dict[str, pd.DataFrame],
    keys: list[str],
    metric: str,
    *,
    ascending: bool = False,
    top: int | None = None,
) -> pd.DataFrame:
    """Rows: the combinations (``keys`` columns), most tickers with a value first, then best
    median; columns: ``metric`` on each ticker, then ``median`` and ``n`` (tickers with a value). ``frames``: ticker -> that
    ticker's sweep rows (parameter columns and ``metric``)."""
    joined: pd.DataFrame | None = None
    for ticker, frame in frames.items():
        part = frame[[*keys, metric]].copy()
        for k in keys:  # tuples and floats join as text
            part[k] = part[k].map(repr)
        part = part.rename(columns={metric: ticker})
        joined = part if joined is None else joined.merge(part, on=keys, how="outer")
    if joined is None:
        return pd.DataFrame(columns=[*keys, "median", "n"])
    tickers = list(frames)
    values = joined[tickers].apply(pd.to_numeric, errors="coerce")
    joined["median"] = values.median(axis=1, skipna=True)
    joined["n"] = values.notna().sum(axis=1)
    joined = joined.sort_values(
        ["n", "median"], ascending=[False, ascending], na_position="last", kind="stable"
    ).reset_index(drop=True)
    joined.index = pd.RangeIndex(1, len(joined) + 1, name="rank")
    return joined.head(top) if top else joined
