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
