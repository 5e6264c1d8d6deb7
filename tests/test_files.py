"""engine.files: the one JSON converter, JSON text, and atomic writes (whole files and folders)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.files import (
    atomic_target,
    atomic_write_text,
    canonical_json,
    json_text,
    move_into,
    plain_json,
    staging_folder,
    write_json,
)


@dataclass(frozen=True)
class _Pair:
    a: float
    b: tuple[int, ...]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (math.nan, None),
        (np.float32("nan"), None),
        (None, None),
        (pd.NA, None),
        (pd.NaT, None),
        (math.inf, "inf"),
        (-np.inf, "-inf"),
        (np.float64(1.5), 1.5),
        (np.int64(7), 7),
        (np.bool_(True), True),
        ("text", "text"),
        ((1, 2.5), [1, 2.5]),
        ({3, 1, 2}, [1, 2, 3]),
        (np.array([1.0, np.nan]), [1.0, None]),
        (pd.Timestamp("2025-08-25"), "2025-08-25"),
        (pd.Timestamp("2025-08-25 09:30"), "2025-08-25T09:30:00"),
        (date(2025, 8, 25), "2025-08-25"),
        (pd.Timedelta(days=3, hours=5), 3),
        (Path("/abs/secret/run.csv"), "run.csv"),
        (_Pair(math.inf, (1,)), {"a": "inf", "b": [1]}),
        ({1: {"x": np.float64(2.0)}}, {"1": {"x": 2.0}}),
        (pd.Series({"b": np.int64(1), "a": np.nan}), {"b": 1, "a": None}),
    ],
)
def test_plain_json(value: object, expected: object) -> None:
    got = plain_json(value)
    assert got == expected and type(got) is type(expected)
    json.dumps(got, allow_nan=False)


def test_json_text_is_deterministic_and_strict() -> None:
    doc = {"b": [np.float64(1.0), math.nan], "a": math.inf}
    assert json_text(doc) == '{\n  "a": "inf",\n  "b": [\n    1.0,\n    null\n  ]\n}\n'
    assert list(json.loads(json_text(doc, sort_keys=False))) == ["b", "a"]
    assert canonical_json({"b": 1, "a": (1.5, "x")}) == '{"a":[1.5,"x"],"b":1}'


def test_atomic_writes_replace_whole_files_with_open_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.json"
    write_json(target, {"k": 1})
    assert json.loads(target.read_text()) == {"k": 1}
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n" and os.listdir(target.parent) == ["x.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_target(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["x.txt"]


def test_staging_folder_and_move_into(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "old_1.png").write_text("stale")
    (out / "keep.txt").write_text("not ours")
    with staging_folder(out) as tmp:
        for name in ("a.csv", "new_1.png"):
            (tmp / name).write_text(name)
        written = move_into(tmp, out, ["a.csv", "new_1.png"], stale=("*_1.png",))
    assert [p.name for p in written] == ["a.csv", "new_1.png"]
    assert sorted(os.listdir(out)) == ["a.csv", "keep.txt", "new_1.png"]
    assert sorted(os.listdir(tmp_path)) == ["run"]  # the staging folder is gone
