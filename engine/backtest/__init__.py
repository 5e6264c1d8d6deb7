"""Stage 2, the backtrader harness: a strategy class and a price frame in, a plain RunResult out.

* :mod:`engine.backtest.harness` - :func:`run_backtest` and the fill rules (its docstring);
* :mod:`engine.backtest.broker` - the retail commission and the broker that resizes gapped buys;
* :mod:`engine.backtest.bt_compat` - workarounds for backtrader 1.9.78.123 on today's stack.

With ``strategies/``, the only code that imports backtrader; no backtrader object leaves it.
"""
