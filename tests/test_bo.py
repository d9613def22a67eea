"""BO cost controls keep BO's decisions: the closed-form acquisition equals BoTorch's, the
geometric refit schedule fits as stated, and the vectorized seen filter matches a set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from archlab import search
from archlab.problems import make_problem


@pytest.mark.parametrize("acquisition", ["logei", "logpi"])
def test_closed_form_acquisition_equals_botorch(acquisition):
    p = make_problem("synthetic", workload="a", objective="latency")
    s = search.make("bo", p.space, seed=0, acquisition=acquisition, pool_size=256, n_local=16)
    search.run(p, s, 30)
    acq = s._acq(s._fit())
    cand = s._unseen(s._pool())
    ours = s._score(acq, cand)
    with torch.no_grad():
        ref = acq(torch.tensor(s._features(cand), dtype=torch.double).unsqueeze(-2)).numpy()
    assert np.allclose(ours, ref, atol=1e-6, rtol=1e-6)
    assert int(np.argmax(ours)) == int(np.argmax(ref))


def test_geometric_refit_schedule():
    p = make_problem("synthetic", workload="b", objective="latency")
    s = search.make("bo", p.space, seed=1, n_init=10, refit_every=5, refit_growth=1.5, pool_size=128, n_local=8,
                    local_rounds=0, fit_maxiter=5)
    search.run(p, s, 60)
    # fits at 10, 15, 22, 33, 49 observations (asks 11..60 see 10..59 observations)
    assert s._n_fits == 5


def test_unseen_filter_matches_python_set():
    p = make_problem("synthetic", workload="a", objective="latency")
    s = search.make("bo", p.space, seed=2, pool_size=128, n_local=8)
    search.run(p, s, 12)
    cand = np.concatenate([s._pool(), np.array(s.X)])  # every told point must be filtered out
    got = {tuple(c) for c in s._unseen(cand).tolist()}
    told = {tuple(int(i) for i in x) for x in s.X}
    assert got == {tuple(c) for c in cand.tolist()} - told
