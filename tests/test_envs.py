"""Gymnasium adapters over archlab problems."""

import numpy as np
import pytest
from archlab.envs import MultiAgentProblemEnv, ProblemEnv
from archlab.problems.dram import DramProblem
from gymnasium.utils.env_checker import check_env


@pytest.fixture(scope="module")
def problem():
    return DramProblem("stream", objective="latency+energy", n_requests=2000)


def test_single_agent_env_passes_checker(problem):
    env = ProblemEnv(problem, max_steps=3)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert obs.shape == (2,) and env.action_space.nvec.tolist() == problem.space.cardinalities
    default = problem.space.to_index(problem.space.default())
    obs, reward, terminated, truncated, info = env.step(default)
    assert reward == pytest.approx(problem.reward(info["metrics"]))
    assert np.allclose(obs, np.log(1 / 0.8), atol=1e-5)  # default config sits at target / 0.8
    assert not terminated and not truncated
    env.step(default)
    assert env.step(default)[3]  # truncated after max_steps


def test_env_terminates_at_target():
    p = DramProblem("stream", objective="latency", target=1e9, n_requests=500)
    env = ProblemEnv(p)
    env.reset(seed=1)
    assert env.step(env.action_space.sample())[2]
    with pytest.raises(ValueError, match="out of range for PagePolicy"):
        env.step([9] + [0] * 9)


def test_multi_agent_view_shares_reward(problem):
    env = MultiAgentProblemEnv(problem, max_steps=2)
    obs, infos = env.reset(seed=0)
    assert env.possible_agents == problem.space.names and set(obs) == set(env.agents)
    actions = {a: env.action_space(a).sample() for a in env.agents}
    obs, rewards, terms, truncs, infos = env.step(actions)
    assert len(set(rewards.values())) == 1 and 0 <= next(iter(rewards.values())) <= 1
    with pytest.raises(ValueError, match="missing actions"):
        env.step({})
