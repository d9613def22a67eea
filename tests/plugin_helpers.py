"""Installing the worked plugin example (examples/my_searcher) for the tests that use it."""

from __future__ import annotations

import fcntl
import importlib
import importlib.metadata as md
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

from archlab import search
from archlab.problems import registry

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "my_searcher"
DIST = "archlab-my-searcher"


def _reload() -> None:
    search.base.reload_plugins()
    registry.reload_plugins()


def install_example() -> None:
    """``pip install -e examples/my_searcher`` unless installed (``make setup`` installs it);
    a file lock keeps parallel test workers from installing twice."""
    with open(Path(tempfile.gettempdir()) / "archlab-example-install.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            md.distribution(DIST)
        except md.PackageNotFoundError:
            pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(EXAMPLE)]
            if subprocess.run([*pip, "--no-build-isolation"]).returncode != 0:  # no setuptools in the env
                subprocess.run(pip, check=True)
    importlib.invalidate_caches()
    if importlib.util.find_spec("my_searcher") is None:  # .pth files are read at start-up only
        sys.path.append(str(EXAMPLE))
    _reload()
