"""``archlab search list|run``."""

from __future__ import annotations

import json

from archlab.cli.search import app
from typer.testing import CliRunner

runner = CliRunner()


def test_list_shows_every_searcher_with_defaults():
    from archlab import search

    out = runner.invoke(app, ["list"])
    assert out.exit_code == 0, out.output
    for name in search.names():
        assert f"{name}:" in out.output
    assert "population = 24" in out.output
    table = json.loads(runner.invoke(app, ["list", "--json"]).output)
    assert table["bo"]["acquisition"]["default"] == "logei"


def test_run_json_and_errors():
    args = ["run", "--searcher", "ga", "--problem", "synthetic-mixed", "--budget", "30", "--seed", "2",
            "--set", "population=8", "--arg", "n_levels=4", "--json"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["hyperparameters"]["population"] == 8 and 0 < summary["best_reward"] <= 1
    assert json.loads(runner.invoke(app, args).output)["best_config"] == summary["best_config"]
    bad = runner.invoke(app, ["run", "--searcher", "ga", "--problem", "synthetic-mixed", "--set", "pop=3"])
    assert bad.exit_code != 0 and "unknown hyperparameter(s) ['pop']" in bad.output and "population" in bad.output
    bad = runner.invoke(app, ["run", "--searcher", "gax", "--problem", "synthetic-mixed"])
    assert bad.exit_code != 0 and "unknown searcher 'gax'" in bad.output
    bad = runner.invoke(app, ["run", "--searcher", "ga", "--problem", "nope"])
    assert bad.exit_code != 0 and "unknown problem 'nope'" in bad.output
    bad = runner.invoke(app, ["run", "--searcher", "ga", "--problem", "synthetic-trap", "--set", "elitism=-1"])
    assert bad.exit_code != 0 and "elitism" in bad.output
