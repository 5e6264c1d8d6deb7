"""crwv-backtest: the engine, one subpackage per stage (see docs/architecture.md).

Kept import-light: importing ``engine`` loads nothing else.
"""
