"""Policy-gradient searchers: PPO (one agent, factored policy) and multi-agent PPO.

Both share one core. An *agent* owns a group of knobs and a small actor-critic MLP (tanh
trunk, one categorical head per knob, a value head) trained with PPO's clipped surrogate,
an entropy bonus and a value loss (Schulman et al. 2017), Adam with learning rate ``lr``.

Formulations (``formulation``):

- ``one_step`` (ArchGym's): every episode is one step; the action is a whole config, the
  observation is constant and the reward is the config's reward. The policy then is a
  learned distribution over configs and the critic a learned baseline.
- ``multi_step``: an episode has ``episode_len`` steps; each step proposes a whole config
  conditioned on the observation (the previous config scaled to [0, 1], its reward, and
  the step's position in the episode); returns are discounted by ``gamma`` with GAE
  (``gae_lambda``).

``ppo`` uses one agent over all knobs with the global observation. ``marl`` follows
"Multi-Agent Reinforcement Learning for Microprocessor Design Space Exploration"
(Krishnan et al., 2022): one agent per knob group (``group_size`` knobs each),
decentralized (each agent observes only its own knobs' previous values, the shared
reward and the step), every agent trained by PPO on the shared reward with its own critic.

Rollouts are sampled in numpy from a copy of the weights refreshed after every update
(fast asks); every ``batch`` told transitions trigger ``epochs`` passes of
``minibatches`` minibatches. A config told that was never asked cannot be learned from
on-policy and is ignored. Seeding: network initialisation runs inside
``torch.random.fork_rng`` seeded from the searcher's seed; sampling and minibatch order use
the searcher's numpy generator; the process-global RNGs are untouched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from archlab.core.space import Categorical, Config, Integer, Real, Space
from archlab.search.base import Searcher, register
from archlab.search.lattice import Lattice
from archlab.search.torch_utils import isolated

RL_HYPERPARAMETERS = [
    Categorical("formulation", choices=("one_step", "multi_step"), default="one_step"),
    Real("lr", low=1e-4, high=0.1, log=True, default=0.01),
    Real("entropy_coef", low=0.0, high=0.2, default=0.01),
    Real("clip", low=0.05, high=0.5, default=0.2),
    Integer("batch", low=4, high=256, default=32),
    Integer("epochs", low=1, high=16, default=4),
    Integer("minibatches", low=1, high=8, default=2),
    Real("gamma", low=0.0, high=1.0, default=0.9),
    Real("gae_lambda", low=0.0, high=1.0, default=0.95),
    Integer("episode_len", low=2, high=64, default=8),
    Integer("hidden", low=8, high=128, default=32),
    Real("vf_coef", low=0.0, high=2.0, default=0.5),
]


class _Agent:
    """Actor-critic over a group of knobs (``cards`` values each)."""

    def __init__(self, obs_dim: int, cards: list[int], hidden: int, lr: float, torch_seed: int) -> None:
        import torch
        from torch import nn

        with isolated(torch_seed):
            self.trunk = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden),
                                       nn.Tanh())
            self.head = nn.Linear(hidden, int(sum(cards)))  # all knob heads, concatenated
            self.value = nn.Linear(hidden, 1)
            nn.init.zeros_(self.head.weight)  # uniform initial policy
            nn.init.zeros_(self.head.bias)
        self.params = [*self.trunk.parameters(), *self.head.parameters(), *self.value.parameters()]
        self.opt = torch.optim.Adam(self.params, lr=lr)
        self.cards = cards
        self.splits = np.cumsum([0, *cards])
        # padded (knobs, max choices) view of the concatenated heads; the extra last column is -inf
        m, total = max(cards), int(sum(cards))
        pad = np.full((len(cards), m), total)
        for k, n in enumerate(cards):
            pad[k, :n] = np.arange(self.splits[k], self.splits[k] + n)
        self._pad_np, self._n_np = pad, np.array(cards)
        self._pad = torch.from_numpy(pad)
        self._valid = torch.from_numpy(pad < total)
        self._neg_inf = torch.full((1, 1), -torch.inf)
        self._sync()

    def _sync(self) -> None:
        """Numpy copy of the weights for fast rollouts."""
        w = [p.detach().double().numpy().copy() for p in self.params]
        self.np_w = w

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
        W1, b1, W2, b2, Wh, bh, Wv, bv = self.np_w
        h = np.tanh(W2 @ np.tanh(W1 @ obs + b1) + b2)
        z = np.append(Wh @ h + bh, -np.inf)[self._pad_np]  # (knobs, max choices), padding -inf
        p = np.exp(z - z.max(axis=1, keepdims=True))
        cum = np.cumsum(p, axis=1)
        u = rng.random(len(self.cards)) * cum[:, -1]
        acts = np.minimum((cum <= u[:, None]).sum(axis=1), self._n_np - 1)
        logp = float(np.sum(np.log(np.maximum(p[np.arange(len(acts)), acts] / cum[:, -1], 1e-300))))
        return acts, logp, float((Wv @ h + bv)[0])

    def update(self, obs: np.ndarray, acts: np.ndarray, logp_old: np.ndarray, adv: np.ndarray,
               ret: np.ndarray, hp: Mapping[str, Any], rng: np.random.Generator) -> None:
        import torch

        OBS = torch.tensor(obs, dtype=torch.float32)
        A = torch.tensor(acts, dtype=torch.int64)
        LP = torch.tensor(logp_old, dtype=torch.float32)
        ADV = torch.tensor(adv, dtype=torch.float32)
        RET = torch.tensor(ret, dtype=torch.float32)
        n = len(OBS)
        with isolated():
            self._epochs(OBS, A, LP, ADV, RET, n, hp, rng)
        self._sync()

    def _epochs(self, OBS, A, LP, ADV, RET, n: int, hp: Mapping[str, Any], rng: np.random.Generator) -> None:
        import torch

        for _ in range(hp["epochs"]):
            for mb in np.array_split(rng.permutation(n), min(hp["minibatches"], n)):
                i = torch.from_numpy(mb)
                h = self.trunk(OBS[i])
                logits = torch.cat([self.head(h), self._neg_inf.expand(len(mb), 1)], dim=1)[:, self._pad]
                lk = torch.log_softmax(logits, dim=-1)  # (batch, knobs, max choices); padding -> -inf
                logp = lk.gather(2, A[i].unsqueeze(2)).squeeze(2).sum(1)
                ent = -(lk.exp() * lk.masked_fill(~self._valid, 0.0)).sum((1, 2))  # NaN-free at padding
                ratio = torch.exp(logp - LP[i])
                surr = torch.minimum(ratio * ADV[i], torch.clamp(ratio, 1 - hp["clip"], 1 + hp["clip"]) * ADV[i])
                v = self.value(h).squeeze(1)
                loss = -surr.mean() - hp["entropy_coef"] * ent.mean() + hp["vf_coef"] * ((v - RET[i]) ** 2).mean()
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()


class _PolicySearcher(Searcher):
    """Shared ask/tell, rollout bookkeeping and GAE for ``ppo`` and ``marl``."""

    def __init__(self, space: Space, seed: int = 0, **hp: Any) -> None:
        super().__init__(space, seed, **hp)
        self.lat = Lattice(space, self.name)
        self.groups = self._groups()
        self.multi = self.hp["formulation"] == "multi_step"
        self.agents = [
            _Agent(self._obs_dim(g), [int(self.lat.cards[i]) for i in g], self.hp["hidden"], self.hp["lr"],
                   torch_seed=self.seed * 7919 + j)
            for j, g in enumerate(self.groups)
        ]
        self.pending: dict[tuple[int, ...], deque] = {}
        self.buffer: list[dict[str, Any]] = []
        self.episode, self.t = 0, 0
        self.prev_unit = np.zeros(self.lat.d)
        self.prev_reward = 0.0

    def _groups(self) -> list[list[int]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _obs_dim(self, group: list[int]) -> int:
        return len(self._local(group)) + 2 if self.multi else 1

    def _local(self, group: list[int]) -> list[int]:
        """Knobs whose previous values the agent observes (multi-step)."""
        return list(range(self.lat.d))

    def _ask(self) -> Config:
        idx = np.empty(self.lat.d, dtype=np.int64)
        rec: dict[str, Any] = {"obs": [], "acts": [], "logp": [], "v": [], "ep": self.episode, "t": self.t}
        for g, agent in zip(self.groups, self.agents):
            if self.multi:
                obs = np.concatenate([self.prev_unit[self._local(g)],
                                      [self.prev_reward, self.t / self.hp["episode_len"]]])
            else:
                obs = np.ones(1)
            a, lp, v = agent.act(obs, self.rng)
            idx[g] = a
            for k, x in zip(("obs", "acts", "logp", "v"), (obs, a, lp, v)):
                rec[k].append(x)
        key = tuple(int(i) for i in idx)
        self.pending.setdefault(key, deque()).append(rec)
        if self.multi:
            self.prev_unit = self.lat.unit(idx)
            self.t += 1
            if self.t >= self.hp["episode_len"]:
                self.episode, self.t = self.episode + 1, 0
                self.prev_unit, self.prev_reward = np.zeros(self.lat.d), 0.0
        return self.lat.decode(idx)

    def tell(self, config: Config, reward: float, metrics: Mapping[str, float] | None = None) -> None:
        q = self.pending.get(self.lat.key(config))
        if not q:
            return  # never asked: on-policy PPO cannot use it
        rec = q.popleft()
        rec["r"] = float(reward)
        if self.multi and rec["ep"] == self.episode:
            self.prev_reward = float(reward)
        self.buffer.append(rec)
        if len(self.buffer) >= self.hp["batch"]:
            self._learn()

    def _learn(self) -> None:
        buf = sorted(self.buffer, key=lambda r: (r["ep"], r["t"]))
        self.buffer = []
        r = np.array([b["r"] for b in buf])
        for j, agent in enumerate(self.agents):
            v = np.array([b["v"][j] for b in buf])
            adv = self._advantages(buf, r, v)
            ret = adv + v
            if len(adv) > 1 and adv.std() > 1e-8:
                adv = (adv - adv.mean()) / adv.std()
            agent.update(np.array([b["obs"][j] for b in buf]), np.array([b["acts"][j] for b in buf]),
                         np.array([b["logp"][j] for b in buf]), adv, ret, self.hp, self.rng)

    def _advantages(self, buf: list[dict[str, Any]], r: np.ndarray, v: np.ndarray) -> np.ndarray:
        if not self.multi:
            return r - v
        g, lam = self.hp["gamma"], self.hp["gae_lambda"]
        adv = np.zeros(len(buf))
        last = 0.0
        for i in range(len(buf) - 1, -1, -1):
            nxt = i + 1 < len(buf) and buf[i + 1]["ep"] == buf[i]["ep"] and buf[i + 1]["t"] == buf[i]["t"] + 1
            terminal = buf[i]["t"] == self.hp["episode_len"] - 1
            if nxt:
                v_next = v[i + 1]
            else:  # terminal: 0; truncated inside the batch: bootstrap with own value
                v_next, last = (0.0 if terminal else v[i]), 0.0
            delta = r[i] + g * v_next - v[i]
            last = delta + g * lam * last
            adv[i] = last
        return adv


@register
class PPO(_PolicySearcher):
    """PPO with one factored categorical policy over all knobs."""

    name = "ppo"
    hyperparameters = Space(RL_HYPERPARAMETERS)

    def _groups(self) -> list[list[int]]:
        return [list(range(self.lat.d))]


@register
class MultiAgentPPO(_PolicySearcher):
    """Decentralized PPO agents, one per group of ``group_size`` consecutive knobs."""

    name = "marl"
    hyperparameters = Space([*RL_HYPERPARAMETERS, Integer("group_size", low=1, high=16, default=1)])

    def _groups(self) -> list[list[int]]:
        s = self.hp["group_size"]
        return [list(range(i, min(i + s, self.lat.d))) for i in range(0, self.lat.d, s)]

    def _local(self, group: list[int]) -> list[int]:
        return group


# -- ArchGym-style formulations ----------------------------------------------------------------
#
# ArchGym's DRAMSys agents (oss-arch-gym, arch_gym/envs/DRAMEnv_RL.py, sims/DRAM/train_*):
# - single agent ("sa"): one PPO policy whose action is a continuous vector in [-1, 1]^d (one
#   entry per knob, clipped to the box), each entry binned into that knob's values by equal-width
#   bins; observation = the simulator's metrics (energy, power, latency).
# - multi-agent ("macme"): one agent per knob with a discrete action over that knob's values,
#   every agent observing the same global metrics and receiving the same (shared) reward.
# Episodes are one step long (max_steps=1) and agents train for 10k environment steps.
#
# Here the observation at each ask is the metrics told with the *previous* evaluation (zeros
# before the first), each as clip(log(value / first told value), -5, 5), in sorted name order;
# when ``tell`` gets no metrics the observation is the previous reward. Episodes are one step,
# so PPO's advantage is reward - V(observation). Networks are ``layers`` tanh layers of
# ``hidden`` units with zero-initialised policy and value heads (uniform / zero-mean initial
# policy), built once the first tell fixes the observation size; asks before that sample the
# initial policy directly. All agents of ``marl_archgym`` live in one batched network trained
# with one Adam optimiser on the sum of their PPO losses; their parameters are disjoint and Adam
# is elementwise, so this equals independent per-agent optimisers (decentralised PPO, "IPPO").

ARCHGYM_HYPERPARAMETERS = [
    Real("lr", low=1e-5, high=0.03, log=True, default=1e-3),
    Real("entropy_coef", low=0.0, high=0.2, default=0.01),
    Real("clip", low=0.05, high=0.5, default=0.2),
    Integer("batch", low=8, high=1024, default=64),
    Integer("epochs", low=1, high=16, default=4),
    Integer("minibatches", low=1, high=8, default=2),
    Integer("hidden", low=8, high=128, default=32),
    Integer("layers", low=1, high=3, default=3),
    Real("vf_coef", low=0.0, high=2.0, default=0.5),
]
OBS_CLIP = 5.0


class _BatchedActorCritic:
    """``A`` independent MLP actor-critics evaluated together (weights stacked on axis 0).

    ``kind="categorical"``: agent ``a`` outputs logits over ``outs[a]`` choices (padded to the
    largest with -inf). ``kind="gaussian"``: agent ``a`` outputs the mean of an ``outs[a]``-dim
    diagonal Gaussian with a learned state-independent log standard deviation.
    """

    def __init__(self, kind: str, n_agents: int, obs_dim: int, outs: list[int], hidden: int, layers: int,
                 lr: float, torch_seed: int, init_log_std: float = 0.0) -> None:
        import torch

        self.kind, self.A, self.outs = kind, n_agents, outs
        self.O = n_out = max(outs)
        with isolated(torch_seed):
            dims = [obs_dim] + [hidden] * layers
            self.W, self.b = [], []
            for i in range(layers):
                bound = 1.0 / np.sqrt(dims[i])  # torch.nn.Linear's default initialisation
                self.W.append(torch.empty(n_agents, dims[i + 1], dims[i]).uniform_(-bound, bound))
                self.b.append(torch.empty(n_agents, dims[i + 1]).uniform_(-bound, bound))
            self.Wo, self.bo = torch.zeros(n_agents, n_out, hidden), torch.zeros(n_agents, n_out)
            self.Wv, self.bv = torch.zeros(n_agents, 1, hidden), torch.zeros(n_agents, 1)
            self.log_std = torch.full((n_agents, n_out), float(init_log_std))
        self.params = [*self.W, *self.b, self.Wo, self.bo, self.Wv, self.bv]
        if kind == "gaussian":
            self.params.append(self.log_std)
        for p in self.params:
            p.requires_grad_(True)
        self.opt = torch.optim.Adam(self.params, lr=lr)
        self.valid = np.arange(n_out)[None, :] < np.array(outs)[:, None]  # (A, O)
        self._valid_t = torch.from_numpy(self.valid)
        self._sync()

    def _sync(self) -> None:
        self.np = [p.detach().double().numpy().copy() for p in self.params]

    # numpy, one observation ---------------------------------------------------------------
    def forward_np(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        L = len(self.W)
        Ws, bs = self.np[:L], self.np[L:2 * L]
        Wo, bo, Wv, bv = self.np[2 * L:2 * L + 4]
        h = np.tanh(Ws[0] @ obs + bs[0])  # (A, H)
        for W, b in zip(Ws[1:], bs[1:]):
            h = np.tanh(np.einsum("ahk,ak->ah", W, h) + b)
        return np.einsum("aoh,ah->ao", Wo, h) + bo, (np.einsum("aoh,ah->ao", Wv, h) + bv)[:, 0]

    # torch, a batch -----------------------------------------------------------------------
    def forward(self, OBS):
        import torch

        h = torch.tanh(torch.einsum("ahd,bd->bah", self.W[0], OBS) + self.b[0])  # (B, A, H)
        for W, b in zip(self.W[1:], self.b[1:]):
            h = torch.tanh(torch.einsum("ahk,bak->bah", W, h) + b)
        return torch.einsum("aoh,bah->bao", self.Wo, h) + self.bo, (torch.einsum("aoh,bah->bao", self.Wv, h)
                                                                   + self.bv)[..., 0]

    def log_prob_entropy(self, out, ACT):
        """Per-agent log-probabilities and entropies of ``ACT`` under outputs ``out`` (B, A, O)."""
        import torch

        if self.kind == "categorical":
            logits = out.masked_fill(~self._valid_t, -torch.inf)
            lk = torch.log_softmax(logits, dim=-1)
            logp = lk.gather(2, ACT.unsqueeze(2)).squeeze(2)
            ent = -(lk.exp() * lk.masked_fill(~self._valid_t, 0.0)).sum(2)
            return logp, ent
        std = self.log_std.exp()
        z = (ACT - out) / std
        lp = (-0.5 * z * z - self.log_std - 0.5 * np.log(2 * np.pi)) * self._valid_t
        ent = ((0.5 + 0.5 * np.log(2 * np.pi) + self.log_std) * self._valid_t).sum(1)
        return lp.sum(2), ent.expand(out.shape[0], -1)

    def update(self, obs, acts, logp_old, adv, ret, hp, rng) -> None:
        import torch

        with isolated():
            OBS = torch.tensor(obs, dtype=torch.float32)
            ACT = torch.tensor(acts, dtype=torch.int64 if self.kind == "categorical" else torch.float32)
            LP, ADV = torch.tensor(logp_old, dtype=torch.float32), torch.tensor(adv, dtype=torch.float32)
            RET = torch.tensor(ret, dtype=torch.float32)
            n = len(OBS)
            for _ in range(hp["epochs"]):
                for mb in np.array_split(rng.permutation(n), min(hp["minibatches"], n)):
                    i = torch.from_numpy(mb)
                    out, v = self.forward(OBS[i])
                    logp, ent = self.log_prob_entropy(out, ACT[i])
                    ratio = torch.exp(logp - LP[i])  # (b, A)
                    a = ADV[i]
                    surr = torch.minimum(ratio * a, torch.clamp(ratio, 1 - hp["clip"], 1 + hp["clip"]) * a)
                    # sum over agents of each agent's mean loss
                    loss = (-surr.mean(0) - hp["entropy_coef"] * ent.mean(0)
                            + hp["vf_coef"] * ((v - RET[i]) ** 2).mean(0)).sum()
                    self.opt.zero_grad()
                    loss.backward()
                    self.opt.step()
        self._sync()


class _ArchGymSearcher(Searcher):
    """Shared ask/tell for the ArchGym-style one-step PPO formulations."""

    kind = "categorical"

    def __init__(self, space: Space, seed: int = 0, **hp: Any) -> None:
        super().__init__(space, seed, **hp)
        self.lat = Lattice(space, self.name)
        self.net: _BatchedActorCritic | None = None
        self.metric_names: list[str] | None = None
        self.ref: np.ndarray | None = None
        self.obs: np.ndarray | None = None  # observation for the next ask (None before the first tell)
        self.pending: dict[tuple[int, ...], deque] = {}
        self.buffer: list[tuple] = []

    # observation ---------------------------------------------------------------------------
    def _observe(self, reward: float, metrics: Mapping[str, float] | None) -> None:
        if self.metric_names is None:
            names = sorted(k for k, v in (metrics or {}).items() if np.isfinite(float(v)) and float(v) > 0)
            self.metric_names = names
            self.ref = np.array([float(metrics[k]) for k in names]) if names else np.ones(0)
            self._build(max(1, len(names)))
        if self.metric_names:
            x = np.array([float((metrics or {}).get(k, np.nan)) for k in self.metric_names])
            with np.errstate(divide="ignore", invalid="ignore"):
                o = np.log(x / self.ref)
            self.obs = np.clip(np.nan_to_num(o, nan=0.0, posinf=OBS_CLIP, neginf=-OBS_CLIP), -OBS_CLIP, OBS_CLIP)
        else:
            self.obs = np.array([float(reward)])

    def _build(self, obs_dim: int) -> None:
        self.obs_dim = obs_dim
        n_agents, outs = self._shape()
        self.net = _BatchedActorCritic(self.kind, n_agents, obs_dim, outs, hidden=self.hp["hidden"],
                                       layers=self.hp["layers"], lr=self.hp["lr"],
                                       torch_seed=self.seed * 7919 + 17, **self._net_kwargs())

    def _net_kwargs(self) -> dict[str, Any]:
        return {}

    def _shape(self) -> tuple[int, list[int]]:  # pragma: no cover - abstract
        raise NotImplementedError

    # ask/tell --------------------------------------------------------------------------------
    def _ask(self) -> Config:
        if self.net is None:
            out, v = np.zeros((self._shape()[0], max(self._shape()[1]))), np.zeros(self._shape()[0])
        else:
            out, v = self.net.forward_np(self.obs)
        act, logp, idx = self._sample(out)
        key = tuple(int(i) for i in idx)
        self.pending.setdefault(key, deque()).append((self.obs, act, logp, v))
        return self.lat.decode(idx)

    def tell(self, config: Config, reward: float, metrics: Mapping[str, float] | None = None) -> None:
        q = self.pending.get(self.lat.key(config))
        self._observe(float(reward), metrics)
        if not q:
            return  # never asked: on-policy PPO cannot use it
        obs, act, logp, v = q.popleft()
        self.buffer.append((self.obs * 0 if obs is None else obs, act, logp, v, float(reward)))
        if len(self.buffer) >= self.hp["batch"]:
            self._learn()

    def _learn(self) -> None:
        obs, acts, logp, v, r = (np.array(x) for x in zip(*self.buffer))
        self.buffer = []
        adv = r[:, None] - v  # (B, A): one-step episodes
        ret = adv + v
        adv = (adv - adv.mean(0)) / np.maximum(adv.std(0), 1e-8)
        self.net.update(obs, acts, logp, adv, ret, self.hp, self.rng)


@register
class ArchGymPPO(_ArchGymSearcher):
    """ArchGym's single-agent PPO: a continuous action in [-1, 1]^d binned per knob."""

    name = "ppo_archgym"
    kind = "gaussian"
    hyperparameters = Space([*ARCHGYM_HYPERPARAMETERS,
                             Real("init_std", low=0.05, high=2.0, log=True, default=0.5)])

    def _shape(self) -> tuple[int, list[int]]:
        return 1, [self.lat.d]

    def _net_kwargs(self) -> dict[str, Any]:
        return {"init_log_std": float(np.log(self.hp["init_std"]))}

    def _sample(self, out: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        mean = out[0]
        log_std = self.net.np[-1][0] if self.net is not None else np.full(self.lat.d, np.log(self.hp["init_std"]))
        std = np.exp(log_std)
        z = self.rng.standard_normal(self.lat.d)
        a = mean + std * z
        logp = float(np.sum(-0.5 * z * z - log_std - 0.5 * np.log(2 * np.pi)))
        return a[None, :], logp, self.bins(a)

    def bins(self, a: np.ndarray) -> np.ndarray:
        """ArchGym's decoding: clip to [-1, 1], then equal-width bins over each knob's values."""
        u = (np.clip(a, -1.0, 1.0) + 1.0) / 2.0
        return np.minimum((u * self.lat.cards).astype(np.int64), self.lat.cards - 1)

    def _learn(self) -> None:
        obs, acts, logp, v, r = (np.array(x) for x in zip(*self.buffer))
        self.buffer = []
        adv = r[:, None] - v
        ret = adv + v
        adv = (adv - adv.mean(0)) / np.maximum(adv.std(0), 1e-8)
        self.net.update(obs, acts, logp[:, None], adv, ret, self.hp, self.rng)


@register
class ArchGymMARL(_ArchGymSearcher):
    """ArchGym's multi-agent formulation: one PPO agent per knob, global observation, shared reward."""

    name = "marl_archgym"
    kind = "categorical"
    hyperparameters = Space(ARCHGYM_HYPERPARAMETERS)

    def _shape(self) -> tuple[int, list[int]]:
        return self.lat.d, [int(n) for n in self.lat.cards]

    def _sample(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        valid = (self.net.valid if self.net is not None
                 else np.arange(out.shape[1])[None, :] < self.lat.cards[:, None])
        z = np.where(valid, out, -np.inf)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        cum = np.cumsum(p, axis=1)
        u = self.rng.random(self.lat.d) * cum[:, -1]
        acts = np.minimum((cum <= u[:, None]).sum(axis=1), self.lat.cards - 1)
        logp = np.log(np.maximum(p[np.arange(self.lat.d), acts] / cum[:, -1], 1e-300))
        return acts, logp, acts
