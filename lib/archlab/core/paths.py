"""The one module that owns every path.

Inputs (``params.yaml``, notebooks, ``../shared``) are found from the project root: the
``ARCHLAB_ROOT`` environment variable if set, else the nearest folder above the current
directory holding ``params.yaml``. Outputs (``data/``, ``figures/``, ``reports/``,
``metrics/``) go below ``ARCHLAB_OUT`` if set (tests use a temporary folder), else below
the root.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parents[3]  # lib/archlab/core/paths.py -> the checkout


def root() -> Path:
    """Project root (holds ``params.yaml``)."""
    env = os.environ.get("ARCHLAB_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for p in (here, *here.parents):
        if (p / "params.yaml").is_file():
            return p
    return PACKAGE_ROOT


def out_root() -> Path:
    env = os.environ.get("ARCHLAB_OUT")
    return Path(env).resolve() if env else root()


def shared() -> Path:
    """The read-only reference folder beside the checkout (``../shared``)."""
    env = os.environ.get("ARCHLAB_SHARED")
    return Path(env).resolve() if env else root().parent / "shared"


def params_file() -> Path:
    env = os.environ.get("ARCHLAB_PARAMS")
    return Path(env).resolve() if env else root() / "params.yaml"


def _study_dir(kind: str, study: str) -> Path:
    p = out_root() / kind / study
    p.mkdir(parents=True, exist_ok=True)
    return p


def data_dir(study: str) -> Path:
    """``data/<study>/`` (created)."""
    return _study_dir("data", study)


def figures_dir(study: str) -> Path:
    """``figures/<study>/`` (created)."""
    return _study_dir("figures", study)


def reports_dir(study: str) -> Path:
    """``reports/<study>/`` (created)."""
    return _study_dir("reports", study)


def cache_dir(name: str) -> Path:
    """Persistent caches that survive ``dvc repro`` (``.cache/archlab/<name>``, git-ignored)."""
    env = os.environ.get("ARCHLAB_CACHE")
    p = (Path(env) if env else root() / ".cache" / "archlab") / name
    p.mkdir(parents=True, exist_ok=True)
    return p


def relative(path: str | Path) -> str:
    """``path`` relative to the output root, POSIX style (for reports and claim records,
    which must not name the machine's absolute paths)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(out_root()).as_posix()
    except ValueError:
        return p.name


def metrics_path(study: str) -> Path:
    """``metrics/<study>.json``: the study's headline numbers (a DVC metrics file)."""
    p = out_root() / "metrics" / f"{study}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def write_metrics(study: str, metrics: Mapping[str, Any]) -> Path:
    """Write the headline metrics of ``study`` as sorted, indented JSON."""
    p = metrics_path(study)
    p.write_text(json.dumps(metrics, indent=2, sort_keys=True, default=_jsonable) + "\n")
    return p


def _jsonable(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON-serializable: {type(x).__name__}")
