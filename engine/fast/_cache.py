"""Keep numba's on-disk cache of the kernels consistent with their sources.

numba keys a cached function on its *own* source file's timestamp only. The kernels here are
spread over several modules (a batch kernel in ``batch.py`` inlines the fill simulator from
``broker.py``), so after an edit to ``broker.py`` numba would happily reload a ``batch.py``
kernel compiled from the old simulator. :func:`ensure_fresh` hashes the sources of every kernel
module and, when the hash differs from the one stamped next to the cache, deletes the cached
kernels of these modules (they recompile on first use) before anything is loaded. It runs once
per process, on the first call into the engine (never at import).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from engine.fast import broker

KERNEL_MODULES = (
    "jit",
    "layout",
    "numeric",
    "rows",
    "interp",
    "ledger",
    "broker",
    "kmetrics",
    "signals",
    "batch",
    "swing",
    "replay",
)
STAMP = "crwv_fast_sources.sha256"
_checked = False


def source_digest() -> str:
    """sha256 over the source files of the kernel modules, in a fixed order."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in KERNEL_MODULES:
        digest.update(name.encode())
        digest.update((here / f"{name}.py").read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path | None:
    """Where numba keeps this package's compiled kernels (None when caching is unavailable)."""
    cache = getattr(broker.commission, "_cache", None)
    path = getattr(cache, "_cache_path", None)
    return Path(path) if path else None


def ensure_fresh() -> None:
    """Delete cached kernels compiled from other sources than the current ones (once per process)."""
    global _checked
    if _checked:
        return
    _checked = True
    folder = cache_dir()
    if folder is None:
        return
    digest = source_digest()
    stamp = folder / STAMP
    try:
        if stamp.read_text().strip() == digest:
            return
    except OSError:
        pass
    for name in KERNEL_MODULES:
        for suffix in ("nbi", "nbc"):
            for path in folder.glob(f"{name}.*.{suffix}"):
                try:
                    path.unlink()
                except OSError:
                    pass  # another process removed it first
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".stamp")
        with os.fdopen(fd, "w") as fh:
            fh.write(digest)
        os.replace(tmp, stamp)
    except OSError:
        pass  # read-only location: numba then compiles in memory every time anyway
