"""Stage 4, report: results and metrics in, what a person reads out (terminal, files, charts).

* :mod:`engine.report.display` - metric titles and formats, the terminal table;
* :mod:`engine.report.run_folder` - the run folder (JSON, CSV, PNG, HTML), written at once;
  :mod:`engine.report.run_folder_load` reads it back for ``crwv-bt report``;
* :mod:`engine.report.html_page` - the self-contained HTML report;
* :mod:`engine.report.figures` - figure set-up, PNG saving and DPI for every chart (run and sweep);
* :mod:`engine.report.charts`, :mod:`engine.report.price_chart` - the run charts (PNG);
  :mod:`engine.report.levels` - the strategy's levels both kinds of chart draw;
* :mod:`engine.report.interactive` - the interactive chart (plotly);
* :mod:`engine.report.narrative` - "what happened", told from the fills;
* :mod:`engine.report.results_page`, :mod:`engine.report.summary` - the results-first page and its
  pieces; :mod:`engine.report.summary_table` - the terminal summary; :mod:`engine.report.compare`
  - runs grouped by identical fills, parameters that differ.

Only the PNG chart modules (and :mod:`engine.report.figures`) import matplotlib.
"""
