"""User errors: the one wording of a file-system error, and one line whatever a name holds."""

from __future__ import annotations

import errno

from engine.errors import FileSystemError, one_line, os_error, short_path


def test_one_line_escapes_what_would_break_the_line() -> None:
    assert one_line("a\x0bb\nc\rd\u2028e") == "a\\x0bb\\nc\\rd\\u2028e"
    assert one_line("prix é ü 中 ok") == "prix é ü 中 ok"  # printable text is kept
    assert len(one_line("x\ny").splitlines()) == 1


def test_os_error_says_what_where_why_and_how_to_fix() -> None:
    exc = PermissionError(errno.EACCES, "Permission denied", "/data/SPY.csv")
    err = os_error(exc, "read")
    assert isinstance(err, FileSystemError) and err.exit_code == 2
    assert str(err) == (
        "cannot read /data/SPY.csv: permission denied; choose a path you may use, or fix its "
        "permissions"
    )
    moved = IsADirectoryError(errno.EISDIR, "Is a directory", "/tmp/.x.tmp", None, "/tmp/out")
    assert str(os_error(moved, "write")).startswith("cannot write /tmp/out: it is a folder")
    odd = OSError(errno.EIO, "Input/output error", "/mnt/x")
    assert str(os_error(odd)) == "cannot use /mnt/x: Input/output error; check the path"


def test_short_path_elides_the_middle_of_a_long_name() -> None:
    long = "/tmp/" + "x" * 300
    text = short_path(long)
    assert len(text) < 120 and text.startswith("/tmp/x") and "(305 characters)" in text
    assert short_path("/tmp/a") == "/tmp/a"
