"""Gymnasium environments wrapping an archlab :class:`~archlab.core.problem.Problem`.

Observation: for each objective, ``log(value / target)`` clipped to [-10, 10] (0 at the
target, negative when better), float32; zeros after ``reset``. Reward: the problem's
bounded reward in [0, 1]. An episode ends (``terminated``) when the reward reaches 1 (all
targets met) and is truncated after ``max_steps`` evaluations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from archlab.core.problem import Problem

CLIP = 10.0


class ProblemEnv(gym.Env):
    """Single-agent view: the action picks one value index per knob."""

    metadata = {"render_modes": []}

    def __init__(self, problem: Problem, max_steps: int = 100) -> None:
        if not problem.space.is_discrete:
            raise ValueError("ProblemEnv needs a discrete space (every knob with a finite value list)")
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.problem = problem
        self.max_steps = int(max_steps)
        self.objectives = tuple(problem.target)
        self.action_space = spaces.MultiDiscrete(np.array(problem.space.cardinalities, dtype=np.int64))
        self.observation_space = spaces.Box(-CLIP, CLIP, shape=(len(self.objectives),), dtype=np.float32)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._steps = 0
        return np.zeros(len(self.objectives), dtype=np.float32), {}

    def observe(self, metrics: Mapping[str, float]) -> np.ndarray:
        """``log(value / target)`` per objective, clipped, as float32."""
        obs = []
        for m in self.objectives:
            v, t = float(metrics[m]), float(self.problem.target[m])
            obs.append(-CLIP if v <= 0 else max(-CLIP, min(CLIP, math.log(v / t))))
        return np.array(obs, dtype=np.float32)

    def config_of(self, action: Any) -> dict[str, Any]:
        """The configuration an action selects (errors name the knob and its range)."""
        a = np.asarray(action, dtype=np.int64).reshape(-1)
        space = self.problem.space
        if a.shape[0] != len(space):
            raise ValueError(f"action has {a.shape[0]} entries; expected one per knob ({len(space)})")
        for d, i in zip(space, a):
            if not 0 <= i < d.n:
                raise ValueError(f"action index {i} out of range for {d.name} (0..{d.n - 1})")
        return space.from_index(a)

    def step(self, action: Any):
        config = self.config_of(action)
        metrics = self.problem.evaluate(config)
        reward = float(self.problem.reward(metrics))
        self._steps += 1
        terminated = reward >= 1.0
        truncated = self._steps >= self.max_steps and not terminated
        return self.observe(metrics), reward, terminated, truncated, {"config": config, "metrics": metrics}


class MultiAgentProblemEnv:
    """Parallel multi-agent view (PettingZoo ``ParallelEnv`` conventions): one agent per knob
    chooses that knob's value index; all agents observe the same vector and share the reward."""

    metadata = {"name": "archlab_problem_ma", "render_modes": []}

    def __init__(self, problem: Problem, max_steps: int = 100) -> None:
        self.env = ProblemEnv(problem, max_steps=max_steps)
        self.possible_agents = list(problem.space.names)
        self.agents = list(self.possible_agents)
        self._action = {d.name: spaces.Discrete(d.n) for d in problem.space}

    def observation_space(self, agent: str) -> spaces.Box:
        return self.env.observation_space

    def action_space(self, agent: str) -> spaces.Discrete:
        if agent not in self._action:
            raise KeyError(f"unknown agent {agent!r}; agents: {', '.join(self.possible_agents)}")
        return self._action[agent]

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            for i, a in enumerate(self.possible_agents):
                self._action[a].seed(seed + i)
        self.agents = list(self.possible_agents)
        return {a: obs.copy() for a in self.agents}, {a: dict(info) for a in self.agents}

    def step(self, actions: Mapping[str, int]):
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"missing actions for agents {missing}")
        obs, reward, term, trunc, info = self.env.step([int(actions[a]) for a in self.possible_agents])
        out = ({a: obs.copy() for a in self.agents}, {a: reward for a in self.agents},
               {a: term for a in self.agents}, {a: trunc for a in self.agents},
               {a: info for a in self.agents})
        if term or trunc:
            self.agents = []
        return out
