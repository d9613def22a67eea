"""Every study notebook in dvc.yaml runs in smoke mode through the runner; none is committed
with outputs."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml
from archlab import nb

REPO = Path(__file__).resolve().parents[1]


def notebook_stages() -> list[tuple[str, str, str]]:
    """(stage, notebook, section) for every `archlab nb run` stage, in dvc.yaml order."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    found = []
    for name, stage in stages.items():
        argv = shlex.split(stage["cmd"])
        if argv[:3] == ["archlab", "nb", "run"]:
            found.append((name, argv[3], argv[argv.index("--section") + 1]))
    return found


def test_committed_notebooks_have_no_outputs():
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    for path in notebooks:
        cells = json.loads(path.read_text())["cells"]
        dirty = [i for i, c in enumerate(cells) if c.get("outputs") or c.get("execution_count")]
        assert not dirty, f"{path.name}: cells {dirty} carry outputs; strip them"


def test_every_stage_notebook_has_a_parameters_cell():
    for stage, notebook, _section in notebook_stages():
        cells = json.loads((REPO / notebook).read_text())["cells"]
        tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert tagged, f"{notebook} (stage {stage}) has no cell tagged 'parameters'"
        src = "".join(tagged[0]["source"])
        assert "section" in src and "smoke" in src


@pytest.fixture(scope="module")
def shared_out(tmp_path_factory) -> Path:
    """One output folder for all stages, so later stages read earlier stages' data."""
    return tmp_path_factory.mktemp("smoke_out")


@pytest.mark.slow
@pytest.mark.xdist_group("notebooks")
@pytest.mark.parametrize("stage, notebook, section", notebook_stages() or [pytest.param(
    "-", "-", "-", marks=pytest.mark.skip("no notebook stages yet"))])
def test_notebook_runs_in_smoke_mode(stage, notebook, section, shared_out, monkeypatch):
    monkeypatch.setenv("ARCHLAB_CACHE", str(shared_out / ".cache"))
    result = nb.run(REPO / notebook, section, smoke=True, out=shared_out)
    assert result.executed.is_file() and result.html.is_file()
    assert (shared_out / "metrics" / f"{section}.json").is_file(), f"{notebook} wrote no metrics"
    html = result.html.read_text()
    assert "Traceback" not in html
