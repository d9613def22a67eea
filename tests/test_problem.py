import math

import pytest
from archlab.core.problem import target_reward


def test_reward_is_one_exactly_when_target_met():
    assert target_reward({"t_ns": 100.0}, {"t_ns": 100.0}) == 1.0
    assert target_reward({"t_ns": 50.0}, {"t_ns": 100.0}) == 1.0
    assert target_reward({"t_ns": 0.0}, {"t_ns": 100.0}) == 1.0  # no division by zero
    assert 0 < target_reward({"t_ns": 100.0001}, {"t_ns": 100.0}) < 1.0


def test_reward_geometric_mean_and_bounds():
    r = target_reward({"a": 200.0, "b": 50.0}, {"a": 100.0, "b": 100.0})
    assert r == pytest.approx(math.sqrt(0.5))
    assert target_reward({"a": float("nan")}, {"a": 1.0}) == 0.0
    assert 0 <= target_reward({"a": 1e300}, {"a": 1e-300}) <= 1


def test_reward_errors():
    with pytest.raises(KeyError, match="missing"):
        target_reward({}, {"a": 1.0})
    with pytest.raises(ValueError, match="must be > 0"):
        target_reward({"a": 1.0}, {"a": 0.0})
