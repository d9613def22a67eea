"""Contract checks for searchers and problems, in the spirit of Gymnasium's ``check_env``.

``check_searcher(cls)`` and ``check_problem(obj_or_cls)`` run the contract every built-in
passes (the test suite calls them over the whole registry) and that a plugin must pass to
be used in sweeps and studies. A broken rule raises :class:`ContractError` whose message says
what is wrong and what to change; a soft issue (a convention, or something that is only
suspicious) is a :class:`ContractWarning`, or an error with ``strict=True``. Both return a
report: the checks that passed, the warnings, and timings.

This module sits in ``core``: it knows the contracts (spaces, the Problem protocol, the
searcher's ask/tell shape) but no concrete searcher or problem. A registered name is
resolved by the caller (``archlab check``, the tests); a ``"package.module:Class"`` string
is imported here.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archlab.core.problem import BaseProblem
from archlab.core.space import Categorical, Config, Integer, Ordinal, Real, Space, SpaceError


class ContractError(AssertionError):
    """A contract rule is broken; the message says what to fix."""


class ContractWarning(UserWarning):
    """A soft issue: a convention not followed, or behaviour that is only suspicious."""


# Units a metric name may end with (``makespan_ns``, ``energy_pJ``, ``area_mm2``).
UNITS = frozenset({
    "s", "ms", "us", "ns", "ps", "cycles", "Hz", "kHz", "MHz", "GHz",
    "J", "mJ", "uJ", "nJ", "pJ", "fJ", "W", "mW", "uW",
    "m2", "mm2", "um2", "B", "KB", "KiB", "kB", "MB", "MiB", "GB", "GiB", "bytes", "bits",
    "Bps", "KBps", "MBps", "GBps", "au", "pct", "ratio", "count", "ops", "flops", "GFLOPs", "TOPS", "acc", "x",
})
# counts need no unit: n_<what> (n_act, n_rd)
COUNT_PREFIX = "n_"

# The contract space: every discrete dimension type, small enough for quick checks.
CONTRACT_SPACE = Space([
    Categorical("policy", choices=("open", "closed", "adaptive")),
    Ordinal("queue", levels=(1, 2, 4, 8)),
    Integer("banks", low=1, high=5),
    Categorical("flag", choices=(True, False)),
])


class ContractToy(BaseProblem):
    """The problem searchers are checked on: the reward depends on every knob (so learning
    searchers move) and the target is met at one point."""

    space = CONTRACT_SPACE
    objectives = ("cost_au", "area_mm2")
    target = {"cost_au": 1.0}

    def evaluate(self, config: Config, seed: int = 0) -> dict[str, float]:
        idx = self.space.to_index(config)
        return {"cost_au": 1.0 + float(np.abs(idx - np.array([1, 2, 3, 0])).sum()),
                "area_mm2": 1.0 + float(idx[2])}


@dataclass
class Report:
    """What a check found: the rules that passed, the warnings, timings (seconds)."""

    subject: str
    passed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return ([f"ok      {p}" for p in self.passed] + [f"warning {w}" for w in self.warnings]
                + [f"time    {k} = {v:.3g} s" for k, v in self.timings.items()])


class _Checker:
    def __init__(self, subject: str, strict: bool) -> None:
        self.report = Report(subject)
        self.strict = strict

    def fail(self, what: str, fix: str) -> None:
        raise ContractError(f"{self.report.subject}: {what}. Fix: {fix}")

    def warn(self, what: str, fix: str) -> None:
        msg = f"{self.report.subject}: {what}. Suggestion: {fix}"
        if self.strict:
            raise ContractError(msg + " (strict mode)")
        self.report.warnings.append(msg)
        warnings.warn(msg, ContractWarning, stacklevel=3)

    def ok(self, rule: str) -> None:
        self.report.passed.append(rule)


def _resolve(obj: Any) -> Any:
    if isinstance(obj, str):
        from archlab.core.plugins import load_object

        return load_object(obj)
    return obj


# --------------------------------------------------------------------------- searchers


def _is_searcher_class(cls: Any) -> bool:
    return isinstance(cls, type) and any(
        c.__name__ == "Searcher" and c.__module__ == "archlab.search.base" for c in cls.__mro__)


def _bad_value(dim: Any) -> Any:
    """A value outside ``dim`` (the check expects a SpaceError naming it)."""
    if isinstance(dim, Integer):
        return dim.high + 1
    if isinstance(dim, Real):
        return dim.high + abs(dim.high) + 1.0
    bad = "not-a-choice"
    return bad if bad not in dim.values else "not-a-choice-either"


def _rng_states() -> tuple:
    torch = sys.modules.get("torch")
    t = torch.random.get_rng_state().clone() if torch is not None else None
    return random.getstate(), np.random.get_state()[1].copy(), t


def _same_rng_states(a: tuple, b: tuple) -> bool:
    same = a[0] == b[0] and np.array_equal(a[1], b[1])
    if a[2] is not None and b[2] is not None:
        import torch

        same = same and bool(torch.equal(a[2], b[2]))
    return same


def check_searcher(searcher: Any, *, hp: Mapping[str, Any] | None = None, budget: int = 14,
                   strict: bool = False, problem: Any = None) -> Report:
    """Check a searcher class (or ``"package.module:Class"``) against the ask/tell contract.

    ``hp``: hyperparameters used for every run (e.g. small ones so model-based searchers stay
    quick); ``problem``: the problem to run on (default :class:`ContractToy`, a discrete
    mixed space). Raises :class:`ContractError`; soft issues warn (errors if ``strict``).
    Rules: a ``Searcher`` subclass with a ``name`` and a ``hyperparameters`` Space whose
    defaults validate; unknown and out-of-range hyperparameters raise ``SpaceError`` naming
    the key; the same seed gives the same trajectory (and another seed another one); asked
    configurations lie in the space; two instances do not share state and leave the global
    RNGs (random, numpy, torch) alone; ``ask_batch(n)`` gives n configurations in the space;
    ``tell`` accepts any valid configuration (asked or not) and rejects one outside the space.
    """
    cls = _resolve(searcher)
    hp = dict(hp or {})
    prob = problem if problem is not None else ContractToy()
    space = prob.space
    c = _Checker(f"searcher {getattr(cls, 'name', '') or getattr(cls, '__name__', repr(cls))!r}", strict)

    # -- type and declaration
    if not _is_searcher_class(cls):
        c.fail(f"{cls!r} is not a class derived from archlab.search.Searcher",
               "subclass archlab.search.Searcher and implement _ask() (and tell() if it learns)")
    if not isinstance(cls.name, str) or not cls.name:
        c.fail(f"{cls.__qualname__}.name is empty", "set the class attribute name = 'my_searcher' "
               "(the entry point's name when it is a plugin)")
    if not isinstance(cls.hyperparameters, Space):
        c.fail(f"{cls.__qualname__}.hyperparameters is {type(cls.hyperparameters).__name__}, not a Space",
               "declare hyperparameters = Space([Integer('k', low=1, high=8, default=2), ...])")
    if cls._ask is _base_attr(cls, "_ask") and cls.ask is _base_attr(cls, "ask"):
        c.fail(f"{cls.__qualname__} does not implement _ask()", "define _ask(self) -> Config")
    c.ok("a Searcher subclass with a name and a hyperparameter Space")

    try:
        defaults = cls.hyperparameters.validate(cls.hyperparameters.default())
    except SpaceError as e:
        c.fail(f"the declared default hyperparameters do not fit their own space ({e})",
               "give every dimension a default inside its range (default=...)")
    if cls.resolve_hyperparameters({}) != defaults:
        c.fail("resolve_hyperparameters({}) does not return the declared defaults",
               "do not override resolve_hyperparameters, or return Space.with_defaults(hp)")
    try:
        cls.resolve_hyperparameters(hp)
    except SpaceError as e:
        c.fail(f"the hyperparameters given to the check are rejected: {e}", "pass valid hp")

    def build(seed: int, **extra: Any) -> Any:
        return cls(space, seed=seed, **{**hp, **extra})

    def expect_space_error(label: str, needle: str, **bad: Any) -> None:
        try:
            build(0, **bad)
        except SpaceError as e:
            if needle not in str(e):
                c.fail(f"{label}: the SpaceError does not name {needle!r} ({e})",
                       "let Searcher.__init__ validate hp (call super().__init__(space, seed=seed, **hp))")
            return
        except Exception as e:  # noqa: BLE001 - reported as a contract failure
            c.fail(f"{label}: raised {type(e).__name__}: {e} instead of archlab.core.space.SpaceError",
                   "call super().__init__(space, seed=seed, **hp) first; it validates hyperparameters")
        c.fail(f"{label}: accepted", "accept hyperparameters only through the declared Space "
               "(call super().__init__(space, seed=seed, **hp) and read self.hp)")

    expect_space_error("an unknown hyperparameter 'bogus'", "bogus", bogus=1)
    for dim in cls.hyperparameters:
        expect_space_error(f"hyperparameter {dim.name}={_bad_value(dim)!r} (outside {dim.describe()})",
                           dim.name, **{dim.name: _bad_value(dim)})
    c.ok("unknown and out-of-range hyperparameters raise SpaceError naming the key")

    # -- seeding, determinism, space membership
    asked_s: list[float] = []

    def trajectory(seed: int, n: int = budget) -> list[tuple]:
        s = build(seed)
        out = []
        for _ in range(n):
            t0 = time.process_time()
            config = s.ask()
            asked_s.append(time.process_time() - t0)
            _check_config(c, space, config, "ask()")
            m = prob.evaluate(config)
            s.tell(dict(config), prob.reward(m), m)
            out.append(space.key(config))
        return out

    try:
        a = trajectory(3)
    except ContractError:
        raise
    except Exception as e:  # noqa: BLE001
        c.fail(f"a run of {budget} ask/tell steps raised {type(e).__name__}: {e}",
               "make ask()/tell() work on a discrete space of categorical, ordinal and integer knobs")
    c.ok(f"{budget} ask/tell steps; every asked configuration lies in the space")
    if trajectory(3) != a:
        c.fail("two runs with seed=3 asked different configurations",
               "draw every random choice from self.rng (seeded by Searcher.__init__), never from "
               "np.random / random / torch global state, the clock, or set/dict-of-object ordering")
    c.ok("the same seed gives the same trajectory")
    if trajectory(4) == a:
        c.warn("seeds 3 and 4 give the same trajectory", "use self.rng for random choices so that "
               "seeds give independent runs (ignore if the method is deterministic by design)")
    else:
        c.ok("another seed gives another trajectory")

    # -- independence of instances, global RNGs, batches, tell semantics
    solo = trajectory(5, 10)
    before = _rng_states()
    s1, s2 = build(5), build(6)
    seen = []
    for _ in range(10):
        c1, c2 = s1.ask(), s2.ask()
        seen.append(space.key(c1))
        for s, cfg in ((s1, c1), (s2, c2)):
            m = prob.evaluate(cfg)
            s.tell(dict(cfg), prob.reward(m), m)
    if seen != solo:
        c.fail("a second instance running alongside changed the first one's trajectory",
               "keep all state on self (no class-level mutable attributes, module globals or global RNGs)")
    if not _same_rng_states(before, _rng_states()):
        c.fail("ask()/tell() consumed a global random state (random, numpy.random or torch)",
               "use self.rng (numpy Generator) or a torch.Generator seeded from self.seed")
    c.ok("instances are independent and leave the global RNGs alone")

    batch = s1.ask_batch(3)
    if not isinstance(batch, list) or len(batch) != 3:
        c.fail(f"ask_batch(3) returned {type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}",
               "return a list of exactly n configurations")
    for cfg in batch:
        _check_config(c, space, cfg, "ask_batch(3)")
    for cfg in batch:
        m = prob.evaluate(cfg)
        s1.tell(dict(cfg), prob.reward(m), m)
    c.ok("ask_batch(n) gives n configurations in the space, told back in any order")

    foreign = space.default()
    try:
        s1.tell(dict(foreign), 0.3, prob.evaluate(foreign))
    except Exception as e:  # noqa: BLE001
        c.fail(f"tell() of a valid configuration that was never asked raised {type(e).__name__}: {e}",
               "accept any configuration in the space (sweeps may replay or seed evaluations)")
    bad = _outside(space)
    if bad is not None:
        try:
            s1.tell(bad, 0.3, prob.evaluate(foreign))
        except SpaceError:
            c.ok("tell() accepts unasked valid configurations and rejects ones outside the space")
        except Exception as e:  # noqa: BLE001
            c.warn(f"tell() of a configuration outside the space raised {type(e).__name__}: {e}",
                   "validate told configurations with self.space.validate(config) (raises SpaceError)")
        else:
            c.warn("tell() accepted a configuration outside the space",
                   "validate told configurations with self.space.validate(config) to catch caller bugs")
    if asked_s:
        c.report.timings["cpu_per_ask"] = float(np.median(asked_s))
    return c.report


def _base_attr(cls: type, attr: str) -> Any:
    for k in cls.__mro__:
        if k.__name__ == "Searcher" and k.__module__ == "archlab.search.base":
            return getattr(k, attr)
    return None


def _outside(space: Space) -> Config | None:
    """A configuration with one value outside its dimension (None if none can be built)."""
    for d in space:
        if d.is_discrete:
            return {**space.default(), d.name: _bad_value(d)}
    return None


def _check_config(c: _Checker, space: Space, config: Any, where: str) -> None:
    if not isinstance(config, dict):
        c.fail(f"{where} returned {type(config).__name__}, not a dict", "return {knob: value} for every knob")
    try:
        canonical = space.validate(config)
    except (SpaceError, TypeError, ValueError) as e:
        c.fail(f"{where} returned {config!r}, outside the space ({e})",
               "build configurations with space.sample(self.rng), space.from_index(...) or "
               "space.from_unit(...)")
    if canonical != config:
        c.fail(f"{where} returned {config!r}, not in canonical form {canonical!r}",
               "return the space's own values (space.validate(config) gives the canonical form)")


# --------------------------------------------------------------------------- problems


def check_problem(problem: Any, *, kwargs: Mapping[str, Any] | None = None, samples: int = 16,
                  seed: int = 0, strict: bool = False, name: str | None = None) -> Report:
    """Check a Problem (an instance, a class / factory called with ``kwargs``, or
    ``"package.module:Class"``) against the contract of :mod:`archlab.core.problem`.

    Rules: ``space`` is a non-empty :class:`Space`; ``objectives`` names metrics;
    ``target`` maps metrics to numbers > 0; ``evaluate(config, seed)`` returns the same
    metric names for every configuration, finite floats, deterministic and pure (the same
    answer twice, in any order, through ``evaluate_many``, without touching its argument or
    writing files); ``reward`` lies in [0, 1] and is 1 exactly when every target is met.
    Soft: metric names end with a unit (``_ns``, ``_pJ``, ``_mm2`` ...), a factory accepts
    ``workload=, objective=, target=`` (what sweeps pass), the target is not met by every
    sampled configuration (else the task cannot tell searchers apart).
    """
    obj = _resolve(problem)
    kwargs = dict(kwargs or {})
    label = name or getattr(obj, "__qualname__", None) or type(obj).__qualname__
    c = _Checker(f"problem {label!r}", strict)
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "evaluate")):
        _check_factory_signature(c, obj)
        try:
            obj = obj(**kwargs)
        except Exception as e:  # noqa: BLE001
            c.fail(f"building it with {kwargs or 'no arguments'} raised {type(e).__name__}: {e}",
                   "give the constructor defaults, or pass arguments (archlab check problem ... --arg KEY=VALUE)")
    elif kwargs:
        c.fail("kwargs given for an instance", "pass the class (or factory) to build it with kwargs")
    prob = obj
    for attr in ("space", "objectives", "target", "evaluate", "evaluate_many", "reward"):
        if not hasattr(prob, attr):
            c.fail(f"it has no attribute {attr!r}",
                   "derive from archlab.core.problem.BaseProblem and set space, objectives, target, evaluate")
    if not isinstance(prob.space, Space) or len(prob.space) == 0:
        c.fail(f"space is {prob.space!r}", "set space = archlab.core.space.Space([...]) with at least one knob")
    if not prob.space.is_discrete:
        c.warn("the space has real-valued knobs", "most searchers (ga, aco, random_walk ...) need discrete "
               "knobs: use Ordinal levels or Integer ranges")
    objectives = tuple(prob.objectives)
    if not objectives or not all(isinstance(o, str) for o in objectives):
        c.fail(f"objectives is {prob.objectives!r}", "set objectives = ('latency_ns', ...) (minimized metrics)")
    target = dict(prob.target)
    if not target:
        c.fail("target is empty", "set target = {metric: value} for the minimized objectives (reward 1 when met)")
    for k, v in target.items():
        if not isinstance(v, int | float) or not math.isfinite(v) or not v > 0:
            c.fail(f"target[{k!r}] = {v!r}", "targets are finite numbers > 0 (minimized metrics)")
    c.ok("space, objectives and target declared")

    rng = np.random.default_rng(seed)
    configs = [prob.space.default(), *prob.space.sample_many(rng, max(1, samples - 1))]
    snapshot = copy.deepcopy(configs)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="archlab-check-") as tmp:
        os.chdir(tmp)
        try:
            t0 = time.perf_counter()
            try:
                first = [prob.evaluate(dict(cfg), 0) for cfg in configs]
            except Exception as e:  # noqa: BLE001
                c.fail(f"evaluate() raised {type(e).__name__}: {e}", "evaluate every configuration of the space")
            per_eval = (time.perf_counter() - t0) / len(configs)
            again = [prob.evaluate(dict(cfg), 0) for cfg in reversed(configs)][::-1]
            many = prob.evaluate_many([dict(cfg) for cfg in configs], seed=0)
            prob.evaluate(configs[0], seed=0)  # argument must stay untouched
            written = sorted(os.listdir(tmp))
        finally:
            os.chdir(cwd)
    if configs != snapshot:
        c.fail("evaluate() modified the configuration it was given", "copy the config before changing it")
    names = None
    for cfg, m in zip(configs, first):
        if not isinstance(m, Mapping):
            c.fail(f"evaluate() returned {type(m).__name__}", "return a dict {metric_unit: float}")
        if names is None:
            names = sorted(m)
        elif sorted(m) != names:
            c.fail(f"evaluate() returned metrics {sorted(m)} for {cfg} but {names} for another config",
                   "return the same metric names for every configuration")
        for k, v in m.items():
            if not isinstance(v, int | float | np.floating | np.integer) or isinstance(v, bool):
                c.fail(f"metric {k!r} is {type(v).__name__} ({v!r})", "return plain floats")
            if not math.isfinite(float(v)):
                c.warn(f"metric {k!r} is {v!r} for {cfg}", "return finite values (reward treats NaN as 0)")
    missing = sorted((set(objectives) | set(target)) - set(names or []))
    if missing:
        c.fail(f"metric(s) {missing} named in objectives/target are not returned by evaluate() "
               f"(it returns {names})", "return every objective and every targeted metric")
    c.ok(f"evaluate() returns the same {len(names or [])} metric names for {len(configs)} configurations")
    no_unit = [k for k in names or [] if k.rpartition("_")[2] not in UNITS and not k.startswith(COUNT_PREFIX)]
    if no_unit:
        c.warn(f"metric name(s) {no_unit} carry no unit suffix",
               f"name metrics <quantity>_<unit>, e.g. latency_ns, energy_pJ, area_mm2, or n_<things> for "
               f"counts (known units: "
               f"{', '.join(sorted(UNITS))})")
    if again != first:
        c.fail("evaluate() gave different metrics for the same configuration (second pass, reversed order)",
               "make evaluate a pure function of (config, seed): no hidden state, no unseeded randomness")
    if [dict(m) for m in many] != [dict(m) for m in first]:
        c.fail("evaluate_many(configs) differs from [evaluate(c) for c in configs]",
               "make evaluate_many the batched form of evaluate (same numbers, same order)")
    c.ok("evaluate() is deterministic, order-independent and agrees with evaluate_many()")
    if written:
        c.warn(f"evaluate() wrote {written[:5]} into the working directory",
               "keep evaluations free of files (caches belong in archlab.core.paths.cache_dir())")

    rewards = []
    for m in first:
        r = prob.reward(m)
        if not isinstance(r, int | float | np.floating) or not 0.0 <= float(r) <= 1.0:
            c.fail(f"reward({m}) = {r!r} is not in [0, 1]",
                   "use archlab.core.problem.target_reward(metrics, target) (BaseProblem.reward does)")
        met = all(float(m[k]) <= t for k, t in target.items())
        if (float(r) == 1.0) != met:
            c.fail(f"reward({m}) = {r!r} but the target {target} is {'met' if met else 'not met'}",
                   "reward must be 1 exactly when every objective is <= its target")
        rewards.append(float(r))
    at_target = {**first[0], **target}
    above = {**first[0], **{k: 2 * t for k, t in target.items()}}
    if prob.reward(at_target) != 1.0 or not prob.reward(above) < 1.0:
        c.fail(f"reward is {prob.reward(at_target)} at the target and {prob.reward(above)} at twice the target",
               "reward must be 1 at the target and below 1 above it (minimized objectives)")
    c.ok("reward in [0, 1], 1 exactly when every target is met")
    if all(r == 1.0 for r in rewards):
        c.warn(f"every one of {len(rewards)} sampled configurations meets the target",
               "set a harder target (e.g. a low quantile of random samples) so searchers can be told apart")
    c.report.timings["per_evaluate"] = per_eval
    return c.report


def _check_factory_signature(c: _Checker, factory: Callable[..., Any]) -> None:
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    try:
        sig.bind_partial(workload="w", objective="o", target=None)
    except TypeError:
        c.warn("it does not accept workload=, objective=, target= keywords",
               "sweeps build problems as factory(workload=..., objective=..., target=..., **options); "
               "accept these three keywords (with defaults)")
