"""``archlab check searcher|problem``: run the contract the built-ins pass on your class."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import typer

app = typer.Typer(help="Check a searcher or problem (yours or a plugin) against the archlab contract.",
                  no_args_is_help=True)


def cwd_importable() -> None:
    """Let ``module:Class`` name a module of the current directory, as ``python -m`` would (the
    console script's ``sys.path`` starts at its own folder). Appended, so installed packages
    win; worker processes started later inherit it."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)


def _resolve_searcher(spec: str) -> Any:
    """``package.module:Class`` or a registered name (built-in or plugin)."""
    from archlab import search
    from archlab.core.plugins import load_object

    return load_object(spec) if ":" in spec else search.get(spec)


def _resolve_problem(spec: str) -> Any:
    import functools

    from archlab.core.plugins import load_object
    from archlab.problems import registry

    if ":" in spec:
        return load_object(spec)
    factory = registry.problem_factory(spec)
    return factory if callable(factory) else functools.partial(registry.make_problem, spec)


def _done(report: Any, caught: list) -> None:
    from archlab.core.checks import ContractWarning

    soft = [w for w in caught if issubclass(w.category, ContractWarning)]
    for line in report.lines():
        if not line.startswith("warning"):
            typer.echo(line)
    for w in soft:
        typer.echo(f"warning {w.message}")
    typer.echo(f"{report.subject}: contract passed ({len(soft)} warning(s))")


@app.command("searcher")
def check_searcher_cmd(
    spec: str = typer.Argument(..., help="package.module:Class, or a registered searcher name"),
    hp: list[str] = typer.Option([], "--set", help="hyperparameter KEY=VALUE used for the runs (repeatable)"),
    budget: int = typer.Option(14, "--budget", min=4, help="ask/tell steps per run"),
    strict: bool = typer.Option(False, "--strict", help="treat warnings as errors"),
) -> None:
    """Check a searcher: seeding, determinism, space membership, ask/tell and batches,
    hyperparameter validation (the contract every built-in searcher passes)."""
    from archlab.cli._util import fail
    from archlab.cli.search import _pairs
    from archlab.core.checks import ContractError, ContractWarning, check_searcher

    cwd_importable()
    try:
        cls = _resolve_searcher(spec)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ContractWarning)
            report = check_searcher(cls, hp=_pairs(hp, "--set"), budget=budget, strict=strict)
    except (ContractError, KeyError, ValueError) as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    _done(report, caught)


@app.command("problem")
def check_problem_cmd(
    spec: str = typer.Argument(..., help="package.module:Class (or factory), or a registered problem name"),
    arg: list[str] = typer.Option([], "--arg", help="constructor KEY=VALUE, e.g. workload=... (repeatable)"),
    samples: int = typer.Option(16, "--samples", min=2, help="configurations evaluated"),
    seed: int = typer.Option(0, "--seed", help="seed of the sampled configurations"),
    strict: bool = typer.Option(False, "--strict", help="treat warnings as errors"),
) -> None:
    """Check a problem: declared space/objectives/target, pure and deterministic evaluate,
    metric names with units, reward in [0, 1] and 1 exactly when the target is met."""
    from archlab.cli._util import fail
    from archlab.cli.search import _pairs
    from archlab.core.checks import ContractError, ContractWarning, check_problem

    cwd_importable()
    try:
        obj = _resolve_problem(spec)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ContractWarning)
            report = check_problem(obj, kwargs=_pairs(arg, "--arg"), samples=samples, seed=seed, strict=strict,
                                   name=spec)
    except (ContractError, KeyError, ValueError) as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    _done(report, caught)
