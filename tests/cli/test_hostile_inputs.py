"""Hostile input, generated (hypothesis): price files, variant files, CLI parameters and sweep
grids an adversarial user might give, run through the real entry point (:func:`main`).

Whatever the input, the command exits 0 (valid) or 2 (refused), prints no traceback, refuses in
exactly one line, and changes no file outside its ``--out`` folder. Examples are few and small
(a 70-session CSV, ``--no-files`` but for one test) so the module stays within seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import params as params_mod
from engine.cli.main import main
from engine.sweep.constraints import parse_constraints
from engine.sweep.grid import build_combinations, parse_grid
from engine.testing.prices import chart_prices
from strategies import STRATEGIES

ROOT = Path(__file__).parents[2]
FAST = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Text a number field might hold in a hostile file or command line.
HOSTILE_NUMBERS = [
    "nan", "NaN", "inf", "-inf", "Infinity", "1e999", "-1e999", "1e300", "1e-300", "0", "-0",
    "-1", "1e15", "1e16", "9223372036854775808", "", " ", "abc", "true", "0x10", "1_000",
    "5e-324", "1,5", "--1", "💥",
]  # fmt: skip
HOSTILE_DATES = [
    "1600-01-03", "9999-12-31", "2025-13-45", "2025-02-30", "", "abc", "2025-06-07",
    "2025-06-03 00:00:00-04:00", "2025-06-03T00:00:00Z", "1748962200", "20250603", "0",
    "10000-01-01", "2025-06-03 25:00", "-1",
]  # fmt: skip


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` with its stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, err: str) -> None:
    """Exit 0 or 2, no traceback, and when refused, exactly one line that is not a warning."""
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err, err
    others = [line for line in err.splitlines() if not line.startswith("warning:")]
    assert len(others) == (1 if code == 2 else 0), err
    if code == 2:
        assert len(others[0]) < 1000, others[0][:300]


def snapshot(*folders: Path, skip: Path | None = None) -> dict[str, str]:
    """Path -> sha256 of every file under ``folders`` (``skip`` and what is under it left out)."""
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and (skip is None or skip not in p.parents):
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's folder: a good price file and two charts of the user's own."""
    d = tmp_path_factory.mktemp("home")
    chart_prices(70, seed=3, start="2025-06-02").to_csv(d / "good.csv")
    (d / "equity_mine.png").write_bytes(b"\x89PNG not ours")
    (d / "notes.txt").write_text("keep me\n")
    return d


@pytest.fixture(scope="module")
def data(data_dir: Path) -> Path:
    return data_dir


# ------------------------------------------------------------------------------------ CSVs


@st.composite
def hostile_csv(draw: st.DrawFn, good: str) -> str:
    """The good CSV with a few cells, dates, header fields or lines made hostile."""
    lines = good.splitlines()
    header, rows = lines[0].split(","), [line.split(",") for line in lines[1:]]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cell", "date", "header", "line", "drop", "swap"]))
        i = draw(st.integers(0, len(rows) - 1))
        if kind == "cell":
            j = draw(st.integers(1, len(header) - 1))
            rows[i][j] = draw(st.sampled_from(HOSTILE_NUMBERS))
        elif kind == "date":
            rows[i][0] = draw(st.sampled_from(HOSTILE_DATES))
        elif kind == "header":
            j = draw(st.integers(0, len(header) - 1))
            header[j] = draw(
                st.sampled_from(["time", "Date", "Volume", "Adj Close", "Plot", "", "open", "x y"])
            )
        elif kind == "line":
            rows.insert(i, [draw(st.text(max_size=30)).replace("\n", " ")])
        elif kind == "drop" and len(rows) > 1:
            del rows[i]
        elif kind == "swap" and i + 1 < len(rows):
            rows[i], rows[i + 1] = rows[i + 1], rows[i]
    return "\n".join(",".join(r) for r in [header, *rows]) + "\n"


@FAST
@given(data_=st.data())
def test_hostile_price_files(data_: st.DataObject, home: Path, data: Path) -> None:
    text = data_.draw(hostile_csv((home / "good.csv").read_text()))
    path = home / "hostile.csv"
    path.write_text(text)
    before = snapshot(home, data, skip=path)
    for argv in (
        ["data", "check", str(path)],
        [
            "run",
            "--csv",
            str(path),
            "--strategy",
            "buy_hold",
            "--data-dir",
            str(data),
            "--no-files",
        ],
    ):
        with inside(home):
            code, _, err = run_main(argv)
        assert_clean(code, err)
    assert snapshot(home, data, skip=path) == before


# ------------------------------------------------------------------------------------ CLI parameters

COST_OPTIONS = ["--cash", "--slippage", "--commission", "--commission-min", "--commission-max", "--borrow-fee"]  # fmt: skip


@st.composite
def hostile_options(draw: st.DrawFn) -> list[str]:
    """A strategy, a few ``--param`` / cost / window / sizing options with hostile values."""
    name = draw(st.sampled_from(sorted(STRATEGIES)))
    keys = list(params_mod.declared(STRATEGIES[name])) + ["stp", ""]
    argv = ["run", "--strategy", name]
    value = st.one_of(
        st.sampled_from(HOSTILE_NUMBERS + HOSTILE_DATES + ["nan,90,86", "94,90,nan", "a,b"]),
        st.text(max_size=12).filter(lambda t: "\x00" not in t),
    )
    for _ in range(draw(st.integers(0, 3))):
        argv += ["--param", f"{draw(st.sampled_from(keys))}={draw(value)}"]
    for _ in range(draw(st.integers(0, 2))):
        argv += [f"{draw(st.sampled_from(COST_OPTIONS))}={draw(st.sampled_from(HOSTILE_NUMBERS))}"]
    if draw(st.booleans()):
        argv += [
            f"--{draw(st.sampled_from(['start', 'end']))}={draw(st.sampled_from(HOSTILE_DATES))}"
        ]
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["all_in", "fraction", "fixed", "shares", "risk", "x"]))
        argv += [f"--sizing={kind}:{draw(st.sampled_from(HOSTILE_NUMBERS))}"]
    return argv


@FAST
@given(argv=hostile_options())
def test_hostile_cli_parameters(argv: list[str], home: Path, data: Path) -> None:
    before = snapshot(home, data)
    with inside(home):
        code, _, err = run_main([*argv, "--csv", "good.csv", "--data-dir", str(data), "--no-files"])
    assert_clean(code, err)
    assert snapshot(home, data) == before


# ------------------------------------------------------------------------------------ variant files

TOML_VALUES = [
    "nan", "inf", "-inf", "true", "false", "[1, 2]", "[nan, 90, 86]", '"text"', "1e308", "-1",
    "0", "9223372036854775807", "1979-05-27", "1600-01-01", "{ a = 1 }", '["swing"]', "3.5",
    '"94,90,86"', "[true, 90, 86]", '""',
]  # fmt: skip


@st.composite
def hostile_variants(draw: st.DrawFn) -> str:
    """A variants file: tables with hostile names, strategies, keys and parameter values."""
    out = []
    for n in range(draw(st.integers(1, 3))):
        name = draw(
            st.sampled_from(["v", "buy_hold", "bh", "benchmark", "swing", f"v{n}", '"a b"'])
        )
        strategy = draw(
            st.sampled_from(['"swing"', '"ma_trend"', '"buy_hold"', '"nope"', '["swing"]', "1"])
        )
        cls = STRATEGIES.get(strategy.strip('"'), STRATEGIES["swing"])
        keys = list(params_mod.declared(cls)) + ["stp"]
        pairs = [
            f"{draw(st.sampled_from(keys))} = {draw(st.sampled_from(TOML_VALUES))}"
            for _ in range(draw(st.integers(0, 3)))
        ]
        extra = draw(
            st.sampled_from(["", "sizing = 5", 'sizing = "risk:nan"', "description = []", "x = 1"])
        )
        out.append(f"[{name}]\nstrategy = {strategy}\nparams = {{ {', '.join(pairs)} }}\n{extra}\n")
    text = "\n".join(out)
    if draw(st.integers(0, 9)) == 0:  # now and then, a file cut short
        text = text[: draw(st.integers(0, len(text)))]
    return text


@FAST
@given(text=hostile_variants())
def test_hostile_variant_files(text: str, home: Path, data: Path) -> None:
    path = home / "variants.toml"
    path.write_text(text)
    before = snapshot(home, data, skip=path)
    argv = ["compare", "--config", str(path), "--csv", "good.csv", "--data-dir", str(data)]
    with inside(home):
        code, _, err = run_main([*argv, "--no-files"])
    assert_clean(code, err)
    assert snapshot(home, data, skip=path) == before


# ------------------------------------------------------------------------------------ --out


@settings(FAST, max_examples=8)
@given(argv=hostile_options())
def test_nothing_outside_out_changes(argv: list[str], home: Path, data: Path) -> None:
    """A run that writes its folder writes only there (the user's own charts beside it stay)."""
    out = home / "out"
    before = snapshot(home, data, skip=out)
    with inside(home):
        code, _, err = run_main(
            [*argv, "--csv", "good.csv", "--data-dir", str(data), "--out", str(out), "--no-plots"]
        )
    assert_clean(code, err)
    assert snapshot(home, data, skip=out) == before


# ------------------------------------------------------------------------------------ sweep grids


@FAST
@given(
    key=st.sampled_from(["fast", "slow", "hold_bars", "mode", "nope"]),
    spec=st.one_of(
        st.sampled_from(
            [
                "1:1e999999999:1",
                "1:2:1e-999999999",
                "nan,5",
                "inf:5:1",
                "5:1:1",
                "1:5:0",
                "a:b:c",
                "5,,6",
                "1:10",
                ",".join(map(str, range(20_000))),
                "true,false",
                "1e15:1e16:1",
            ]
        ),  # fmt: skip
        st.text(max_size=20),
    ),
    constraint=st.sampled_from(
        [
            "",
            "fast < slow",
            "mode * 100000000000 == 'x'",
            "fast / (slow - slow) > 1",
            "__import__('os')",
            "fast ** 999",
            "(" * 200,
            "mode < 3",
        ]
    ),  # fmt: skip
)
def test_hostile_grids_and_constraints_are_one_line_errors(
    key: str, spec: str, constraint: str
) -> None:
    """The grid and constraint stage of ``crwv-bt sweep`` (its CLI runs these first): a grid
    either expands or is refused with one :class:`ParamError` line."""
    from engine.errors import ParamError

    cls = STRATEGIES["ma_trend"]
    try:
        axes = parse_grid(cls, [f"{key}={spec}"])
        rules = parse_constraints([constraint] if constraint else [], cls)
        build_combinations(cls, axes, rules)
    except ParamError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 1000
