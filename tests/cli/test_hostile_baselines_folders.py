"""Hostile baselines, run folders and --out targets, generated (issue 14): the real CLI
entry point, in-process, never a traceback (price files, variants and parameters:
``test_hostile_inputs.py``).

Each property runs ``engine.cli.main.main`` on a generated input and asserts: exit 0 (or 1 for
``regress``, "something moved") or 2; stderr holds no traceback and, on 2, exactly one
``error:`` line; no file outside the command's output changed (the tmp tree is snapshotted
before and after), and on a refusal nothing changed at all. Examples are few (the whole module
runs in well under a minute): the point is breadth of shape, not volume.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analysis.metrics import compute_metrics
from engine.backtest.harness import run_backtest
from engine.cli.main import main
from engine.folders import MANIFEST, write_manifest
from engine.report.run_folder import write_run
from engine.testing.baselines import VARIANTS, write_data_dir
from engine.testing.prices import walk_prices
from strategies import STRATEGIES

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure reproduces
    suppress_health_check=list(HealthCheck),
)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` in-process: exit code and stderr (stdout discarded)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def assert_clean(code: int, err: str, allowed: tuple[int, ...] = (0, 2)) -> None:
    assert code in allowed, err
    assert "Traceback" not in err and "Error:" not in err.replace("error:", ""), err
    errors = [ln for ln in err.splitlines() if not ln.startswith("warning: ")]
    if code == 2:
        assert len(errors) == 1 and errors[0].startswith("error: "), err
    else:
        assert not [ln for ln in errors if ln.startswith("error")], err


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hostile-") as d:
        yield Path(d)


# ---------------------------------------------------------------------------------- baselines


@pytest.fixture(scope="module")
def regress_setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("regress")
    data = write_data_dir(tmp / "data", spy=True)
    variants = tmp / "variants.toml"
    variants.write_text(VARIANTS, encoding="utf-8")
    base = tmp / "good.json"
    code, err = run_cli(
        ["regress", "--update", "--baseline", str(base), "--config", str(variants)]
        + ["--data-dir", str(data)]
    )
    assert code == 0, err
    return {"data": data, "variants": variants, "baseline": base}


HOSTILE_VALUES = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e999", "9" * 400, "[]", "{}", '"text"', "null", "true"]
    + ["[" * 5000, '"inf"', "-0.0"]
)


@st.composite
def hostile_baselines(draw: st.DrawFn, text: str) -> str:
    """The good baseline with one hostile edit: a value replaced, the text cut or spliced."""
    kind = draw(st.sampled_from(["value", "cut", "splice", "all_metrics"]))
    if kind == "cut":
        return text[: draw(st.integers(0, len(text) - 1))]
    if kind == "splice":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.text(max_size=20)) + text[at:]
    token = draw(HOSTILE_VALUES)
    doc = json.loads(text)
    labels = sorted(doc["configurations"])
    entry = doc["configurations"][draw(st.sampled_from(labels))]
    keys = (
        sorted(entry["metrics"])
        if kind == "all_metrics"
        else [draw(st.sampled_from(sorted(entry["metrics"])))]
    )
    marker = "\u0000HOSTILE\u0000"
    for key in keys:
        entry["metrics"][key] = marker
    return json.dumps(doc, indent=1).replace(json.dumps(marker), token)


@SETTINGS
@given(data=st.data())
def test_a_hostile_baseline_never_holds(
    regress_setup: dict[str, Path], data: st.DataObject
) -> None:
    good = regress_setup["baseline"].read_text(encoding="utf-8")
    text = data.draw(hostile_baselines(good))
    with scratch() as tmp:
        path = tmp / "baseline.json"
        path.write_bytes(text.encode("utf-8"))
        before = snapshot(regress_setup["data"])
        code, err = run_cli(
            ["regress", "--baseline", str(path), "--config", str(regress_setup["variants"])]
            + ["--data-dir", str(regress_setup["data"])]
        )
        assert_clean(code, err, allowed=(0, 1, 2))
        if code == 0:  # it may hold only when the edit changed nothing that is compared
            assert _same_content(text, good), text[:200]
        assert snapshot(regress_setup["data"]) == before and path.read_bytes() == text.encode(
            "utf-8"
        )


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _same_content(text: str, good: str) -> bool:
    """Whether an edited baseline means the same as the good one (e.g. -0.0 for 0.0)."""
    if not _parses(text):
        return False
    return json.loads(text) == json.loads(good)


# ---------------------------------------------------------------------------- run folders


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prices = walk_prices(200, 3)
    runs = [
        run_backtest(STRATEGIES[name], prices, name=name, ticker="CRWV")
        for name in ("ma_trend", "buy_hold")
    ]
    metrics = {r.strategy: compute_metrics(r.equity, r.trades) for r in runs}
    out = tmp_path_factory.mktemp("folder") / "run"
    write_run(out, runs, metrics, prices, plots=False)
    return out


TAMPERABLE = ["metrics.json", "equity.csv", "trades.csv", "fills.csv", "prices.csv", MANIFEST]


@st.composite
def tamperings(draw: st.DrawFn) -> tuple[str, str, int, bytes]:
    name = draw(st.sampled_from(TAMPERABLE))
    how = draw(st.sampled_from(["delete", "cut", "bytes", "empty", "text", "lines"]))
    return name, how, draw(st.integers(0, 10_000)), draw(st.binary(min_size=1, max_size=40))


def tamper(folder: Path, name: str, how: str, at: int, junk: bytes) -> None:
    path = folder / name
    raw = path.read_bytes()
    pos = at % (len(raw) + 1)
    if how == "delete":
        path.unlink()
    elif how == "cut":
        path.write_bytes(raw[:pos])
    elif how == "bytes":
        path.write_bytes(raw[:pos] + junk + raw[pos + len(junk) :])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "text":
        path.write_bytes(junk.decode("latin-1").encode("utf-8"))
    else:  # drop some lines from the end
        lines = raw.splitlines(keepends=True)
        path.write_bytes(b"".join(lines[: max(1, len(lines) - 1 - at % 5)]))


@SETTINGS
@given(change=tamperings())
def test_a_tampered_run_folder_is_one_line_or_a_report(
    run_folder: Path, change: tuple[str, str, int, bytes]
) -> None:
    with scratch() as tmp:
        folder = tmp / "run"
        shutil.copytree(run_folder, folder)
        (tmp / "beside.txt").write_text("not the report's")
        tamper(folder, *change)
        before = snapshot(tmp)
        code, err = run_cli(["report", str(folder)])
        assert_clean(code, err)
        after = snapshot(tmp)
        if code == 2:
            assert after == before  # refused: nothing rewritten
        else:  # only the charts and the report changed, inside the folder
            changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
            assert all(k.startswith("run/") for k in changed), changed
            charts = {"run/report.html", f"run/{MANIFEST}"}
            assert all(k in charts or k.endswith(".png") for k in changed), changed


# ------------------------------------------------------------------------------ --out targets


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data_dir(tmp_path_factory.mktemp("out-data") / "data", n=160)


USER_FILES = ["metrics.json", "equity_foo.png", "report.html", "notes.txt", "equity.csv"]


@st.composite
def out_targets(draw: st.DrawFn) -> tuple[str, list[str], bool, int]:
    """(kind of target, the user's files in it, whether a manifest lists some, name length)."""
    kind = draw(st.sampled_from(["missing", "folder", "file", "under_file", "long"]))
    files = draw(st.lists(st.sampled_from(USER_FILES), unique=True, max_size=3))
    return kind, files, draw(st.booleans()), draw(st.integers(200, 400))


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(target=out_targets())
def test_out_never_harms_what_it_does_not_own(
    tiny_data: Path, target: tuple[str, list[str], bool, int]
) -> None:
    kind, files, listed, length = target
    with scratch() as tmp:
        (tmp / "afile").write_text("a file")
        out = {
            "missing": tmp / "new" / "run",
            "folder": tmp / "out",
            "file": tmp / "afile",
            "under_file": tmp / "afile" / "run",
            "long": tmp / ("n" * length),
        }[kind]
        if kind == "folder":
            out.mkdir()
            for name in files:
                (out / name).write_text(f"the user's {name}")
            if listed and files:
                write_manifest(out, files[:1])  # crwv-bt wrote the first one
        before = snapshot(tmp)
        listed_names = files[:1] if kind == "folder" and listed else []
        owned = {f"out/{n}" for n in listed_names} | (
            {f"out/{MANIFEST}"} if listed_names else set()
        )
        code, err = run_cli(
            ["run", "--strategy", "ma_trend", "--no-plots", "--data-dir", str(tiny_data)]
            + ["--out", str(out)]
        )
        assert_clean(code, err)
        after = snapshot(tmp)
        if code == 2:
            assert after == before  # refused: nothing changed anywhere
            return
        inside = out.relative_to(tmp).as_posix() + "/"
        for key, value in before.items():  # the user's files: neither changed nor removed
            if key not in owned:
                assert after.get(key) == value, key
        assert all(k.startswith(inside) or before.get(k) == v for k, v in after.items())
