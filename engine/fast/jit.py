"""The one way the kernels are compiled: numba's ``njit`` with settings that cut the first-run
compile time (what a fresh install pays once; the on-disk cache holds the result).

* **One specialization per function.** Called from compiled code with a constant (``submit(...,
  0, ...)``, ``np_extreme(a, n, True)``), numba compiles a separate copy of the callee for each
  *literal* value (``Literal[int](0)``, ``Literal[bool](True)``) besides the one for ``int64`` /
  ``bool``: about a quarter of the kernels' compiled functions were such copies. Here a call is
  typed with the arguments' plain types (:func:`numba.core.types.unliteral`), so every function
  compiles once per argument *type*; the branches a literal would have folded away cost a
  comparison at run time.
* **No C-function wrapper** (``no_cfunc_wrapper``): the kernels are never used as first-class
  function values, and the wrapper is compiled for every function otherwise.
* ``cache=True`` as given: numba's on-disk cache (kept consistent across modules by
  :mod:`engine.fast._cache`).

Use it exactly as numba's: ``@njit(cache=True)`` or ``@njit(cache=True, nogil=True)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
from numba.core import types


def njit(*args: Any, **options: Any) -> Any:
    """``numba.njit`` with literal arguments typed as their plain types and no cfunc wrapper."""
    if args and callable(args[0]):
        return _wrap(args[0], options)
    return lambda fn: _wrap(fn, options)


def _wrap(fn: Callable, options: dict[str, Any]) -> Any:
    compile_: Any = numba.njit  # its stubs lack the target options (no_cfunc_wrapper)
    dispatcher = compile_(no_cfunc_wrapper=True, **options)(fn)
    plain = dispatcher.get_call_template

    def get_call_template(args: tuple, kws: dict) -> Any:
        return plain(
            tuple(types.unliteral(a) for a in args),
            {k: types.unliteral(v) for k, v in kws.items()},
        )

    dispatcher.get_call_template = get_call_template
    return dispatcher
