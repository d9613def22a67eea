"""Gymnasium adapters over any archlab Problem with a discrete space.

``ProblemEnv``: single agent, action = MultiDiscrete knob indices, one evaluation per step.
``MultiAgentProblemEnv``: a PettingZoo-style parallel view with one agent per knob, every
agent sharing the reward.
"""

from archlab.envs.problem_env import MultiAgentProblemEnv, ProblemEnv

__all__ = ["MultiAgentProblemEnv", "ProblemEnv"]
