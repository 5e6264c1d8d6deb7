"""Equal rows of an integer matrix, found by hashing: one home for the grouping that the fast
engine (equal kernel inputs) and the sweep store (equal daily returns) both need."""

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
