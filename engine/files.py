"""Files and JSON: the one home for atomic writes and for turning values into plain JSON.

* :func:`atomic_write_bytes` / :func:`atomic_write_text` write a whole file at once; a
  streamed writer uses :func:`atomic_target` (a temp file beside the target, renamed over it
  when complete). Either way a reader sees the old file or the new one, never a mix, and a
  failed write leaves no temp file behind.
* :func:`staging_folder` and :func:`move_into` write a set of files (a run folder): all of them
  are built in a private temp folder, then moved in one by one (``os.replace``).
* :func:`plain_json` turns any value the engine produces (numpy scalars and arrays, pandas
  Series and timestamps, dataclasses, tuples, paths) into plain JSON data: NaN, NA and NaT
  become ``null``, ``+/-inf`` the strings ``"inf"`` / ``"-inf"`` (JSON has no infinity).
* :func:`json_text` is the JSON text of a run's or a sweep's files (indent 2, no NaN, trailing
  newline); :func:`write_json` writes it atomically. :func:`canonical_json` is the compact,
  key-sorted text that sweep keys are hashed from (never reformat it: stored keys depend on it).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------------- atomic writes


@contextmanager
def atomic_target(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temp path beside ``path`` to write into; renamed over ``path`` when the block succeeds.

    The folder is created when missing. On success the temp file is flushed to disk, given the
    permissions a plain ``open()`` would, and moved into place with ``os.replace``; on any
    error it is removed and ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp creates the file 0600; give it the permissions a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike[str], payload: bytes) -> None:
    """Write bytes atomically: a reader sees the old file or the new one, never a mix."""
    with atomic_target(path) as tmp:
        tmp.write_bytes(payload)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) atomically through a temp file and ``os.replace``."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def staging_folder(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """A private temp folder beside ``out_dir`` to build files in, removed whatever happens."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def move_into(
    tmp: Path, out_dir: str | os.PathLike[str], names: list[str], stale: tuple[str, ...] = ()
) -> list[Path]:
    """Move the files ``names`` from ``tmp`` into ``out_dir``, in that order; drop stale files.

    Each move is an ``os.replace`` (atomic per file). ``stale`` are glob patterns of files a
    previous write may have left that this one does not replace (e.g. the chart of a strategy
    no longer in the run): matching files not in ``names`` are deleted first.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for pattern in stale:
        for old in out.glob(pattern):
            if old.name not in names and old.is_file():
                old.unlink()
    written = []
    for name in names:
        os.replace(tmp / name, out / name)
        written.append(out / name)
    return written


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ------------------------------------------------------------------------------------ plain JSON


def plain_json(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, str, int, float, bool, None).

    NaN, ``None``, ``pd.NA`` and ``NaT`` -> ``None``; ``+/-inf`` -> ``"inf"`` / ``"-inf"``;
    numpy scalars -> Python scalars; arrays, tuples and sets -> lists (sets sorted); a Series
    -> a dict in index order; a dataclass -> a dict of its fields; a date or a midnight
    timestamp -> ``YYYY-MM-DD`` (else ISO 8601); a Timedelta -> whole days; a path -> its name
    (never an absolute path); anything else -> its text.
    """
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, pd.Series):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain_json(v) for v in value]
    if isinstance(value, set | frozenset):
        return [plain_json(v) for v in sorted(value, key=str)]
    if is_dataclass(value) and not isinstance(value, type):
        return plain_json(asdict(value))
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, pd.Timestamp | datetime | date):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.days
    if isinstance(value, os.PathLike):
        return Path(value).name
    return str(value)


def json_text(doc: Any, *, sort_keys: bool = True) -> str:
    """JSON text of ``plain_json(doc)``: indent 2, no NaN, trailing newline.

    ``sort_keys`` (the default) makes the same content give the same bytes; a summary whose
    key order reads best as written passes ``sort_keys=False``.
    """
    return json.dumps(plain_json(doc), sort_keys=sort_keys, indent=2, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], doc: Any, *, sort_keys: bool = True) -> Path:
    """Write :func:`json_text` of ``doc`` to ``path`` atomically; returns the path."""
    atomic_write_text(path, json_text(doc, sort_keys=sort_keys))
    return Path(path)


def canonical_json(value: Any) -> str:
    """Stable JSON: sorted keys, no spaces, tuples as lists, floats in shortest round-trip form."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)
