"""The dram_space study in smoke mode: claims, figures and metrics come from run()."""

from __future__ import annotations

import numpy as np
import pytest
from archlab.core import params, paths
from archlab.studies.dram_space import run


@pytest.fixture(scope="module")
def smoke_params():
    return params.load_section("dram_space", smoke=True), params.load_section("common")


def test_smoke_run_records_claims_figures_and_metrics(smoke_params):
    P, C = smoke_params
    R = run.run(P, C)
    ids = [c.id for c in R.claims]
    assert ids == ["fidelity_makespan", "fidelity_energy", "fidelity_rank", "few_knobs"]
    for name, path in R.figures.items():
        assert path.is_file() and path.parent == paths.figures_dir("dram_space"), name
    knobs = R.claims[-1]
    assert knobs.n == 3 * len(P.traces) and knobs.figure == "figures/dram_space/sensitivity_heatmap.png"
    assert knobs.ci[0] <= knobs.value <= knobs.ci[1]
    assert R.metrics["simulations"] == len(P.traces) * P.contexts * R.metrics["knob_values"]
    if (paths.shared() / run.calibration.CSV).is_file():
        fid = {c.id: c for c in R.claims[:3]}
        assert fid["fidelity_makespan"].n == 280 and fid["fidelity_rank"].n == 120
        assert all(c.verdict == "supported" for c in fid.values())  # cycle-exact on most runs
        assert "fidelity" in R.figures
    doc = R.metrics_document()
    assert [c["id"] for c in doc["claims"]] == ids


def test_without_the_calibration_set_the_fidelity_claims_are_inconclusive(smoke_params, monkeypatch, tmp_path):
    P, C = smoke_params
    claims = run.fidelity_claims(None, P, C, None)
    assert [c.verdict for c in claims] == ["inconclusive"] * 3
    assert all(c.value is None and "not available" in c.note for c in claims)


def test_knobs_that_matter_counts_the_worst_trace():
    cube = np.zeros((2, 10, 4))  # trace, knob, context
    cube[0, :3, :] = 0.2          # trace 0: three knobs matter
    cube[1, :5, :3] = 0.2         # trace 1: five knobs matter in 3 of 4 contexts (median 0.2)
    assert run.knobs_that_matter(cube, 0.05) == 5
    assert run.knobs_that_matter(cube, 0.05, np.array([3, 3, 3])) == 3  # a resample of context 3 only
