"""Persistent, content-addressed evaluation cache (one JSON file per key).

The key hashes everything the result depends on: the canonical config, the workload
name, the ZigZag options (LOMA ``lpf_limit``, mapper criterion), the ZigZag version and
archlab's :data:`~archlab.problems.accel.hardware.MODEL_VERSION`. Each entry is written to
a private temporary file in the same folder and published with an atomic ``os.replace``,
so concurrent writers (processes, machines sharing the folder) never expose a partial
file; two writers of the same key write the same bytes. Unreadable entries count as misses.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from archlab.core import paths


def cache_key(identity: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``identity``."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class EvalCache:
    """``get(key)`` / ``put(key, identity, metrics)`` over ``<root>/<key[:2]>/<key>.json``."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else paths.cache_dir("accel") / "evals"
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, float] | None:
        try:
            entry = json.loads(self._path(key).read_text())
            return {k: float(v) for k, v in entry["metrics"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, identity: dict[str, Any], metrics: dict[str, float]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:8]}-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"identity": identity, "metrics": metrics}, f, sort_keys=True, default=str)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json"))
