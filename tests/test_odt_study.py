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
    c = sparse.Contributions(0.5, {0: 0.0, 3: 0.02, 6: 0.05}, {(45, 1.0): 0.03, (48, 1.0): 0.04}, 6)
    space = study.scheme_space(ctx)
    budget = study.scheme_memory(ctx, sparse.last_k(a, 6))
    best = study.best_in_budget(ctx, c, space, budget)
    P2 = P.model_copy(update={"sparse": P.sparse.model_copy(update={"population": 16, "generations": 30})})
    ctx.P = P2
    evolved = study.best_in_budget(ctx, c, None, budget)  # evolutionary search, no enumeration
    assert c.predict(evolved) == pytest.approx(c.predict(best))
    assert study.scheme_memory(ctx, best) <= budget
