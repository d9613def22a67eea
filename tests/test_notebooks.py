"""Every study notebook in dvc.yaml runs in smoke mode through the runner; none is committed
with outputs."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _paths(entries: list) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in entries or []]


def pipeline_order() -> list[tuple[str, list[str]]]:
    """(stage, argv) of every stage in dependency order (a stage after the stages whose outs it reads)."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    outs = {name: _paths(st.get("outs")) + _paths(st.get("metrics")) for name, st in stages.items()}

    def needs(name: str) -> set[str]:
        deps = _paths(stages[name].get("deps"))
        return {other for other, paths in outs.items() if other != name
                and any(d == o or d.startswith(o.rstrip("/") + "/") or o.startswith(d.rstrip("/") + "/")
                        for d in deps for o in paths)}

    ordered: list[str] = []
    while len(ordered) < len(stages):
        ready = [n for n in stages if n not in ordered and needs(n) <= set(ordered)]
        assert ready, f"dependency cycle among {set(stages) - set(ordered)}"
        ordered.append(ready[0])
    return [(n, shlex.split(stages[n]["cmd"])) for n in ordered]


def notebook_stages() -> list[tuple[str, str, str]]:
    """(stage, notebook, section) for every `archlab nb run` stage, in pipeline order."""
    return [(name, argv[3], argv[argv.index("--section") + 1])
            for name, argv in pipeline_order() if argv[:3] == ["archlab", "nb", "run"]]


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


@pytest.mark.slow
def test_pipeline_runs_in_smoke_mode(tmp_path):
    """Every stage of dvc.yaml, in dependency order, with its smoke overlay, into a temp folder:
    notebooks execute without error, write their HTML report and their metrics."""
    env = {**os.environ, "ARCHLAB_OUT": str(tmp_path), "ARCHLAB_CACHE": str(tmp_path / ".cache"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for stage, argv in pipeline_order():
        if argv[:2] == ["archlab", "report"]:
            pass  # outputs (the page, docs/results.md) go below ARCHLAB_OUT
        else:
            assert argv[0] == "archlab", f"stage {stage}: expected an archlab command"
            argv = [*argv, "--smoke"]
        proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"stage {stage} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    for stage, notebook, section in notebook_stages():
        html = tmp_path / "reports" / section / Path(notebook).with_suffix(".html").name
        assert html.is_file(), f"stage {stage} wrote no HTML report"
        text = html.read_text()
        assert "Traceback" not in text, f"stage {stage}: report shows a traceback"
        for p in (str(REPO), str(tmp_path)):
            assert p not in text, f"stage {stage}: report shows the absolute path {p}"
        assert (tmp_path / "metrics" / f"{section}.json").is_file(), f"stage {stage} wrote no metrics"
    assert (tmp_path / "reports" / "index.html").is_file()
    assert (tmp_path / "docs" / "results.md").is_file()
