"""Stage 3, analysis: numbers from results, as pure functions (numpy and pandas only).

* :mod:`engine.analysis.metrics` - :func:`compute_metrics` and every metric's definition;
* :mod:`engine.analysis.metric_notes` - one-line notes on undefined or unusual values;
* :mod:`engine.analysis.returns` - daily returns and drawdowns of an equity curve;
* :mod:`engine.analysis.trades` - round trips from a fills table;
* :mod:`engine.analysis.indicators` - SMA, EMA, MACD, RSI exactly as backtrader computes them;
* :mod:`engine.analysis.deflated_sharpe`, :mod:`engine.analysis.pbo` - overfitting statistics.

No backtrader, no matplotlib, no file or network access: any engine's output can be scored and a
test can feed a hand-computed frame.
"""
