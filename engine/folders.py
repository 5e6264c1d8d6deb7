"""Output paths: checked before the work starts, and a folder owns only the files it wrote.

One home for two jobs every command that writes shares:

* :func:`check_file_target` - a file a command will write (``--junit``, ``--markdown``,
  ``export --out``) is checked, and its folder probed, before the work: a folder where the
  file belongs, a missing or read-only folder, a name too long is one line
  (:func:`engine.errors.os_error`), not a traceback after minutes of work.
* :func:`claim_folder` and :func:`commit_files` - the **run folder ownership rule** (README,
  "Run folders"). An output folder (``--out``) must be missing, empty, or one crwv-bt wrote
  before: such a folder holds :data:`MANIFEST`, the list of the files crwv-bt wrote there.

  - Anything else (a folder holding files and no manifest) is refused in one line before any
    work starts; nothing in it is read, replaced or removed.
  - Writing into a folder it owns replaces the files its manifest lists and removes those of
    them this write no longer produces (the chart of a strategy no longer in the run); a file
    the manifest does not list (one the user put there) is never removed, and a write that
    would replace one is refused before anything is moved in.
  - A folder written by an older crwv-bt, before manifests (the caller recognises it: a run
    folder's ``metrics.json`` and only the names a run writes), is *adopted*: its files are
    replaced when written again, none is removed, and from then on it has a manifest.

  The manifest is written before the files are moved in (listing the old and the new
  names), then rewritten without the files removed, so a kill at any point leaves only files
  the manifest lists.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.errors import FileSystemError, UserError, os_error, short_path
from engine.files import write_json

#: The file listing what crwv-bt wrote in a folder (JSON: ``app``, ``version``, ``files``).
MANIFEST = "crwv-bt-manifest.json"
APP = "crwv-bt"
_VERSION = 1


@dataclass(frozen=True)
class Claim:
    """A folder crwv-bt may write into: ``owned`` files (its manifest's), ``adopted`` (an older
    run folder without a manifest: replace, never remove), ``created`` (it did not exist)."""

    path: Path
    owned: frozenset[str]
    adopted: bool = False
    created: bool = False


# ------------------------------------------------------------------------------------ files


def check_file_target(path: str | os.PathLike[str], option: str) -> Path:
    """Check that ``path`` can be written as a file, before the work starts.

    Its folder is created when missing and probed with a temp file (the name an atomic write
    uses, so a name too long fails here too). ``option`` names the setting in the message
    (``"--markdown"``).
    """
    p = Path(path)
    try:
        if p.is_dir():
            raise FileSystemError(f"{option} {short_path(p)} is a folder; give a file name")
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise os_error(_mkdir_error(exc), "write", p, _fix(exc, option)) from None
    return p


def _mkdir_error(exc: OSError) -> OSError:
    """``mkdir(parents=True, exist_ok=True)`` fails with EEXIST when a part of the path is a
    file: say that, not "it already exists"."""
    if isinstance(exc, FileExistsError):
        return NotADirectoryError(errno.ENOTDIR, "Not a directory", exc.filename)
    return exc


def _fix(exc: OSError, option: str) -> str:
    return (
        "use a shorter name" if exc.errno == errno.ENAMETOOLONG else f"choose a writable {option}"
    )


# ---------------------------------------------------------------------------------- folders


def claim_folder(
    path: str | os.PathLike[str],
    *,
    option: str = "--out",
    adopt: Callable[[Path, list[str]], bool] | None = None,
    create: bool = True,
    mark: bool = False,
) -> Claim:
    """Check that crwv-bt may write into the folder ``path`` (module docstring); create it.

    Raises a one-line :class:`engine.errors.UserError` when it is a file, cannot be created or
    written, or holds files crwv-bt did not write. ``adopt(folder, names)`` says whether a
    folder without a manifest is one an older crwv-bt wrote. With ``create=False`` a missing
    folder is an error (``crwv-bt report DIR``); with ``mark`` an empty folder gets an empty
    manifest at once (a folder of folders, as ``--tickers`` writes, is then ours from the start).
    """
    out = Path(path)
    try:
        if out.exists() and not out.is_dir():
            raise FileSystemError(
                f"{option} {short_path(out)} is a file, not a folder; give a new folder name"
            )
        created = not out.exists()
        if created and not create:
            raise FileSystemError(f"{short_path(out)}: no such folder; give a folder a run wrote")
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".crwv-bt-probe.", suffix=".tmp", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise os_error(_mkdir_error(exc), "write in the folder", out, _fix(exc, option)) from None
    owned = read_manifest(out)
    if owned is not None:
        return Claim(out, owned, created=created)
    names = sorted(n for n in os.listdir(out) if not _temp_name(n))
    if not names:
        if mark:
            write_manifest(out, ())
        return Claim(out, frozenset(), created=created)
    if adopt is not None and adopt(out, names):
        return Claim(out, frozenset(), adopted=True, created=created)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    if not create:  # a folder to rewrite in place (crwv-bt report DIR)
        raise UserError(
            f"{short_path(out)} holds files crwv-bt did not write ({shown}) and no {MANIFEST}; "
            "give a folder a run wrote (crwv-bt rewrites only folders it made)"
        )
    raise UserError(
        f"{option} {short_path(out)} holds files crwv-bt did not write ({shown}) and no "
        f"{MANIFEST}; give a new or empty folder (crwv-bt writes only into folders it made)"
    )


@contextmanager
def reserved(path: str | os.PathLike[str], **kwargs: object) -> Iterator[Claim]:
    """:func:`claim_folder` for the length of a command: a folder it created is removed again
    when the command fails before writing anything into it."""
    claim = claim_folder(path, **kwargs)  # type: ignore[arg-type]
    try:
        yield claim
    except BaseException:
        if claim.created:
            try:
                if read_manifest(claim.path) == frozenset():
                    (claim.path / MANIFEST).unlink()
                claim.path.rmdir()  # only when nothing else is in it
            except (OSError, UserError):
                pass
        raise


def take_names(folder: str | os.PathLike[str], names: Iterable[str], check: bool = True) -> None:
    """Before a command writes ``names`` straight into a claimed ``folder`` (atomic per file,
    no staging): refuse a name that exists and crwv-bt did not write, then list them all in
    the manifest (first, so a kill mid-way leaves only listed files). ``check=False`` only
    lists them (files just written whose names were not known before)."""
    folder = Path(folder)
    names = [n for n in names if _plain_name(n)]
    owned = read_manifest(folder) or frozenset()
    clash = [n for n in names if check and n not in owned and os.path.lexists(folder / n)]
    if clash:
        raise UserError(
            f"{short_path(folder / clash[0])} exists and crwv-bt did not write it (it is not in "
            f"{MANIFEST}); move it away or choose another folder"
        )
    write_manifest(folder, owned | set(names))


def read_manifest(folder: Path) -> frozenset[str] | None:
    """The file names ``folder``'s manifest lists; None without a manifest. A manifest that
    is not ours or is damaged is refused (one line): the folder's owner is then unknown."""
    p = folder / MANIFEST
    if not p.exists():
        return None
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise os_error(exc, "read", p) from None
    except (ValueError, RecursionError):
        doc = None
    files = doc.get("files") if isinstance(doc, dict) and doc.get("app") == APP else None
    if not isinstance(files, list) or not all(_plain_name(n) for n in files):
        raise UserError(
            f"{short_path(p)} is damaged or not crwv-bt's; delete it only if crwv-bt wrote this "
            "folder, or choose another folder"
        )
    return frozenset(files)


def commit_files(
    claim: Claim,
    staging: Path,
    names: list[str],
    *,
    replaces: Callable[[str], bool] = lambda name: True,
) -> list[Path]:
    """Move ``names`` from ``staging`` into the claimed folder, in order; update the manifest.

    Files of the previous manifest that ``replaces`` (default: all of them) and that are not
    in ``names`` are removed; a name that exists but is not owned is refused before anything
    moves (unless the folder was adopted). Returns the paths written.
    """
    out = claim.path
    listed = read_manifest(out)
    owned = set(listed if listed is not None else claim.owned)
    if not claim.adopted:
        clash = [n for n in names if n not in owned and os.path.lexists(out / n)]
        if clash:
            raise UserError(
                f"{short_path(out / clash[0])} exists and crwv-bt did not write it (it is not in "
                f"{MANIFEST}); move it away or choose another folder"
            )
    stale = sorted(n for n in owned if n not in names and replaces(n))
    keep = (owned - set(stale)) | set(names)
    write_manifest(out, keep | set(stale))  # first: a kill mid-way leaves only listed files
    for name in stale:
        target = out / name
        if target.is_file() or target.is_symlink():
            target.unlink()
    written = []
    for name in names:
        os.replace(staging / name, out / name)
        written.append(out / name)
    write_manifest(out, keep)
    return written


def write_manifest(folder: Path, names: Iterable[str]) -> Path:
    """Write ``folder``'s manifest listing ``names`` (sorted), atomically."""
    doc = {"app": APP, "version": _VERSION, "files": sorted(set(names))}
    return write_json(folder / MANIFEST, doc)


@contextmanager
def staging_in(folder: Path) -> Iterator[Path]:
    """A private temp folder inside ``folder`` to build files in (renames stay on one disk and
    need no other folder writable); removed whatever happens."""
    tmp = Path(tempfile.mkdtemp(prefix=".crwv-bt-staging.", suffix=".tmp", dir=folder))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _temp_name(name: str) -> bool:
    """A temp file or folder of an atomic write or a staging (left by a killed run)."""
    return name.startswith(".") and name.endswith(".tmp")


def _plain_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and name not in ("", ".", "..", MANIFEST)
        and "/" not in name
        and "\\" not in name
    )
