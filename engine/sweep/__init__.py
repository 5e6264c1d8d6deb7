"""Stage 5, sweeps: many parameter combinations, scored, stored, ranked and checked for overfitting.

* :mod:`engine.sweep.grid`, :mod:`engine.sweep.constraints` - ``--grid`` and ``--constraint``;
* :mod:`engine.sweep.engines` - the table of evaluation engines (``fast``, ``backtrader``);
* :mod:`engine.sweep.tasks` - jobs, combination keys, one evaluated chunk;
* :mod:`engine.sweep.backends` - in process, a local process pool, or Dask;
* :mod:`engine.sweep.run` - :func:`~engine.sweep.run.run_sweep`: resumable, streamed into the store;
* :mod:`engine.sweep.store`, :mod:`engine.sweep.store_view`, :mod:`engine.sweep.export` - the
  SQLite store, ranking in SQL, CSV/Parquet files;
* :mod:`engine.sweep.selection` - ranking, the chosen row, DSR and PBO, warnings, heatmaps;
* :mod:`engine.sweep.walkforward` - walk-forward optimisation;
* :mod:`engine.sweep.outputs`, :mod:`engine.sweep.charts` - what is printed and written.
"""
