"""Bayesian optimization on BoTorch over the index lattice.

Model: a GP on the encoded configs. Ordered knobs (ordinal, integer) enter as their index
scaled to [0, 1] under a Matern-5/2 ARD kernel; categorical knobs enter as their index under
BoTorch's Hamming-distance ``CategoricalKernel``; both are combined as
``k_ord + k_cat + k_ord * k_cat`` (``MixedSingleTaskGP``; a plain ``SingleTaskGP`` when no
knob is categorical). The target is the reward (``y_transform="log"`` fits log(reward),
which turns the geometric-mean target reward into a mean of log ratios). Outcomes are
standardized.

Acquisition: analytic LogEI (default) or LogPI, maximized over a discrete candidate set:
the whole lattice when it has at most ``pool_size`` points, otherwise ``pool_size`` seeded
uniform samples plus ``n_local`` one-/two-knob neighbours of the best observed points,
followed by ``local_rounds`` rounds of coordinate-wise local search (every value of every
knob around the incumbent candidate). Observed and pending points are never proposed
again. The first ``n_init`` points are uniform random.

Cost control: GP hyperparameters are re-fitted (L-BFGS, at most ``fit_maxiter`` steps,
warm-started from the previous fit) once ``max(refit_every, (refit_growth - 1) * n_fit)``
new observations arrived since the last fit on ``n_fit`` points (a geometric schedule:
about ``log(budget / n_init) / log(refit_growth)`` fits; ``refit_growth=1`` refits every
``refit_every``). In between, the fitted GP keeps its hyperparameters and outcome
standardization and only its training data are replaced (``set_train_data``), so no model
is rebuilt. Observed/pending points are tracked as mixed-radix integer codes, so filtering
a candidate pool is one vectorized ``np.isin``.

Determinism: hyperparameter fitting runs inside ``torch.random.fork_rng`` seeded from the
searcher's seed and the number of observations, so the process-global torch RNG is
neither used nor disturbed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from archlab.core.space import Categorical, Config, Integer, Real, Space
from archlab.search.base import Searcher, register
from archlab.search.lattice import Lattice
from archlab.search.torch_utils import isolated


@register
class BayesOpt(Searcher):
    """GP-BO with a mixed categorical/ordinal kernel and log-EI over a discrete pool."""

    name = "bo"
    hyperparameters = Space([
        Integer("n_init", low=2, high=64, default=10),
        Categorical("acquisition", choices=("logei", "logpi"), default="logei"),
        Integer("pool_size", low=100, high=5000, default=500),
        Integer("n_local", low=0, high=1000, default=128),
        Integer("local_rounds", low=0, high=5, default=2),
        Categorical("y_transform", choices=("log", "identity"), default="log"),
        Integer("fit_maxiter", low=5, high=200, default=30),
        Integer("refit_every", low=1, high=20, default=5),
        Real("refit_growth", low=1.0, high=3.0, default=1.5),
    ])

    def __init__(self, space: Space, seed: int = 0, **hp: Any) -> None:
        super().__init__(space, seed, **hp)
        self.lat = Lattice(space, self.name)
        self.X: list[np.ndarray] = []
        self.y: list[float] = []
        self.seen: set[int] = set()  # mixed-radix codes of told or pending points
        self._radix = np.cumprod(np.concatenate([[1], self.lat.cards[::-1][:-1]]))[::-1].astype(np.int64)
        self._seen_arr = np.zeros(0, dtype=np.int64)  # sorted copy of ``seen`` for vectorized filtering
        self._seen_n = 0
        self.cat_dims = [i for i in range(self.lat.d) if not self.lat.ordered[i]]
        self._model = None
        self._model_n = -1
        self._hyper: dict | None = None  # fitted GP hyperparameters (state dict without data transforms)
        self._fit_n = 0
        self._n_fits = 0  # hyperparameter fits so far (benchmarks report it)
        self._pred = None  # cached exact-posterior pieces of the current model
        self._all = self.lat.enumerate() if self.lat.size <= self.hp["pool_size"] else None

    # -- encoding -------------------------------------------------------------------------
    def _features(self, idx: np.ndarray) -> np.ndarray:
        """Model inputs: unit-scaled index for ordered knobs, raw index for categorical ones."""
        f = idx.astype(float)
        o = self.lat.ordered
        f[..., o] = self.lat.unit(idx)[..., o]
        return f

    # -- ask/tell -------------------------------------------------------------------------
    def _ask(self) -> Config:
        if len(self.y) < self.hp["n_init"] or len(self.seen) >= self.lat.size:
            idx = self._random_unseen()
        else:
            idx = self._propose()
        self.seen.add(self._code(idx))
        return self.lat.decode(idx)

    def tell(self, config: Config, reward: float, metrics: Mapping[str, float] | None = None) -> None:
        idx = self.lat.encode(config)
        self.seen.add(self._code(idx))
        self.X.append(idx)
        self.y.append(float(reward))

    def _random_unseen(self) -> np.ndarray:
        for _ in range(100):
            idx = self.lat.sample(self.rng)
            if self._code(idx) not in self.seen:
                return idx
        return idx  # (nearly) exhausted space: a repeat is acceptable

    # -- model ----------------------------------------------------------------------------
    def _refit_due(self) -> bool:
        """Refit once ``max(refit_every, (refit_growth - 1) * n_fit)`` observations arrived."""
        new = len(self.y) - self._fit_n
        return self._hyper is None or new >= max(self.hp["refit_every"], (self.hp["refit_growth"] - 1) * self._fit_n)

    def _fit(self):
        import torch
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import MixedSingleTaskGP, SingleTaskGP
        from botorch.models.transforms import Standardize
        from gpytorch.mlls import ExactMarginalLogLikelihood

        if self._model is not None and self._model_n == len(self.y):
            return self._model
        X = torch.tensor(self._features(np.array(self.X)), dtype=torch.double)
        y = np.array(self.y)
        if self.hp["y_transform"] == "log":
            y = np.log(np.maximum(y, 1e-9))
        if np.ptp(y) == 0:  # flat data: tiny jitter keeps the standardization finite
            y = y + 1e-6 * np.arange(len(y))
        Y = torch.tensor(y, dtype=torch.double).unsqueeze(-1)
        if self._model is not None and not self._refit_due():
            # same hyperparameters and outcome standardization (eval mode: the stored mean and
            # std); only the training data change
            model = self._model
            Yt, _ = model.outcome_transform(Y)
            model.set_train_data(X, Yt.squeeze(-1), strict=False)
        else:
            with isolated(self.seed * 100_003 + len(self.y)):
                if self.cat_dims:
                    model = MixedSingleTaskGP(X, Y, cat_dims=self.cat_dims, outcome_transform=Standardize(m=1))
                else:
                    model = SingleTaskGP(X, Y, outcome_transform=Standardize(m=1))
                if self._hyper is not None:  # warm start from the previous hyperparameters
                    model.load_state_dict(self._hyper, strict=False)
                mll = ExactMarginalLogLikelihood(model.likelihood, model)
                # one deterministic L-BFGS attempt (no prior-sampled restarts); warnings resolved
                fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": self.hp["fit_maxiter"]}},
                                 max_attempts=1, warning_handler=lambda w: True)
                self._fit_n = len(self.y)
                self._n_fits += 1
                self._hyper = {k: v.detach().clone() for k, v in model.state_dict().items()
                               if not k.startswith("outcome_transform")}
        model.eval()
        self._model, self._model_n = model, len(self.y)
        self._best_f = float(Y.max())
        self._y_mean, self._y_std = float(Y.mean()), float(Y.std())
        return model

    def _acq(self, model):
        from botorch.acquisition.analytic import LogExpectedImprovement, LogProbabilityOfImprovement

        cls = LogExpectedImprovement if self.hp["acquisition"] == "logei" else LogProbabilityOfImprovement
        return cls(model, best_f=self._best_f)

    def _pool(self) -> np.ndarray:
        if self._all is not None:
            return self._all
        lat, rng = self.lat, self.rng
        parts = [lat.sample_many(rng, self.hp["pool_size"])]
        n_local = self.hp["n_local"]
        if n_local:
            top = np.array(self.X)[np.argsort(self.y)[::-1][:5]]
            base = top[(rng.random(n_local) * len(top)).astype(int)]
            for j, x in enumerate(base):
                for _ in range(1 + (j % 2)):
                    i = int(rng.random() * lat.d)
                    x[i] = lat.mutate_knob(rng, i, int(x[i]), 1 + int(rng.random() * 2))
            parts.append(base)
        return np.concatenate(parts)

    def _code(self, idx: np.ndarray) -> int:
        return int(np.asarray(idx, dtype=np.int64) @ self._radix)

    def _unseen(self, cand: np.ndarray) -> np.ndarray:
        if self._seen_n != len(self.seen):
            self._seen_arr = np.fromiter(self.seen, np.int64, len(self.seen))
            self._seen_n = len(self.seen)
        codes, first = np.unique(cand.astype(np.int64) @ self._radix, return_index=True)
        return cand[first[~np.isin(codes, self._seen_arr)]]

    def _predictor(self, model):
        """Cholesky factor and weights of the fitted GP's exact posterior (cached per model state)."""
        import torch

        key = (id(model), self._model_n)
        if self._pred is not None and self._pred[0] == key:
            return self._pred[1]
        Xtr, ytr = model.train_inputs[0], model.train_targets
        K = model.covar_module(Xtr).to_dense()
        K = K + model.likelihood.noise.reshape(()) * torch.eye(len(Xtr), dtype=K.dtype)
        L, info = torch.linalg.cholesky_ex(K)
        jitter = 1e-8
        while int(info) != 0 and jitter < 1.0:  # gpytorch's psd_safe_cholesky policy
            L, info = torch.linalg.cholesky_ex(K + jitter * torch.eye(len(Xtr), dtype=K.dtype))
            jitter *= 10
        alpha = torch.cholesky_solve((ytr - model.mean_module(Xtr)).unsqueeze(-1), L)
        ot = model.outcome_transform
        pred = (Xtr, L, alpha, float(ot.means.reshape(())), float(ot.stdvs.reshape(())))
        self._pred = (key, pred)
        return pred

    def _score(self, acq, cand: np.ndarray) -> np.ndarray:
        """The acquisition value of every candidate from its marginal posterior.

        BoTorch's analytic LogEI/LogPI formulas on each point's posterior mean and standard
        deviation, computed in closed form from the training Cholesky factor: ``k(X, X_train)``
        (m x n) and the (constant) kernel diagonal, instead of ``acq`` on an ``(m, 1, d)``
        batch and its per-point bookkeeping. Values equal ``acq``'s to ~1e-8.
        """
        import torch
        from botorch.acquisition.analytic import _log_ei_helper, _scaled_improvement, log_Phi

        model = acq.model
        out = []
        with torch.no_grad(), isolated():
            Xtr, L, alpha, mu, sd = self._predictor(model)
            X = torch.tensor(self._features(cand), dtype=torch.double)
            # every kernel here is stationary (RBF/Matern on scaled indices, Hamming-distance
            # categorical, their sums and products): k(x, x) is one constant
            kxx = model.covar_module(X[:1], diag=True).reshape(())
            for i in range(0, len(X), 4096):
                x = X[i:i + 4096]
                Ktn = model.covar_module(x, Xtr).to_dense()
                mean = model.mean_module(x) + (Ktn @ alpha).squeeze(-1)
                V = torch.linalg.solve_triangular(L, Ktn.T, upper=False)
                var = kxx - (V * V).sum(0)
                mean, var = mean * sd + mu, var * sd * sd
                sigma = var.clamp_min(1e-12).sqrt()
                u = _scaled_improvement(mean, sigma, acq.best_f, True)
                v = _log_ei_helper(u) + sigma.log() if self.hp["acquisition"] == "logei" else log_Phi(u)
                out.append(v.numpy())
        return np.concatenate(out)

    def _propose(self) -> np.ndarray:
        acq = self._acq(self._fit())
        cand = self._unseen(self._pool())
        if len(cand) == 0:
            return self._random_unseen()
        scores = self._score(acq, cand)
        best, best_s = cand[int(np.argmax(scores))], float(np.max(scores))
        for _ in range(self.hp["local_rounds"]):  # coordinate-wise local search around the argmax
            nb = [best.copy() for _ in range(int(self.lat.cards.sum()))]
            r = 0
            for i, n in enumerate(self.lat.cards):
                for v in range(int(n)):
                    nb[r][i] = v
                    r += 1
            nb = self._unseen(np.array(nb))
            if len(nb) == 0:
                break
            s = self._score(acq, nb)
            if not float(s.max()) > best_s or math.isnan(float(s.max())):
                break
            best, best_s = nb[int(np.argmax(s))], float(s.max())
        return best
