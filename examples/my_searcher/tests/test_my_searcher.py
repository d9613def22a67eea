"""The plugin's own tests: archlab's contract checks, and the plugin found by name."""

from archlab import search
from archlab.core.checks import check_problem, check_searcher
from archlab.problems import make_problem
from my_searcher.searcher import OnePlusOne
from my_searcher.toy import ToyCache


def test_searcher_contract():
    report = check_searcher(OnePlusOne, strict=True)  # warnings count as errors
    assert report.timings["cpu_per_ask"] < 0.01


def test_problem_contract():
    check_problem(ToyCache, kwargs={"workload": "loop", "objective": "amat+area"}, strict=True)


def test_found_through_entry_points():
    assert search.get("one_plus_one") is OnePlusOne
    problem = make_problem("toy-cache", workload="pointer", objective="amat")
    log = search.run(problem, search.make("one_plus_one", problem.space, seed=0), budget=60)
    assert log["best_reward"].iloc[-1] > log["reward"].iloc[0]
