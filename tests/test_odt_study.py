"""The on-device-training study end to end in smoke mode: protocol, claims, figures."""

import json

import pytest
from archlab.analysis.claims import VERDICTS
from archlab.core import params
from archlab.ondevice.data import SealedTest


def _load(smoke=True):
    raw = params.read()
    raw = {k: raw[k] for k in ("common", "odt")}
    return params.load_section("odt", smoke=smoke, data=raw), params.load_section("common", data=raw)


@pytest.fixture(scope="module")
def smoke_result(tmp_path_factory):
    import os

    out = tmp_path_factory.mktemp("odt_out")
    old = os.environ.get("ARCHLAB_OUT")
    os.environ["ARCHLAB_OUT"] = str(out)
    from archlab.studies.ondevice import run as study

    P, C = _load()
    events = []
    orig_val, orig_logreg, orig_read = study.val_accs, study._logreg, SealedTest.read

    def val_accs(ctx, *a, **k):  # every validation-based choice
        events.append(("select", ctx.data.test.sealed))
        return orig_val(ctx, *a, **k)

    def logreg(ctx, *a, **k):
        events.append(("select", ctx.data.test.sealed))
        return orig_logreg(ctx, *a, **k)

    def read(self, who):
        events.append(("read", self.sealed))
        return orig_read(self, who)

    mp = pytest.MonkeyPatch()
    mp.setattr(study, "val_accs", val_accs)
    mp.setattr(study, "_logreg", logreg)
    mp.setattr(SealedTest, "read", read)
    try:
        R = study.run(P, C)
    finally:
        mp.undo()
        if old is None:
            os.environ.pop("ARCHLAB_OUT", None)
        else:
            os.environ["ARCHLAB_OUT"] = old
    return R, events, P


def test_test_split_is_read_only_after_every_selection(smoke_result):
    R, events, P = smoke_result
    kinds = [k for k, _ in events]
    assert "select" in kinds and "read" in kinds
    last_select = max(i for i, k in enumerate(kinds) if k == "select")
    first_read = kinds.index("read")
    assert last_select < first_read  # no choice after the test split was opened
    assert all(sealed for k, sealed in events if k == "select")  # every choice saw a sealed test split
    reads = R.metrics["protocol"]["test_reads"]
    assert len(reads) == len(set(reads))  # each configuration reads the test split once


def test_sealed_split_raises_before_unseal():
    from archlab.ondevice.data import TestSealedError, splits

    s = splits("digits", (5, 6, 7, 8, 9), 8, 50, 20, 20, 0)
    with pytest.raises(TestSealedError):
        s.test.read("too early")


def test_claims_metrics_and_figures(smoke_result):
    R, _, P = smoke_result
    ids = [c.id for c in R.claims]
    assert ids == ["odt_qas_closes_int8_gap", "odt_sparse_matches_full", "odt_searched_beats_last_k",
                   "odt_engine_under_256kb"]
    for c in R.claims:
        assert c.verdict in VERDICTS and c.n and c.ci[0] <= c.value <= c.ci[1] + 1e-12
        assert c.figure and c.figure.startswith("figures/odt/") and c.command == "dvc repro odt"
    m = R.metrics
    assert set(m["qas"]) == {mm.id for mm in P.qas.methods}  # keyed on stable ids, not display labels
    for rec in m["qas"].values():
        assert 0 <= rec["ci_lo"] <= rec["acc"] <= rec["ci_hi"] <= 1 and rec["n_seeds"] == P.seeds
    assert {"logreg_pixels", "nn1_pixels", "linear_probe", "fp32_full"} <= set(m["accuracy"])
    assert m["search"]["exhaustive"] and m["search"]["space_size"] >= 2
    json.dumps(R.metrics_document())  # serialisable, no timings
    assert not any("_s" == k[-2:] or "time" in k for k in json.dumps(m).split('"') if k)
    for name, p in R.figures.items():
        assert p.is_file() and p.stat().st_size > 1000, name
    for t in ("accuracy", "qas", "sparse", "equal_memory", "predicted_vs_measured", "precision", "macs"):
        assert len(R.tables[t]) > 0


def test_search_enumerates_and_evolves_to_the_same_best(smoke_result):
    from archlab.ondevice import sparse
    from archlab.ondevice.arch import arch
    from archlab.studies.ondevice import run as study

    P, _ = _load()
    a = arch("mbv2-w0.35", resolution=16)
    ctx = type("C", (), {})()
    ctx.P, ctx.train_arch, ctx.seed = P, a, 0
    ctx.deploy_arch = arch("mbv2-w0.35", resolution=128)
    c = sparse.Contributions(0.5, {0: 0.0, 3: 0.02, 6: 0.05}, {(45, 1.0): 0.03, (48, 1.0): 0.04}, 6)
    space = study.scheme_space(ctx)
    budget = study.scheme_memory(ctx, sparse.last_k(a, 6))
    best = study.best_in_budget(ctx, c, space, budget)
    P2 = P.model_copy(update={"sparse": P.sparse.model_copy(update={"population": 16, "generations": 30})})
    ctx.P = P2
    evolved = study.best_in_budget(ctx, c, None, budget)  # evolutionary search, no enumeration
    assert c.predict(evolved) == pytest.approx(c.predict(best))
    assert study.scheme_memory(ctx, best) <= budget


# ---- the peak-SRAM constraint of the scheme search -------------------------------------------------

def _constrained_ctx(peak_budget_kib, population=40, generations=60):
    """The quick profile's scheme space (bias depths 0/12/24/51 x convs 39, 45, 48 at 0/0.25/1), with
    contributions that reward updating every bias (b51: its backward pass reaches the 64x64 stage)."""
    from archlab.ondevice import sparse
    from archlab.ondevice.arch import arch

    P, _ = _load(smoke=False)
    P = P.model_copy(update={"sparse": P.sparse.model_copy(update={
        "bias_depths": [12, 24, 51], "base_bias": 24, "layers": [39, 45, 48], "ratios": [0.25, 1.0],
        "peak_budget_kib": peak_budget_kib, "population": population, "generations": generations})})
    ctx = type("C", (), {})()
    ctx.P, ctx.seed = P, 0
    ctx.train_arch, ctx.deploy_arch = arch("mbv2-w0.35", resolution=48), arch("mbv2-w0.35", resolution=128)
    c = sparse.Contributions(0.5, {0: 0.0, 12: 0.05, 24: 0.08, 51: 0.4},
                             {(i, r): 0.02 * r for i in (39, 45, 48) for r in (0.25, 1.0)}, 24)
    return ctx, c


def test_constrained_search_never_chooses_a_scheme_over_the_peak_budget():
    from archlab.ondevice import sparse
    from archlab.studies.ondevice import run as study

    ctx, c = _constrained_ctx(256.0)
    space = study.scheme_space(ctx)
    budget = study.scheme_memory(ctx, sparse.last_k(ctx.train_arch, 12))
    unconstrained = study.best_in_budget(ctx, c, space, budget, constrained=False)
    assert unconstrained.n_bias == 51 and study.scheme_peak(ctx, unconstrained) > 256  # what the second edition did
    best = study.best_in_budget(ctx, c, space, budget)
    assert study.scheme_peak(ctx, best) <= 256 and study.scheme_memory(ctx, best) <= budget
    assert best.n_bias == 24  # the best feasible: every bias short of the 64x64 stage, all three weights
    assert best == sparse.Scheme(24, (39, 45, 48), (1.0, 1.0, 1.0))
    # every scheme predicted better than the chosen one is over one of the two budgets
    better = [s for s in space if c.predict(s) > c.predict(best) + 1e-9]
    assert better and all(study.scheme_peak(ctx, s) > 256 or study.scheme_memory(ctx, s) > budget for s in better)
    evolved = study.best_in_budget(ctx, c, None, budget)  # the evolutionary path, same constraint
    assert study.scheme_peak(ctx, evolved) <= 256 and c.predict(evolved) == pytest.approx(c.predict(best))


def test_feasible_scheme_count_of_the_quick_space():
    from archlab.studies.ondevice import run as study

    ctx, _ = _constrained_ctx(256.0)
    space = study.scheme_space(ctx)
    # 1 (b0) + 27 per bias depth 12 / 24 / 51 (3 choices for each of 3 convs); a depth of 0 with a
    # weight is raised to 12, so it adds no scheme
    assert len(space) == 82
    # depth 51 reaches back through the 64x64 stage (peak ~1 MiB); every other scheme peaks at the
    # forward pass's 240 KiB (48x64x64 + 48x32x32 int8 activations)
    assert study.count_feasible(ctx, space) == 55
    assert all(study.feasible(ctx, s) == (s.n_bias < 51) for s in space)
    ctx.P = ctx.P.model_copy(update={"sparse": ctx.P.sparse.model_copy(update={"peak_budget_kib": None})})
    assert study.count_feasible(ctx, space) == 82  # null: unconstrained


@pytest.mark.parametrize("evolve", [False, True])
def test_no_feasible_scheme_is_a_clear_error(evolve):
    from archlab.ondevice import sparse
    from archlab.studies.ondevice import run as study

    ctx, c = _constrained_ctx(100.0, population=8, generations=3)  # below the 240 KiB forward peak
    space = None if evolve else study.scheme_space(ctx)
    with pytest.raises(sparse.NoFeasibleScheme, match=r"odt\.sparse\.peak_budget_kib=100 KiB.*lowest modelled peak "
                       r"is 240\.0 KiB"):
        study.best_in_budget(ctx, c, space, 1e6)


def test_smoke_run_reports_the_constraint(smoke_result):
    R, _, P = smoke_result
    m = R.metrics["search"]
    assert m["peak_budget_kib"] == P.sparse.peak_budget_kib == 256.0
    assert m["n_feasible"] is not None and m["n_feasible"] <= m["space_size"]
    sp = R.tables["sparse"].set_index("id")
    for k in P.sparse.last_k:
        assert sp.loc[f"searched_at_last{k}", "peak_kib_128px"] <= 256.0
    assert f"unconstrained_at_last{P.sparse.claim_k}" in sp.index  # the second edition's search, for comparison
    assert set(R.tables["equal_memory"]["search"]) == {"constrained", "unconstrained"}
