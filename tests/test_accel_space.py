"""The accel_space study: exact knob effects on known data, and run(P, C) in smoke mode on the
committed ZigZag tables."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from archlab.studies.accel_space import mo, space


def test_knob_effects_are_exact_on_an_additive_factorial():
    # log10 y = a(knob a) + b(knob b): main-effect shares var(a)/(var(a)+var(b)), no interactions
    a_eff, b_eff = {0: 0.0, 1: 2.0}, {0: 0.0, 1: 1.0, 2: 2.0}
    rows = [{"a": a, "b": b, "y": 10 ** (a_eff[a] + b_eff[b])} for a, b in itertools.product(a_eff, b_eff)]
    df = pd.DataFrame(rows)
    e = space.knob_effects(df, ["a", "b"], ["y"]).set_index("knob").share
    va, vb = np.var(list(a_eff.values())), np.var(list(b_eff.values()))
    assert e["a"] == pytest.approx(va / (va + vb)) and e["b"] == pytest.approx(vb / (va + vb))
    assert e["(interactions)"] == pytest.approx(0.0, abs=1e-12)
    inter = space.pair_interactions(df, ["a", "b"], "y")
    assert inter.share.iloc[0] == pytest.approx(0.0, abs=1e-12)


def test_bootstrap_ci_and_mde():
    lo, hi = mo.bootstrap_ci(np.array([0.1, 0.2, 0.3, 0.4]), 0.95, 500, 0)
    assert 0.1 <= lo <= 0.25 <= hi <= 0.4
    assert mo.bootstrap_ci(np.array([0.5, 0.5]), 0.95, 500, 0) == (0.5, 0.5)
    assert mo.mde_paired(np.random.default_rng(0).normal(0, 1, 40), 0.05) > 0


def test_run_in_smoke_mode():
    from archlab.core import params
    from archlab.studies.accel_space import run

    P = params.load_section("accel_space", smoke=True)
    C = params.load_section("common")
    R = run.run(P, C)
    assert set(R.figures) == {"fronts", "knob_effects", "hv_curves", "found_fronts"}
    assert all(p.is_file() for p in R.figures.values())
    (c,) = R.claims
    assert c.id == "accel_space.nsga2_hypervolume" and c.n == len(P.tables) * P.seeds
    assert c.ci[0] <= c.value <= c.ci[1]
    hv = R.tables["hv_curves"]
    assert ((hv["mean"] >= 0) & (hv["mean"] <= 1 + 1e-9)).all()
    assert set(R.tables["claim_sensitivity"].hv_bounds) == {"front", "table"}
    flows = R.tables["dataflows"]
    assert set(flows.dataflow) == {"K-C", "K-OX", "C-OX", "OX-OY"}
    assert flows.groupby("table").on_front.sum().to_dict() == {
        t: m["front_points"] for t, m in R.metrics["tables"].items()}
    doc = R.metrics_document()
    assert doc["claims"][0]["verdict"] in ("supported", "not supported", "inconclusive")
