"""Stage 6, the command line: ``crwv-bt`` (:func:`engine.cli.main.main`).

:mod:`engine.cli.main` holds the one command table; each ``*_cmd`` module defines one command's
parser and handler; :mod:`engine.cli.options` the options they share.
"""
