"""The fast engine: compiled kernels that reproduce the backtrader harness fill for fill.

* :mod:`engine.fast.scope` - :func:`~engine.fast.scope.supports` (which strategies it covers:
  every built-in one, whole-share sizing), importable without the kernels;
* :mod:`engine.fast.api` - the Python entry point: :func:`~engine.fast.api.evaluate_arrays`
  (parameter columns in, metric matrices out, streamed);
* :mod:`engine.fast.trace` - :func:`~engine.fast.trace.simulate`, one combination with fills,
  trades, equity and metrics (tests, debugging);
* the kernels: :mod:`~engine.fast.broker` (fill simulator), :mod:`~engine.fast.ledger`,
  :mod:`~engine.fast.signals` (the one signal kernel of every long/flat strategy and rule),
  :mod:`~engine.fast.interp` (its condition programs), :mod:`~engine.fast.rows` (the rule
  language's functions), :mod:`~engine.fast.swing`, :mod:`~engine.fast.batch`,
  :mod:`~engine.fast.kmetrics`, :mod:`~engine.fast.numeric`, described by
  :mod:`~engine.fast.specs`, :mod:`~engine.fast.program` (conditions -> programs and rows),
  :mod:`~engine.fast.builtins` (the built-in strategies as signals) and :mod:`~engine.fast.layout`.

The sweep reaches it through its engine table (:mod:`engine.sweep.engines`). Importing this
package imports and registers nothing; the kernels compile (and are cached on disk by numba) on
first use.
"""
