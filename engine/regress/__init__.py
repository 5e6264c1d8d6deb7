"""Regression checks: every strategy configuration's fills and metrics, pinned on real history.

* :mod:`engine.regress.baseline` - the baseline file: format, tolerances, loading and checks;
* :mod:`engine.regress.run` - the current configurations and data window, a fresh baseline;
* :mod:`engine.regress.compare` - what moved between a baseline and a fresh run;
* :mod:`engine.regress.formats` - the terminal table, JUnit XML and Markdown.

``crwv-bt regress`` is :mod:`engine.cli.regress_cmd`.
"""
