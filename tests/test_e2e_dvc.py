"""End to end: a throwaway git + DVC project with a tiny notebook, run through `dvc repro`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent

NOTEBOOK_CELLS = [
    ("code", 'section = "demo"\nsmoke = False', ["parameters"]),
    ("code", "import numpy as np\nimport matplotlib.pyplot as plt\n"
             "from archlab.core import params, paths, plots\n"
             "P = params.load_section(section, smoke=smoke)\nC = params.load_section('common')\n"
             "plots.use_style()", []),
    ("code", "x = np.random.default_rng(C.seed).normal(size=P.n) * P.scale\n"
             "(paths.data_dir(section) / 'values.json').write_text("
             "__import__('json').dumps({'section': section, 'smoke': smoke, 'n': P.n, 'x': x.tolist()}))\n"
             "fig, ax = plt.subplots(); ax.hist(x); plots.save_fig(fig, paths.figures_dir(section) / 'hist.png')\n"
             "paths.write_metrics(section, {'mean': float(x.mean()), 'n': P.n})\nprint('MEAN', x.mean())", []),
]

DVC_YAML = {
    "stages": {
        "demo": {
            "cmd": "archlab nb run tiny.ipynb --section demo",
            "deps": ["tiny.ipynb"],
            "params": ["common", "demo"],
            "outs": [{"data/demo": {"persist": True}}, {"figures/demo": {"persist": True}},
                     {"reports/demo": {"persist": True}}],
            "metrics": [{"metrics/demo.json": {"cache": False, "persist": True}}],
        },
        "report": {"cmd": "archlab report results", "deps": ["metrics"],
                   "params": ["common"], "outs": [{"reports/index.html": {"cache": False}}]},
    }
}

PARAMS = {"common": {"seed": 7, "profile": "quick", "executor": "local", "workers": 1, "dask_address": None},
          "demo": {"n": 20, "scale": 1.5, "profiles": {"smoke": {"n": 3}}}}


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    for kind, src, tags in NOTEBOOK_CELLS:
        cell = nbformat.v4.new_code_cell(src) if kind == "code" else nbformat.v4.new_markdown_cell(src)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "archlab", "display_name": "archlab", "language": "python"}
    nbformat.write(nb, str(path))


def _run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHLAB_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    _run(["git", "init", "-q"], root)
    _run(["git", "config", "user.email", "t@example.org"], root)
    _run(["git", "config", "user.name", "t"], root)
    _run([str(BIN / "dvc"), "init", "-q"], root)
    _write_notebook(root / "tiny.ipynb")
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS, sort_keys=False))
    (root / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML, sort_keys=False))
    _run(["git", "add", "-A"], root)
    _run(["git", "commit", "-qm", "init"], root)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    files = [p for d in ("data", "figures", "reports", "metrics") for p in (root / d).rglob("*") if p.is_file()]
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def test_repro_twice_then_param_change_then_bad_params(project: Path):
    first = _run([str(BIN / "dvc"), "repro"], project)
    assert "Running stage 'demo'" in first.stdout
    values = json.loads((project / "data/demo/values.json").read_text())
    assert values == {**values, "section": "demo", "smoke": False, "n": 20}  # params injected and loaded
    assert (project / "figures/demo/hist.png").stat().st_size > 0
    html = (project / "reports/demo/tiny.html").read_text()
    assert "MEAN" in html and "np.random.default_rng" not in html  # outputs shown, input hidden
    assert json.loads((project / "metrics/demo.json").read_text())["n"] == 20
    assert "demo" in (project / "reports/index.html").read_text()
    assert "## demo (`demo`)\n\nno claims recorded" in (project / "docs/results.md").read_text()
    shown = _run([str(BIN / "dvc"), "metrics", "show"], project).stdout
    assert "metrics/demo.json" in shown

    before = _snapshot(project)
    second = _run([str(BIN / "dvc"), "repro"], project)
    assert "Running stage" not in second.stdout
    assert _snapshot(project) == before  # a no-op

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["demo"]["n"] = 30
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    third = _run([str(BIN / "dvc"), "repro"], project)
    assert "Running stage 'demo'" in third.stdout
    assert json.loads((project / "data/demo/values.json").read_text())["n"] == 30

    good = _snapshot(project)
    params["demo"]["bogus"] = 1
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    bad = _run([str(BIN / "dvc"), "repro"], project, check=False)
    assert bad.returncode != 0
    assert "demo.bogus: unknown key" in bad.stdout + bad.stderr
    assert _snapshot(project) == good  # earlier outputs untouched


def test_failing_notebook_returns_nonzero_with_cell_error(project: Path, tmp_path: Path):
    broken = tmp_path / "broken.ipynb"
    shutil.copy(project / "tiny.ipynb", broken)
    nb = nbformat.read(str(broken), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('boom in cell')"))
    nbformat.write(nb, str(broken))
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["demo"].pop("bogus", None)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = _run([str(BIN / "archlab"), "nb", "run", str(broken), "--section", "demo", "--smoke",
                 "--out", str(tmp_path / "out")], project, check=False)
    assert proc.returncode == 1
    assert "RuntimeError: boom in cell" in proc.stderr
    assert json.loads((tmp_path / "out/data/demo/values.json").read_text())["n"] == 3  # smoke overlay
