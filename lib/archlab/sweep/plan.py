"""Experiments and their expansion from params.

An :class:`Experiment` is (problem, workload, objective, options, target, searcher,
hyperparameters, seed, budget, batch). Its id is the first 16 hex digits of the SHA-256 of
the canonical JSON (sorted keys, no spaces) of exactly those fields plus the fingerprint of
the code behind them (:func:`archlab.sweep.fingerprint.code_version`), so it is stable across
runs, machines and executors, and changes only when something that changes the result does.

:func:`expand` turns a sweep spec (``archlab.sweep.spec.SweepSpec`` or anything with
the same fields) into experiments: problems x workloads x objectives x targets x searchers
x hyperparameter draws x seeds. Hyperparameter draw 0 is the searcher's declared defaults;
draw ``k`` (random mode) samples the declared space from ``default_rng([seed, crc32(name), k])``
so raising ``hp_draws`` keeps earlier draws (and their stored results). ``grid`` mode takes
``grid_levels`` evenly spaced levels of every dimension. ``fixed_hp`` pins values in every draw;
``hp_ranges`` narrows the sampled range of a hyperparameter (:func:`restrict`).
Targets: a number (every objective), a mapping, ``null``/``"default"`` (the problem's own), or
``"qP"`` = the P-quantile of each objective metric over ``calibration_samples`` random
configurations (seeded; cached under the store's ``calibration/``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from archlab.core.space import Categorical, Integer, Ordinal, Real, Space, SpaceError
from archlab.sweep.fingerprint import code_version


def derive_seed(seed: int, label: str) -> int:
    """A searcher seed derived from a seed index and a label (a task): ``SeedSequence([seed,
    crc32(label)])``'s first word modulo 2**31. Runs with one seed index on different labels draw
    independent streams (tasks that share a space would otherwise start from identical random
    proposals and give correlated, not independent, samples); every method run on one label with
    one index gets the same seed, so comparisons stay paired. Used by the lottery and marl studies."""
    state = np.random.SeedSequence([int(seed), zlib.crc32(str(label).encode())]).generate_state(1)
    return int(state[0] % 2**31)


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain)


def _plain(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"not JSON-serializable: {type(x).__name__}")


@dataclass(frozen=True)
class Experiment:
    problem: str
    workload: str
    objective: str
    target: dict[str, float]
    searcher: str
    hp: dict[str, Any]
    seed: int
    budget: int
    batch: int = 1
    options: dict[str, Any] = field(default_factory=dict)
    target_spec: str = "default"
    hp_draw: int = 0

    def identity(self) -> dict[str, Any]:
        """The fields and code that determine the result (hashed into :attr:`id`)."""
        return {"problem": self.problem, "workload": self.workload, "objective": self.objective,
                "options": self.options, "target": self.target, "searcher": self.searcher,
                "hp": self.hp, "seed": self.seed, "budget": self.budget, "batch": self.batch,
                "code": code_version(self.searcher, self.problem)}

    @property
    def id(self) -> str:
        return hashlib.sha256(canonical_json(self.identity()).encode()).hexdigest()[:16]

    @property
    def problem_key(self) -> tuple[str, str, str]:
        return (self.problem, self.workload, self.objective)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _round(x: Any) -> Any:
    """Plain Python values; reals rounded to 6 significant digits (readable, stable ids)."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        return float(f"{x:.6g}")
    return x


def restrict(space: Space, ranges: Mapping[str, Any], where: str = "hp_ranges") -> Space:
    """``space`` with some dimensions narrowed: ``[low, high]`` for integer/real dimensions,
    a list of allowed values for categorical/ordinal ones (must lie inside the declared space)."""
    dims = {d.name: d for d in space}
    unknown = sorted(set(ranges) - set(dims))
    if unknown:
        raise ValueError(f"{where}: unknown hyperparameter(s) {unknown}; allowed: {', '.join(dims) or '(none)'}")
    for key, rng in ranges.items():
        d = dims[key]
        try:
            if isinstance(d, Integer | Real):
                low, high = rng
                d.validate(low), d.validate(high)
                dims[key] = replace(d, low=type(d.low)(low), high=type(d.high)(high))
            elif isinstance(d, Categorical | Ordinal):
                vals = tuple(d.validate(v) for v in rng)
                dims[key] = replace(d, **{"choices" if isinstance(d, Categorical) else "levels": vals})
        except (SpaceError, TypeError, ValueError) as e:
            raise ValueError(f"{where}.{key}: {rng!r} does not fit {d.describe()} ({e})") from None
    return Space(dims.values())


def hp_draws(name: str, space: Space, n: int, seed: int, *, mode: str = "random",
             grid_levels: int = 3, fixed: Mapping[str, Any] | None = None,
             ranges: Mapping[str, Any] | None = None) -> list[tuple[int, dict]]:
    """``(draw_index, hp)`` pairs for one searcher; duplicates removed (first index kept)."""
    from archlab.search import get

    cls = get(name)
    fixed = dict(fixed or {})
    space = restrict(space, ranges or {}, f"hp_ranges.{name}")
    free = [d for d in space if d.name not in fixed]
    draws: list[dict] = [{}]
    if mode == "random":
        for k in range(1, n):
            rng = np.random.default_rng([seed, zlib.crc32(name.encode()), k])
            draws.append({d.name: d.sample(rng) for d in free})
    elif mode == "grid":
        axes = [[d.from_unit(u) for u in np.linspace(0, 1, grid_levels)] if d.n is None or d.n > grid_levels
                else list(d.values) for d in free]
        draws += [dict(zip([d.name for d in free], combo)) for combo in itertools.product(*axes)]
    else:
        raise ValueError(f"hp_sampling {mode!r}: allowed: random, grid")
    return unique_draws(cls, enumerate(draws), fixed)


def unique_draws(cls: Any, draws: Iterable[tuple[int, dict]], fixed: Mapping[str, Any]) -> list[tuple[int, dict]]:
    """``(draw_index, resolved hp)`` of ``draws`` with ``fixed`` applied, resolved by the
    searcher class (defaults filled, values rounded); a draw that resolves like an earlier
    one is dropped (the first index is kept)."""
    out, seen = [], set()
    for k, hp in draws:
        resolved = {key: _round(v) for key, v in cls.resolve_hyperparameters({**hp, **fixed}).items()}
        key = canonical_json(resolved)
        if key not in seen:
            seen.add(key)
            out.append((k, resolved))
    return out


def target_label(target: Any) -> str:
    if target is None:
        return "default"
    return target if isinstance(target, str) else canonical_json(target)


def resolve_target(problem: str, workload: str, objective: str, target: Any, options: Mapping[str, Any],
                   *, samples: int, seed: int, cache: Path | None = None) -> dict[str, float]:
    """Numeric per-metric targets for a target spec (see the module docstring)."""
    from archlab.problems import make_problem

    if target is None or target == "default":
        return {k: float(v) for k, v in make_problem(problem, workload, objective, None, **options).target.items()}
    if isinstance(target, int | float):
        objectives = make_problem(problem, workload, objective, None, **options).objectives
        return {o: float(target) for o in objectives}
    if isinstance(target, Mapping):
        return {k: float(v) for k, v in target.items()}
    if isinstance(target, str) and target.startswith("q"):
        try:
            q = float(target[1:])
        except ValueError:
            q = -1.0
        if not 0 < q < 1:
            raise ValueError(f"target {target!r}: a quantile target is 'qP' with 0 < P < 1, e.g. 'q0.05'")
        key = canonical_json({"problem": problem, "workload": workload, "objective": objective,
                              "options": dict(options), "q": q, "samples": samples, "seed": seed})
        path = cache / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json" if cache else None
        if path is not None and path.is_file():
            return json.loads(path.read_text())["target"]
        prob = make_problem(problem, workload, objective, None, **options)
        rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
        metrics = prob.evaluate_many(prob.space.sample_many(rng, samples), seed=0)
        resolved = {o: _round(float(np.quantile([m[o] for m in metrics], q))) for o in prob.objectives}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"spec": json.loads(key), "target": resolved}, indent=1))
            tmp.replace(path)
        return resolved
    raise ValueError(f"target {target!r}: allowed: a number, a mapping metric->value, null/'default', "
                     "or a quantile 'qP' (e.g. 'q0.05')")


def expand(spec: Any, seed: int, *, cache: Path | None = None) -> list[Experiment]:
    """Every experiment of a sweep spec, ordered breadth-first (seed, draw, problem, searcher).

    The order puts one experiment of every (problem, searcher) early, so a partial sweep is
    balanced. ``cache``: folder for target calibrations.
    """
    from archlab.search import get

    searchers = list(spec.searchers)
    draws = {}
    for name in searchers:
        try:
            cls = get(name)
        except KeyError as e:
            raise ValueError(f"lottery.searchers: {e.args[0]}") from None
        n = spec.searcher_draws.get(name, spec.hp_draws)
        if n < 1:
            raise ValueError(f"lottery.searcher_draws.{name}: must be >= 1 (got {n})")
        draws[name] = hp_draws(name, cls.hyperparameters, n, seed, mode=spec.hp_sampling,
                               grid_levels=spec.grid_levels, fixed=spec.fixed_hp.get(name),
                               ranges=spec.hp_ranges.get(name))
    from archlab.search import names as registered

    for key in ("fixed_hp", "hp_ranges", "searcher_draws"):  # entries of unlisted searchers are ignored
        unknown = sorted(set(getattr(spec, key)) - set(registered()))
        if unknown:
            raise ValueError(f"lottery.{key}: unknown searcher(s) {unknown}; allowed: {', '.join(registered())}")
    problems = []
    for entry in spec.problems:
        for workload, objective, target in itertools.product(entry.workloads, entry.objectives, entry.targets):
            resolved = resolve_target(entry.problem, workload, objective, target, entry.options,
                                      samples=spec.calibration_samples, seed=seed, cache=cache)
            problems.append((entry.problem, workload, objective, resolved, target_label(target),
                             dict(entry.options)))
    seeds = [seed + s for s in range(spec.seeds)]
    out: list[Experiment] = []
    max_draws = max((len(d) for d in draws.values()), default=0)
    for s, rank in itertools.product(seeds, range(max_draws)):
        for prob, name in itertools.product(problems, searchers):
            if rank < len(draws[name]):
                k, hp = draws[name][rank]
                out.append(Experiment(prob[0], prob[1], prob[2], prob[3], name, hp, s, spec.budget,
                                      spec.batch, prob[5], prob[4], k))
    ids = [e.id for e in out]
    if len(set(ids)) != len(ids):
        raise ValueError("lottery: the sweep lists the same experiment twice (duplicate problems or targets?)")
    return out


def experiments_from_dicts(items: Sequence[Mapping[str, Any]]) -> list[Experiment]:
    return [Experiment(**dict(i)) for i in items]
