"""Running a regression check: the current configurations, the price window, a fresh baseline.

The configurations are always rebuilt from the *current* registry, parameter defaults and
variants file (never from the baseline's stored parameters), so a changed default or rule
shows up as a moved parameter, fill or metric. The file format and the comparison are in
:mod:`engine.regress.baseline` and :mod:`engine.regress.compare`; the terminal table, JUnit XML
and Markdown in :mod:`engine.regress.formats`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from engine import params as params_mod
from engine.data.fingerprint import fingerprint
from engine.data.load import load_prices
from engine.data.validate import DataWarning
from engine.errors import DataError, ParamError
from engine.jobs.runner import Config, run_configs
from engine.regress.baseline import (
    BENCHMARK_TICKER,
    DEFAULT_CASH,
    FORMAT,
    BaselineError,
    default_tolerances,
    entry_for,
    merged_tolerances,
    settings_for,
)
from engine.result import Costs
from engine.rules import load_rules
from engine.sizing import canonical
from engine.variants import read_variant_tables, variant_strategy
from strategies import RULE_PREFIX, lookup
from strategies.rule import rule_strategy

# ------------------------------------------------------------------------------ configurations


@dataclass(frozen=True)
class Spec:
    """A configuration as the current code defines it; ``error`` when its parameters do not resolve."""

    label: str
    strategy: str
    overrides: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    sizing: str = ""  # a variant's own sizing (engine.sizing); its fills are pinned with it


def current_specs(
    registry: dict[str, type],
    variants_path: str | Path,
    rule_files: list[Path] | tuple[Path, ...] = (),
) -> list[Spec]:
    """Every registered strategy with its defaults, every rule of ``rule_files`` with its
    defaults (label ``FILE-STEM:NAME``, strategy its ref ``rule:NAME@SHA12``), then every
    variant of ``variants_path``.

    A variant that no longer resolves (renamed parameter, unknown strategy) becomes a
    :class:`Spec` with ``error`` set - a regression, not a crash. An unreadable file is a
    :class:`ParamError` (a rule file that does not check out too).
    """
    specs = [_checked(Spec(name, name), registry) for name in registry]
    for path in rule_files:
        for rule in load_rules(path).rules.values():
            ref = rule_strategy(rule).rule.ref()  # type: ignore[union-attr]
            specs.append(_checked(Spec(f"{Path(path).stem}:{rule.name}", ref), registry))
    for name, table in read_variant_tables(variants_path).items():
        if name in registry:
            raise ParamError(
                f"{variants_path}: variant [{name}] has a strategy's name; rename the variant"
            )
        specs.append(_checked(_variant_spec(Path(variants_path), name, table, registry), registry))
    return specs


def strategy_of(name: str, registry: dict[str, type]) -> type | None:
    """The class of a registry name or of a loaded rule's ref (None when neither)."""
    if name in registry:
        return registry[name]
    if name.startswith(RULE_PREFIX):
        try:
            return lookup(name)
        except ParamError:
            return None
    return None


def _variant_spec(path: Path, name: str, table: Any, registry: dict[str, type]) -> Spec:
    if not isinstance(table, dict):
        return Spec(name, "?", error=f'[{name}] is not a table with strategy = "..."')
    strategy = str(table.get("strategy", "?"))
    if "rule" in table or "rules" in table:
        try:
            strategy = variant_strategy(path, name, table, registry)[0]
        except ParamError as exc:
            return Spec(name, f"rule {table.get('rule')!r}", error=str(exc))
    overrides = table.get("params", {}) or {}
    if not isinstance(overrides, dict):
        return Spec(name, strategy, error=f"[{name}] params must be a table")
    try:
        sizing = canonical(table["sizing"]) if table.get("sizing") else ""
    except ParamError as exc:
        return Spec(name, strategy, error=f"[{name}] {exc}")
    return Spec(name, strategy, dict(overrides), sizing=sizing)


def _checked(spec: Spec, registry: dict[str, type]) -> Spec:
    if spec.error:
        return spec
    cls = strategy_of(spec.strategy, registry)
    if cls is None:
        return Spec(
            spec.label,
            spec.strategy,
            spec.overrides,
            f"strategy {spec.strategy!r} is not registered",
        )
    try:
        params_mod.resolve(cls, spec.overrides)
    except ParamError as exc:
        return Spec(spec.label, spec.strategy, spec.overrides, f"parameters do not resolve: {exc}")
    except Exception as exc:  # noqa: BLE001 - a strategy's own check crashed: report it, check the rest
        return Spec(
            spec.label,
            spec.strategy,
            spec.overrides,
            f"check_params failed: {type(exc).__name__}: {exc}",
        )
    return spec


# ------------------------------------------------------------------------------ running


@dataclass(frozen=True)
class Window:
    """The prices a baseline is built on: traded frame, benchmark frame (or None), their identity."""

    name: str
    ticker: str
    prices: pd.DataFrame
    benchmark: pd.DataFrame | None

    def dataset(self) -> dict[str, Any]:
        bench = self.benchmark
        return {
            "name": self.name,
            "ticker": self.ticker.upper(),
            "start": self.prices.index[0].strftime("%Y-%m-%d"),
            "end": self.prices.index[-1].strftime("%Y-%m-%d"),
            "fingerprint": fingerprint(self.prices, self.ticker),
            "benchmark": None
            if bench is None
            else {
                "ticker": BENCHMARK_TICKER,
                "fingerprint": fingerprint(bench, BENCHMARK_TICKER),
            },
        }


def load_window(
    name: str,
    ticker: str,
    start: str | None,
    end: str | None,
    data_dir: str | None,
    *,
    benchmark: bool | None = None,
) -> Window:
    """Load the traded prices (and the benchmark over the same dates) from the data dir, no download.

    ``benchmark``: True = required (a missing file is an error), None = when present, False = never.
    """
    # The fingerprint, not a warning, says whether the data is the baseline's: a stale-cache
    # warning is noise here (the window is fixed), so data warnings are silenced.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            prices = load_prices(ticker, start, end, data_dir_=data_dir, allow_download=False)
        except DataError as exc:
            raise BaselineError(f"cannot run the check: {exc}") from None
        bench = None
        if benchmark is not False:
            first, last = (
                prices.index[0].strftime("%Y-%m-%d"),
                prices.index[-1].strftime("%Y-%m-%d"),
            )
            try:
                bench = load_prices(
                    BENCHMARK_TICKER, first, last, data_dir_=data_dir, allow_download=False
                )
            except DataError as exc:
                if benchmark:
                    raise BaselineError(
                        f"cannot run the check: the baseline uses the {BENCHMARK_TICKER} benchmark, but {exc}"
                    ) from None
    return Window(name, ticker.upper(), prices, bench)


def check_data(baseline: dict[str, Any], window: Window) -> None:
    """Raise :class:`BaselineError` when the loaded data is not the data the baseline was built on."""
    old, new = baseline["dataset"], window.dataset()
    pairs = [("", old["fingerprint"], new["fingerprint"])]
    if old.get("benchmark"):
        pairs.append(
            (
                f"{BENCHMARK_TICKER} ",
                old["benchmark"]["fingerprint"],
                (new["benchmark"] or {}).get("fingerprint", {}),
            )
        )
    for label, a, b in pairs:
        if a.get("sha256") != b.get("sha256"):
            what = [f"sha256 {str(a.get('sha256'))[:12]} vs {str(b.get('sha256'))[:12]}"]
            if a.get("rows") != b.get("rows"):
                what.append(f"{a.get('rows')} vs {b.get('rows')} rows")
            if (a.get("first"), a.get("last")) != (b.get("first"), b.get("last")):
                what.append(
                    f"{a.get('first')}..{a.get('last')} vs {b.get('first')}..{b.get('last')}"
                )
            raise BaselineError(
                f"{label or new['ticker'] + ' '}data differs from the baseline's ({', '.join(what)}); "
                "if the data change is intended run `crwv-bt regress --update`"
            )


def build_content(
    specs: list[Spec],
    registry: dict[str, type],
    window: Window,
    *,
    tolerances: dict[str, float] | None = None,
    cash: float = DEFAULT_CASH,
    costs: Costs | None = None,
    fractional: bool = False,
) -> dict[str, Any]:
    """Run every configuration on ``window`` with the current code: the content of a baseline."""
    costs = costs or Costs()
    specs = [_warm_enough(s, registry, len(window.prices)) for s in specs]
    good = [
        Config(s.label, strategy_of(s.strategy, registry), s.overrides, s.sizing)  # type: ignore[arg-type]
        for s in specs
        if not s.error
    ]
    bench = None if window.benchmark is None else window.benchmark["adj_close"]
    batch = run_configs(
        good,
        window.prices,
        buy_hold_cls=_buy_hold(registry),
        ticker=window.ticker,
        cash=cash,
        costs=costs,
        fractional=fractional,
        benchmark=bench if bench is not None and len(bench) > 1 else None,
    )
    results = {r.strategy: r for r in batch.results}
    configs: dict[str, Any] = {}
    for s in specs:
        if s.error:
            configs[s.label] = {"strategy": s.strategy, "error": s.error}
            continue
        entry = entry_for(results[s.label], batch.metrics[s.label])
        entry["strategy"] = s.strategy
        configs[s.label] = entry
    return {
        "format": FORMAT,
        "dataset": window.dataset(),
        "settings": settings_for(cash, costs, fractional),
        "tolerances": {
            k: v for k, v in merged_tolerances(tolerances).items() if k in default_tolerances()
        },
        "configurations": configs,
    }


def _warm_enough(spec: Spec, registry: dict[str, type], bars: int) -> Spec:
    if spec.error:
        return spec
    cls = strategy_of(spec.strategy, registry)
    assert cls is not None  # _checked set an error otherwise
    need = int(getattr(cls, "warmup", lambda p: 0)(params_mod.resolve(cls, spec.overrides))) + 1
    if bars < need:
        return Spec(
            spec.label,
            spec.strategy,
            spec.overrides,
            f"needs {need} bars (indicator warm-up), the data set has {bars}",
        )
    return spec


def _buy_hold(registry: dict[str, type]) -> type:
    # The benchmark run of every buy_hold_return: the registry entry whose class says so.
    for cls in registry.values():
        if getattr(cls, "alias", "") == "buy_hold":
            return cls
    raise ParamError(
        "no buy_hold strategy registered; the regression check needs it as the benchmark"
    )
