"""Grouping equal values: equal rows of an integer matrix, found by hashing (the fast engine's
equal kernel inputs, the warm-up check's distinct parameter sets), and codes renumbered in order
of first appearance (the sweep's parameter codes, as ``pd.factorize`` numbers values)."""

from __future__ import annotations

import numpy as np

_FNV_OFFSET, _FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3


def distinct_rows(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a 2-D matrix of unsigned integers, as ``np.unique(rows,
    return_index=True, return_inverse=True)`` would give them (first row of each, and per row
    which one it is; in another order).

    Each row is hashed to 64 bits (FNV-1a over its words, in numpy), the hashes are sorted, and
    the rows said equal are then compared whole: a collision falls back to sorting the rows'
    bytes, so the grouping is exact.
    """
    h = np.full(words.shape[0], _FNV_OFFSET, dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    for col in words.T:
        h = (h ^ col.astype(np.uint64, copy=False)) * prime
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if (words == words[first[inverse]]).all():
        return first, inverse
    flat = np.ascontiguousarray(words)
    rows = flat.view(np.dtype((np.void, flat.itemsize * flat.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def first_seen_codes(code: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``0 .. n-1`` renumbered ``0, 1, ...`` in order of first appearance in ``code`` (as
    ``pd.factorize`` numbers values), without hashing anything; and the old code of each new
    one (``order[new] = old``: as many as appear)."""
    first = np.full(n, len(code), dtype=np.int64)
    first[code[::-1]] = np.arange(len(code) - 1, -1, -1)  # repeated codes: the last write wins
    present = np.flatnonzero(first < len(code))
    order = present[np.argsort(first[present], kind="stable")]
    renumber = np.zeros(n, dtype=np.int64)
    renumber[order] = np.arange(len(order))
    return renumber[code], order
