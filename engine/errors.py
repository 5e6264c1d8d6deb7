"""Errors a user can fix: the CLI prints them on one line and exits with code 2."""

from __future__ import annotations

import errno


class UserError(Exception):
    """Bad input (data, parameters, files): message says what is wrong and how to fix it."""

    exit_code = 2


class DataError(UserError):
    """A price file or download that cannot be used."""


class ParamError(UserError):
    """An unknown strategy or parameter, or an impossible parameter combination."""


class FileSystemError(UserError):
    """A file or folder that cannot be read or written (missing, a folder where a file belongs,
    no permission, a name too long, a full or read-only disk)."""


#: errno -> what it means and how to fix it, in the words of one line.
_OS_REASONS = {
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.EACCES: ("permission denied", "choose a path you may use, or fix its permissions"),
    errno.EPERM: ("permission denied", "choose a path you may use, or fix its permissions"),
    errno.EISDIR: ("it is a folder, not a file", "give a file name"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "check the path"),
    errno.ENAMETOOLONG: ("the name is too long", "use a shorter file or folder name"),
    errno.EROFS: ("the file system is read-only", "choose a writable path"),
    errno.ENOSPC: ("no space left on the disk", "free some space or choose another disk"),
    errno.EEXIST: ("it already exists", "choose another name"),
    errno.ENOTEMPTY: ("the folder is not empty", "choose another name"),
    errno.ELOOP: ("too many symbolic links", "check the path"),
}


def one_line(text: str) -> str:
    """``text`` with every control or line-separator character written as its escape
    (``\\n``, ``\\x0b``): an error message naming a user's file or column is one line
    whatever that name holds."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def short_path(path: object, limit: int = 90) -> str:
    """``path`` as text, its middle elided when longer than ``limit`` (a 300-character name
    stays readable on one line)."""
    text = str(path)
    if len(text) <= limit:
        return text
    keep = (limit - 3) // 2
    return f"{text[:keep]}...{text[-keep:]} ({len(text)} characters)"


def os_error(
    exc: OSError, action: str = "use", path: object = None, fix: str = ""
) -> FileSystemError:
    """The one-line :class:`FileSystemError` of an ``OSError``: what could not be done to which
    path, why (from its errno), and how to fix it.

    ``action`` is a verb phrase (``"read"``, ``"write"``, ``"create the folder"``); ``path``
    defaults to the error's own file name; ``fix`` replaces the generic advice.
    """
    where = path if path is not None else (exc.filename if exc.filename is not None else "")
    reason, advice = _OS_REASONS.get(exc.errno or -1, (exc.strerror or str(exc), "check the path"))
    if exc.filename2 is not None and path is None:  # a rename: name the target
        where = exc.filename2
    text = f"cannot {action} {short_path(where)}: {reason}; {fix or advice}"
    return FileSystemError(text)  # the CLI prints it through one_line
