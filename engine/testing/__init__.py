"""What the tests (and the benchmarks) share: price paths, hand-made runs, fixtures, comparisons.

Shipped with the package, as zipline ships ``zipline.testing``, so that test modules never import
from each other:

* :mod:`engine.testing.prices` - hand-made bars and seeded synthetic price paths;
* :mod:`engine.testing.runs` - hand-made run results, zero costs, fills as tuples;
* :mod:`engine.testing.baselines` - a synthetic data dir, variants and a sample baseline;
* :mod:`engine.testing.compare` - the fast engine against the backtrader harness, fill by fill;
* :mod:`engine.testing.browser` - a headless Chromium over the DevTools protocol, for pages;
* :mod:`engine.testing.rules` - random rules of the whole rule language (hypothesis);
* :mod:`engine.testing.docs` - the example commands of a Markdown page.

Nothing in the engine imports this package.
"""
