"""The rule language's functions: signature, definition and warm-up of each, in one table.

This table is the language's reference (``docs/rules.md`` and ``crwv-bt rules check`` print
from it). Each backend implements every name in it: the backtrader rule strategy
(:mod:`strategies.rule`) with backtrader's own indicators, and the fast engine
(:mod:`engine.fast.rows`) with compiled copies that reproduce them bit for bit; a test checks
that both cover exactly this table.

Warm-up
-------
Every series has a *warm-up*: the number of bars up to and including its first value
(backtrader's "minimum period"). The prices have a warm-up of 1; an operation (``+``, ``<``,
``and``...) has the largest warm-up of its operands; a function adds to its input's warm-up as
its ``warmup`` entry says (``w(x)`` is the warm-up of ``x``). A rule is evaluated from the first
bar on which every series in its ``entry`` and ``exit`` has a value, as backtrader starts a
strategy's ``next`` only when all its indicators have one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: Argument kinds.
SERIES = "series"  # a number series: a price or an expression of one
PERIOD = "period"  # a whole number of bars >= 1, from numbers and parameters
NUMBER = "number"  # a number from numbers and parameters
OPERAND = "operand"  # a number series or a number (at least one argument of the call is a series)

Warmup = Callable[[list[int], list[float]], int]


@dataclass(frozen=True)
class Function:
    """One function of the language.

    ``warmup(w, v)`` gets the warm-up of each argument (``w[i]``, 0 for a number) and the value
    of each number argument (``v[i]``, NaN for a series) and returns the result's warm-up.
    """

    name: str
    args: tuple[str, ...]
    kinds: tuple[str, ...]
    returns: str  # "num" or "bool"
    summary: str
    definition: str
    warmup_text: str
    warmup: Warmup

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.args)})"


def _f(
    name: str,
    args: str,
    kinds: tuple[str, ...],
    summary: str,
    definition: str,
    warmup_text: str,
    warmup: Warmup,
    returns: str = "num",
) -> Function:
    return Function(
        name,
        tuple(a.strip() for a in args.split(",") if a.strip()),
        kinds,
        returns,
        summary,
        definition,
        warmup_text,
        warmup,
    )


def _i(v: float) -> int:
    return int(v)


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        _f(
            "sma",
            "x, n",
            (SERIES, PERIOD),
            "simple moving average of the last n values",
            "math.fsum of the last n values of x, divided by n (backtrader's SMA)",
            "w(x) + n - 1",
            lambda w, v: w[0] + _i(v[1]) - 1,
        ),
        _f(
            "ema",
            "x, n",
            (SERIES, PERIOD),
            "exponential moving average, alpha = 2 / (n + 1)",
            "first value: sma(x, n); then e = e_prev * (1 - a) + x * a with a = 2 / (n + 1) "
            "(backtrader's EMA: seeded with the simple average, not with the first value)",
            "w(x) + n - 1",
            lambda w, v: w[0] + _i(v[1]) - 1,
        ),
        _f(
            "rsi",
            "x, n",
            (SERIES, PERIOD),
            "Wilder's relative strength index, 0..100",
            "up = max(x - x[1 bar ago], 0), down = max(x[1 bar ago] - x, 0); each smoothed with "
            "Wilder's average (alpha = 1 / n, seeded with the simple average of the first n); "
            "rsi = 100 - 100 / (1 + up / down); 100 when down is 0, 50 when both are 0 "
            "(backtrader's RSI with SmoothedMovingAverage and safediv)",
            "w(x) + n",
            lambda w, v: w[0] + _i(v[1]),
        ),
        _f(
            "macd",
            "x, fast, slow",
            (SERIES, PERIOD, PERIOD),
            "MACD line: ema(x, fast) - ema(x, slow)",
            "ema(x, fast) - ema(x, slow) (backtrader's MACD line)",
            "w(x) + max(fast, slow) - 1",
            lambda w, v: w[0] + max(_i(v[1]), _i(v[2])) - 1,
        ),
        _f(
            "macd_signal",
            "x, fast, slow, signal",
            (SERIES, PERIOD, PERIOD, PERIOD),
            "MACD signal line: ema(macd(x, fast, slow), signal)",
            "ema of the MACD line over signal bars, seeded with the simple average of its first "
            "signal values (backtrader's MACD signal line)",
            "w(x) + max(fast, slow) + signal - 2",
            lambda w, v: w[0] + max(_i(v[1]), _i(v[2])) + _i(v[3]) - 2,
        ),
        _f(
            "macd_hist",
            "x, fast, slow, signal",
            (SERIES, PERIOD, PERIOD, PERIOD),
            "MACD histogram: macd - macd_signal",
            "macd(x, fast, slow) - macd_signal(x, fast, slow, signal) (backtrader's MACDHisto)",
            "w(x) + max(fast, slow) + signal - 2",
            lambda w, v: w[0] + max(_i(v[1]), _i(v[2])) + _i(v[3]) - 2,
        ),
        _f(
            "bb_upper",
            "x, n, k",
            (SERIES, PERIOD, NUMBER),
            "upper Bollinger band: sma + k standard deviations",
            "sma(x, n) + k * sqrt(|sma(x^2, n) - sma(x, n)^2|), the population standard "
            "deviation over n bars (backtrader's BollingerBands top)",
            "w(x) + n - 1",
            lambda w, v: w[0] + _i(v[1]) - 1,
        ),
        _f(
            "bb_lower",
            "x, n, k",
            (SERIES, PERIOD, NUMBER),
            "lower Bollinger band: sma - k standard deviations",
            "sma(x, n) - k * sqrt(|sma(x^2, n) - sma(x, n)^2|) (backtrader's BollingerBands bot)",
            "w(x) + n - 1",
            lambda w, v: w[0] + _i(v[1]) - 1,
        ),
        _f(
            "atr",
            "n",
            (PERIOD,),
            "Wilder's average true range of the bars",
            "true range = max(high, previous close) - min(low, previous close), smoothed with "
            "Wilder's average (alpha = 1 / n, seeded with the simple average of the first n) "
            "(backtrader's ATR)",
            "n + 1",
            lambda w, v: _i(v[0]) + 1,
        ),
        _f(
            "highest",
            "x, n",
            (SERIES, PERIOD),
            "highest value of the last n (this bar included)",
            "max of x over the last n bars, this one included (backtrader's Highest)",
            "w(x) + n - 1",
            lambda w, v: w[0] + _i(v[1]) - 1,
        ),
        _f(
            "lowest",
            "x, n",
            (SERIES, PERIOD),
            "lowest value of the last n (this bar included)",
            "min of x over the last n bars, this one included (backtrader's Lowest)",
            "w(x) + n - 1",
            lambda w, v: w[0] + _i(v[1]) - 1,
        ),
        _f(
            "roc",
            "x, n",
            (SERIES, PERIOD),
            "rate of change over n bars, a fraction (0.05 = +5%)",
            "(x - x[n bars ago]) / x[n bars ago] (backtrader's ROC); NaN when x n bars ago is 0",
            "w(x) + n",
            lambda w, v: w[0] + _i(v[1]),
        ),
        _f(
            "shift",
            "x, n",
            (SERIES, PERIOD),
            "the value of x n bars ago (n >= 1: the past only)",
            "x n bars before this one (backtrader's x(-n))",
            "w(x) + n",
            lambda w, v: w[0] + _i(v[1]),
        ),
        _f(
            "crosses_above",
            "a, b",
            (OPERAND, OPERAND),
            "a crosses above b on this bar",
            "a > b on this bar, and a < b on the last earlier bar where a and b differed (a tie "
            "does not end a side: backtrader's CrossUp, from NonZeroDifference)",
            "max(w(a), w(b)) + 1",
            lambda w, v: max(w[0], w[1]) + 1,
            returns="bool",
        ),
        _f(
            "crosses_below",
            "a, b",
            (OPERAND, OPERAND),
            "a crosses below b on this bar",
            "a < b on this bar, and a > b on the last earlier bar where a and b differed "
            "(backtrader's CrossDown)",
            "max(w(a), w(b)) + 1",
            lambda w, v: max(w[0], w[1]) + 1,
            returns="bool",
        ),
    )
}

#: The price series a rule can read.
PRICES = ("open", "high", "low", "close", "volume")
