"""Shared fixtures: every test writes outputs below a temporary ARCHLAB_OUT."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_outputs(tmp_path_factory, monkeypatch):
    """Outputs (data/, figures/, reports/, metrics/) and caches go to a temp folder."""
    out = tmp_path_factory.mktemp("archlab_out")
    monkeypatch.setenv("ARCHLAB_OUT", str(out))
    monkeypatch.setenv("ARCHLAB_ROOT", str(REPO))
    monkeypatch.setenv("ARCHLAB_CACHE", str(out / ".cache"))
    return out
