"""Errors a user can fix: the CLI prints them on one line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input (data, parameters, files): message says what is wrong and how to fix it."""

    exit_code = 2


class DataError(UserError):
    """A price file or download that cannot be used."""


class ParamError(UserError):
    """An unknown strategy or parameter, or an impossible parameter combination."""
