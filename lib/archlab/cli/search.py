"""``archlab search ...``: list searchers, run one on a problem."""

from __future__ import annotations

import importlib
import json
from typing import Any

import typer

app = typer.Typer(help="Ask/tell searchers: list them, run one on a problem.", no_args_is_help=True)

# problem name -> "module:Class" (synthetic-* come from archlab.problems.synthetic)
EXTERNAL_PROBLEMS = {
    "dram": "archlab.problems.dram:DramProblem",
    "accel": "archlab.problems.accel.problem:AccelProblem",
}


def _pairs(items: list[str], what: str) -> dict[str, Any]:
    from archlab.cli._util import fail
    from archlab.core.space import _as_number

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{what} {item!r} is not KEY=VALUE")
        out[key] = {"true": True, "false": False}.get(value.lower(), _as_number(value))
    return out


def problem_names() -> list[str]:
    from archlab.problems import registry
    from archlab.problems.synthetic import PROBLEMS

    plugins = [n for n in registry.problem_names() if registry.plugin_of(n) is not None]
    return [*PROBLEMS, *EXTERNAL_PROBLEMS, *plugins]


def make_problem(name: str, **kwargs: Any):
    """A problem by CLI name: ``synthetic-*``, ``dram`` or ``accel`` (keyword args passed on)."""
    from archlab.problems import synthetic

    if name in synthetic.PROBLEMS:
        return synthetic.make_problem(name, **kwargs)
    if name not in EXTERNAL_PROBLEMS:
        from archlab.problems import registry

        if registry.plugin_of(name) is not None:  # a plugin problem (entry point archlab.problems)
            return registry.make_problem(name, kwargs.pop("workload", ""), kwargs.pop("objective", ""),
                                         kwargs.pop("target", None), **kwargs)
        if name in registry.plugin_errors():  # a broken plugin: its package and entry point
            raise KeyError(registry.plugin_errors()[name])
        raise KeyError(f"unknown problem {name!r}; allowed: {', '.join(problem_names())}")
    module, cls = EXTERNAL_PROBLEMS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)


@app.command("list")
def list_searchers(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Print every registered searcher with its hyperparameters and defaults."""
    from archlab import search

    table = {n: {d.name: {"default": d.initial, "allowed": d.describe()} for d in search.get(n).hyperparameters}
             for n in search.names()}
    if as_json:
        typer.echo(json.dumps(table, indent=2, default=str))
        return
    for n, hps in table.items():
        doc = ((search.get(n).__doc__ or "").strip().splitlines() or [""])[0]
        plugin = search.base.plugin_of(n)
        origin = f"   [plugin from {plugin.dist} {plugin.version}]" if plugin is not None else ""
        typer.echo(f"{n}: {doc}{origin}")
        for hp, info in hps.items():
            typer.echo(f"    {hp} = {info['default']!r}   ({info['allowed']})")
    for msg in search.base.plugin_errors().values():
        typer.echo(f"warning: {msg}", err=True)


@app.command("run")
def run_search(
    searcher: str = typer.Option(..., "--searcher", help="registered searcher name"),
    problem: str = typer.Option(..., "--problem", help="synthetic-separable|synthetic-trap|synthetic-mixed|dram|accel"),
    budget: int = typer.Option(100, "--budget", min=1, help="number of evaluations"),
    seed: int = typer.Option(0, "--seed", help="searcher seed"),
    hp: list[str] = typer.Option([], "--set", help="hyperparameter KEY=VALUE (repeatable)"),
    arg: list[str] = typer.Option([], "--arg", help="problem constructor KEY=VALUE (repeatable)"),
    objectives: str = typer.Option("", "--objectives",
                                    help="nsga2 only: comma-separated metrics to minimize"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON summary"),
) -> None:
    """Run SEARCHER on PROBLEM for BUDGET evaluations and summarize the best point."""
    from archlab import search
    from archlab.cli._util import fail
    from archlab.core.space import SpaceError

    try:
        prob = make_problem(problem, **_pairs(arg, "--arg"))
        extra = {"objectives": objectives} if objectives else {}
        if extra and searcher != "nsga2":
            fail(f"--objectives applies to nsga2 only, not {searcher!r}")
        s = search.make(searcher, prob.space, seed=seed, **extra, **_pairs(hp, "--set"))
    except (KeyError, SpaceError, TypeError, ValueError) as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) else str(e))
    df = search.run(prob, s, budget)
    best = df.loc[df["reward"].idxmax()]
    summary = {
        "searcher": searcher, "problem": problem, "seed": seed, "budget": budget,
        "hyperparameters": s.hp, "best_reward": float(best["reward"]),
        "best_step": int(best["step"]), "best_config": {k: best[k] for k in prob.space.names},
        "best_metrics": {m: float(best[m]) for m in prob.objectives if m in best},
        "wall_s": float(df["wall_s"].sum()),
    }
    if as_json:
        typer.echo(json.dumps(summary, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    else:
        for k, v in summary.items():
            typer.echo(f"{k}: {v}")
