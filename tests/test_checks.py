"""archlab.core.checks: each contract rule is caught with a message that says what to fix,
soft issues warn, and the built-in problems pass (the searchers: test_search_contract.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from archlab import search
from archlab.core.checks import (
    ContractError,
    ContractToy,
    ContractWarning,
    check_problem,
    check_searcher,
)
from archlab.core.space import Integer, Space


class Good(search.Searcher):
    name = "good_for_checks"
    hyperparameters = Space([Integer("k", low=1, high=4, default=2)])

    def _ask(self):
        return self.space.sample(self.rng)

    def tell(self, config, reward, metrics=None):
        self.space.validate(config)


def _variant(**attrs):
    return type("Variant", (Good,), {"name": "variant", **attrs})


def _ignores_hp_init(self, space, seed=0, **hp):
    search.Searcher.__init__(self, space, seed)


def _global_rng_ask(self):
    np.random.seed(self.seed + len(getattr(self, "_n", [])))
    self.__dict__.setdefault("_n", []).append(1)
    return self.space.from_index([np.random.randint(d.n) for d in self.space])


def _remembering_ask(self):
    config = self._ask()
    self.__dict__.setdefault("_asked", set()).add(self.space.key(config))
    return config


def _picky_tell(self, config, reward, metrics=None):
    if self.space.key(config) not in self._asked:
        raise KeyError("never asked")


SEARCHER_BREAKAGES = {
    "not a searcher": (object, r"not a class derived from archlab.search.Searcher.*Fix: subclass"),
    "no name": (_variant(name=""), r"name is empty.*Fix: set the class attribute name"),
    "no _ask": (type("NoAsk", (search.Searcher,), {"name": "no_ask"}), r"does not implement _ask\(\)"),
    "hp not validated": (_variant(__init__=_ignores_hp_init),
                         r"unknown hyperparameter 'bogus': accepted.*Fix: accept hyperparameters only"),
    "out of space": (_variant(_ask=lambda self: {**self.space.default(), "queue": 3}),
                     r"ask\(\) returned .*outside the space.*queue"),
    "not canonical": (_variant(_ask=lambda self: {**self.space.default(), "queue": "4"}),
                      r"not in canonical form"),
    "global rng": (_variant(_ask=_global_rng_ask), r"global random state|second instance"),
    "short batch": (_variant(ask_batch=lambda self, n: [self.ask()]), r"ask_batch\(3\) returned list of length 1"),
    "tell rejects unasked": (_variant(ask=_remembering_ask, tell=_picky_tell),
                             r"tell\(\) of a valid configuration that was never asked raised KeyError"),
}


@pytest.mark.parametrize("case", sorted(SEARCHER_BREAKAGES))
def test_check_searcher_catches(case):
    cls, pattern = SEARCHER_BREAKAGES[case]
    with pytest.raises(ContractError, match=pattern):
        check_searcher(cls)


def test_check_searcher_passes_and_warns_softly():
    report = check_searcher(Good, strict=True)
    assert "the same seed gives the same trajectory" in report.passed and not report.warnings
    lax = _variant(tell=lambda self, c, r, m=None: None)
    with pytest.warns(ContractWarning, match="tell\\(\\) accepted a configuration outside the space"):
        check_searcher(lax)
    with pytest.raises(ContractError, match="strict mode"):
        check_searcher(lax, strict=True)
    with pytest.raises(ContractError, match="hyperparameters given to the check are rejected"):
        check_searcher(Good, hp={"k": 9})
    assert check_searcher("test_checks:Good", strict=True).subject == "searcher 'good_for_checks'"


# ----------------------------------------------------------------------------- problems


class Counter(ContractToy):
    def __init__(self):
        self.calls = 0

    def evaluate(self, config, seed=0):
        self.calls += 1
        return {**super().evaluate(config, seed), "cost_au": 1.0 + self.calls}


class AlwaysOne(ContractToy):
    def reward(self, metrics):
        return 1.0


class MissingObjective(ContractToy):
    objectives = ("cost_au", "power_mW")


class NoUnits(ContractToy):
    def evaluate(self, config, seed=0):
        return {**super().evaluate(config, seed), "goodness": 1.0}


class Writes(ContractToy):
    def evaluate(self, config, seed=0):
        with open("trace.log", "a") as f:
            f.write("x\n")
        return super().evaluate(config, seed)


class Easy(ContractToy):
    target = {"cost_au": 1e9}


class Mutates(ContractToy):
    def evaluate(self, config, seed=0):
        m = super().evaluate(config, seed)
        config["queue"] = 8
        return m


def test_check_problem_catches():
    cases = {
        Counter: r"different metrics for the same configuration.*Fix: make evaluate a pure function",
        AlwaysOne: r"reward\(.*\) = 1.0 but the target .* is not met",
        MissingObjective: r"\['power_mW'\] named in objectives/target are not returned",
        Mutates: r"modified the configuration it was given",
    }
    for cls, pattern in cases.items():
        with pytest.raises(ContractError, match=pattern):
            check_problem(cls())
    with pytest.raises(ContractError, match="building it with no arguments raised TypeError"):
        check_problem(lambda required: None)


def test_check_problem_soft_issues(tmp_path):
    cwd = os.getcwd()
    with pytest.warns(ContractWarning, match=r"\['goodness'\] carry no unit suffix"):
        check_problem(NoUnits())
    with pytest.warns(ContractWarning, match=r"wrote \['trace.log'\] into the working directory"):
        check_problem(Writes())
    assert os.getcwd() == cwd
    with pytest.warns(ContractWarning, match="every one of 16 sampled configurations meets the target"):
        check_problem(Easy())
    with pytest.warns(ContractWarning, match="does not accept workload=, objective=, target="):
        check_problem(ContractToy)


@pytest.mark.parametrize("name", ["synthetic-separable", "synthetic-trap", "synthetic-mixed"])
def test_builtin_synthetic_problems_pass(name):
    from archlab.problems import synthetic

    report = check_problem(synthetic.make_problem(name, seed=1), strict=True)
    assert "reward in [0, 1], 1 exactly when every target is met" in report.passed


@pytest.mark.parametrize(("name", "kwargs"), [
    ("synthetic", {"workload": "a", "objective": "latency+power"}),
    ("dram", {"workload": "stream", "objective": "latency", "n_requests": 500}),
])
def test_builtin_registry_problems_pass(name, kwargs):
    """Built through the registry, as sweeps build them (``make_problem(name, workload=, ...)``)."""
    import functools

    from archlab.problems import make_problem

    report = check_problem(functools.partial(make_problem, name), kwargs=kwargs, samples=6, strict=True, name=name)
    assert len(report.passed) == 4 and report.subject == f"problem {name!r}"


def test_cli_check_fails_with_the_fix():
    from archlab.cli import _mount_groups
    from archlab.cli import app as cli_app
    from typer.testing import CliRunner

    _mount_groups()
    runner = CliRunner()
    bad = runner.invoke(cli_app, ["check", "searcher", "test_checks:Counter"])
    assert bad.exit_code == 1 and "not a class derived from archlab.search.Searcher" in bad.output
    bad = runner.invoke(cli_app, ["check", "problem", "test_checks:Counter"])
    assert bad.exit_code == 1 and "Fix: make evaluate a pure function" in bad.output
    bad = runner.invoke(cli_app, ["check", "searcher", "nowhere.module:X"])
    assert bad.exit_code == 1 and "cannot import module 'nowhere.module'" in bad.output
    ok = runner.invoke(cli_app, ["check", "problem", "synthetic", "--arg", "workload=a", "--arg", "objective=latency"])
    assert ok.exit_code == 0 and "problem 'synthetic': contract passed" in ok.output
