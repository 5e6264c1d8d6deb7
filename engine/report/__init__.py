"""Stage 4, report: results and metrics in, what a person reads out (terminal, files, charts).

* :mod:`engine.report.display` - metric titles and formats, the terminal table;
* :mod:`engine.report.run_folder` - the run folder (JSON, CSV, PNG, HTML), written at once;
  :mod:`engine.report.run_folder_load` reads it back for ``crwv-bt report``;
* :mod:`engine.report.results_page` - the self-contained HTML report, results first (what
  ``report.html`` is); :mod:`engine.report.summary` - its cards, key metrics and period tables;
  :mod:`engine.report.html_page` - the style sheet, tables and the settings section it shares;
* :mod:`engine.report.figures` - figure set-up, PNG saving and DPI for every chart (run and sweep);
* :mod:`engine.report.charts`, :mod:`engine.report.price_chart` - the run charts (PNG);
  :mod:`engine.report.levels` - the strategy's levels both kinds of chart draw;
* :mod:`engine.report.interactive` - the interactive price chart (plotly);
  :mod:`engine.report.returns_chart` - the cumulative return beside the key metrics;
* :mod:`engine.report.narrative` - "what happened", told from the fills;
* :mod:`engine.report.summary_table` - the compare table (100 columns at most);
  :mod:`engine.report.compare` - runs grouped by identical fills, parameters that differ;
  :mod:`engine.report.compare_html` - the page's and the terminal's words for them.

Only the PNG chart modules (and :mod:`engine.report.figures`) import matplotlib.
"""
