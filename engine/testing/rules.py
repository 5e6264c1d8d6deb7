"""Random rules for the equivalence and look-ahead tests (hypothesis strategies).

:func:`rule_texts` draws the TOML text of one rule ``[r]``: conditions over every function and
operator of the language (nested up to three levels, periods as numbers, parameters and
arithmetic of parameters, numbers on either side of a cross), true/false parameters, and any
mix of exit condition and protective orders. The text goes through the real loader, so the
parser is exercised too. Needs ``hypothesis`` (a test dependency).
"""

from __future__ import annotations

from hypothesis import strategies as st

LEAVES = ("close", "open", "high", "low", "volume / 1000000", "(high + low) / 2")
ONE_ARG = ("sma", "ema", "rsi", "highest", "lowest", "roc", "shift")
NUMBERS = ("2", "0.5", "lvl", "100", "k")


def periods() -> st.SearchStrategy[str]:
    """A period: a number, a parameter or arithmetic of parameters (always >= 1)."""
    return st.one_of(
        st.integers(1, 9).map(str), st.sampled_from(["n1", "n2", "n1 + 1", "n2 - 2", "n1 * 2"])
    )


@st.composite
def series(draw: st.DrawFn, depth: int = 2) -> str:
    """A number series: a price, a function of a series, or arithmetic of series and numbers."""
    leaf = st.sampled_from(LEAVES)
    kind = draw(st.integers(0, 9)) if depth > 0 else 0
    if kind <= 2:
        return draw(leaf)
    x = draw(series(depth - 1))
    if kind == 3:
        return f"{draw(st.sampled_from(ONE_ARG))}({x}, {draw(periods())})"
    if kind == 4:
        fast, slow = draw(periods()), draw(periods())
        name = draw(st.sampled_from(["macd", "macd_signal", "macd_hist"]))
        tail = "" if name == "macd" else f", {draw(periods())}"
        return f"{name}({x}, {fast}, {slow}{tail})"
    if kind == 5:
        band = draw(st.sampled_from(["bb_upper", "bb_lower"]))
        return f"{band}({x}, {draw(periods())}, {draw(st.sampled_from(['2', '1.5', 'k']))})"
    if kind == 6:
        return f"atr({draw(periods())})"
    if kind == 7:
        op = draw(st.sampled_from(["+", "-", "*", "/"]))
        other = draw(st.one_of(series(depth - 1), st.sampled_from(NUMBERS)))
        return f"({x} {op} {other})"
    if kind == 8:
        return f"-{x}"
    return x


@st.composite
def condition(draw: st.DrawFn, depth: int = 2) -> str:
    """A condition: comparisons (and chains), crosses, and / or / not, a true/false parameter."""
    kind = draw(st.integers(0, 8 if depth > 0 else 3))
    a = draw(series(2))
    if kind <= 1:
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
        b = draw(st.one_of(series(1), st.sampled_from(["lvl", "50", "0", "1.5"])))
        return f"{a} {op} {b}"
    if kind == 2:
        name = draw(st.sampled_from(["crosses_above", "crosses_below"]))
        b = draw(st.one_of(series(1), st.sampled_from(["lvl", "50", "100"])))
        return f"{name}({a}, {b})" if draw(st.booleans()) else f"{name}({b}, {a})"
    if kind == 3:
        lo, hi = sorted([draw(st.integers(10, 60)), draw(st.integers(40, 90))])
        return f"{lo} < rsi(close, {draw(periods())}) < {hi}"
    if kind == 4:
        return f"not ({draw(condition(depth - 1))})"
    if kind == 5:
        return f"({draw(condition(depth - 1))}) and ({draw(condition(depth - 1))})"
    if kind == 6:
        return f"({draw(condition(depth - 1))}) or ({draw(condition(depth - 1))})"
    if kind == 7:
        return f"(flag or {draw(condition(depth - 1))})"
    return f"(not flag and {draw(condition(depth - 1))})"


@st.composite
def rule_texts(draw: st.DrawFn) -> str:
    """The TOML text of one valid rule ``[r]`` (parameters n1, n2, lvl, k, flag, sl)."""
    params = {
        "n1": str(draw(st.integers(1, 8))),
        "n2": str(draw(st.integers(3, 12))),
        "lvl": draw(st.sampled_from(["50.0", "30.0", "100.0", "0.0"])),
        "k": draw(st.sampled_from(["1.5", "2.0", "0.0"])),
        "flag": draw(st.sampled_from(["true", "false"])),
        "sl": draw(st.sampled_from(["0.0", "0.05", "0.12"])),
    }
    lines = ["[r]", "params = { " + ", ".join(f"{k} = {v}" for k, v in params.items()) + " }"]
    lines.append(f'entry = "{draw(condition())}"')
    has_exit = draw(st.integers(0, 4)) > 0
    if has_exit:
        lines.append(f'exit = "{draw(condition())}"')
    orders: dict[str, str] = {
        "stop_loss": draw(st.sampled_from(["0", "0", "0.02", "0.1", '"sl"'])),
        "take_profit": draw(st.sampled_from(["0", "0", "0.03", "0.1", "0.3"])),
        "trailing_stop": draw(st.sampled_from(["0", "0", "0.03", "0.08", "0.15"])),
        "max_bars": draw(st.sampled_from(["0", "0", "1", "2", "5", "12"])),
    }
    if not has_exit and all(v in ("0", '"sl"') for v in orders.values()):
        orders["max_bars"] = "3"
    lines += [f"{k} = {v}" for k, v in orders.items() if v != "0"]
    return "\n".join(lines) + "\n"
