"""Stage 1, data: daily price files in, validated price frames out.

* :mod:`engine.data.validate` - accepted table layouts, normalisation, every check (no I/O);
* :mod:`engine.data.load` - price CSVs, the data dir (the cache) and :func:`load_prices`;
* :mod:`engine.data.download` - yfinance (the only network access);
* :mod:`engine.data.fingerprint` - the identity of a price frame (ticker, range, rows, sha256).

Nothing here imports another stage.
"""
