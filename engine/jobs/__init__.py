"""Jobs: what a user asks for, built from the stages below (data, backtest, strategies, fast).

* :mod:`engine.jobs.runner`: a set of configurations on one price window -> runs -> metrics
  (buy & hold always beside them as the benchmark);
* :mod:`engine.jobs.tickers`: the same configurations on several tickers (do the rules travel?);
* :mod:`engine.jobs.montecarlo_run`: the three Monte Carlo methods of a run;
* :mod:`engine.jobs.montecarlo_exec`: execution-noise replays of a run through an engine.

Importing this package runs and registers nothing.
"""
