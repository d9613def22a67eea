"""Plugins through entry points: the example package (examples/my_searcher) end to end, and
broken plugins that must name their package and never hide the built-ins."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from archlab import search
from archlab.cli import _mount_groups
from archlab.cli import app as cli_app
from archlab.core.plugins import PluginError
from archlab.problems import make_problem, problem_names, registry
from plugin_helpers import DIST, EXAMPLE, _reload, install_example
from typer.testing import CliRunner

_mount_groups()
runner = CliRunner()


@pytest.fixture(scope="module")
def example():
    install_example()
    yield
    _reload()


def test_example_plugin_is_registered(example):
    from my_searcher.searcher import OnePlusOne
    from my_searcher.toy import ToyCache

    assert "one_plus_one" in search.names() and search.get("one_plus_one") is OnePlusOne
    assert {"random", "ga", "bo"} <= set(search.names())  # built-ins still there
    assert search.base.plugin_of("one_plus_one").dist == DIST
    assert "toy-cache" in problem_names() and registry.plugin_of("toy-cache").dist == DIST
    assert isinstance(make_problem("toy-cache", "loop", "amat"), ToyCache)
    out = runner.invoke(cli_app, ["search", "list"])
    assert out.exit_code == 0 and f"[plugin from {DIST} 0.1.0]" in out.output


def test_example_passes_archlab_check(example):
    for args in (["searcher", "one_plus_one"], ["searcher", "my_searcher.searcher:OnePlusOne", "--strict"],
                 ["problem", "toy-cache", "--arg", "workload=pointer", "--arg", "objective=amat", "--strict"],
                 ["problem", "my_searcher.toy:ToyCache", "--strict"]):
        out = runner.invoke(cli_app, ["check", *args])
        assert out.exit_code == 0, out.output
        assert "contract passed (0 warning(s))" in out.output


def test_example_own_tests_pass(example):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                          capture_output=True, text=True, cwd=EXAMPLE)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _experiments(seeds=(0, 1)):
    from archlab.sweep.plan import Experiment

    out = []
    for name in ("one_plus_one", "random"):
        hp = search.get(name).resolve_hyperparameters({})
        for workload in ("pointer", "loop"):
            target = make_problem("toy-cache", workload, "amat").target
            out += [Experiment("toy-cache", workload, "amat", target, name, hp, s, 40) for s in seeds]
    return out


def test_plugin_problem_and_searcher_in_a_sweep_local_and_dask(example, tmp_path):
    """Workers (processes of a ProcessPool and of a Dask LocalCluster) resolve the plugin
    names through the same lazy registry lookup; results are identical across executors."""
    from archlab.sweep import Store, load_summaries, run_sweep

    exps = _experiments()
    assert len({e.id for e in exps}) == len(exps)
    res = {}
    for executor in ("local", "dask"):
        store = Store(tmp_path / executor)
        r = run_sweep(exps, store, executor=executor, workers=2, progress=False)
        assert (r.ran, r.failed) == (len(exps), 0), store.failures()
        res[executor] = load_summaries(store.root).sort_values("experiment_id").reset_index(drop=True)
        assert run_sweep(exps, store, executor=executor, workers=2, progress=False).ran == 0  # resumes
    cols = ["experiment_id", "searcher", "workload", "seed", "best_reward", "steps_to_target"]
    assert res["local"][cols].equals(res["dask"][cols])
    assert set(res["dask"]["searcher"]) == {"one_plus_one", "random"}


# ----------------------------------------------------------------------------- broken plugins


@pytest.fixture
def broken(tmp_path, monkeypatch):
    """A fake installed distribution (a .dist-info folder on sys.path) with good and bad plugins."""
    pkg = tmp_path / "fakeplug"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from archlab.core.space import Space
        from archlab.search import Searcher
        VALUE = 3

        class Good(Searcher):
            """A good plugin."""
            name = "fake_good"
            def _ask(self):
                return self.space.sample(self.rng)

        class Clash(Good):
            name = "random"

        class Misnamed(Good):
            name = "something_else"
        '''))
    info = tmp_path / "fake_plug-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plug\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""
        [archlab.searchers]
        fake_good = fakeplug:Good
        fake_missing = fakeplug.nope:X
        fake_value = fakeplug:VALUE
        random = fakeplug:Clash
        fake_misnamed = fakeplug:Misnamed

        [archlab.problems]
        fake_problem = fakeplug.nope:Y
        fake_notcallable = fakeplug:VALUE
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    _reload()
    yield
    monkeypatch.undo()
    sys.modules.pop("fakeplug", None)
    _reload()


def test_broken_plugins_name_package_and_keep_builtins(broken):
    names = search.names()
    assert "fake_good" in names and {"random", "ga", "aco", "bo"} <= set(names)
    from archlab.search.random_search import RandomSearch

    assert search.get("random") is RandomSearch  # the clash did not replace the built-in
    errors = search.base.plugin_errors()
    assert set(errors) == {"fake_missing", "fake_value", "random", "fake_misnamed"}
    for msg in errors.values():
        assert "package 'fake-plug' 1.2" in msg and "group 'archlab.searchers'" in msg
    assert "entry point 'fake_missing = fakeplug.nope:X'" in errors["fake_missing"]
    assert "ModuleNotFoundError" in errors["fake_missing"]
    assert "not a subclass of archlab.search.Searcher" in errors["fake_value"]
    assert "built-in is kept" in errors["random"]
    assert "set name = 'fake_misnamed'" in errors["fake_misnamed"]
    with pytest.raises(PluginError, match=r"plugin 'fake_missing' failed to load .*package 'fake-plug'"):
        search.get("fake_missing")
    with pytest.raises(KeyError, match="unknown searcher 'nope'"):
        search.get("nope")
    with pytest.raises(PluginError, match="fake_problem.*fakeplug.nope:Y.*fake-plug"):
        make_problem("fake_problem", "w", "o")
    assert "fake_notcallable" not in problem_names() and "dram" in problem_names()
    assert "expected a Problem class or a factory" in registry.plugin_errors()["fake_notcallable"]
    out = runner.invoke(cli_app, ["search", "list"])
    assert out.exit_code == 0 and "fake_good: A good plugin." in out.output
    assert "warning: plugin 'fake_missing' failed to load" in out.output


def test_broken_plugin_in_a_sweep_plan_gives_the_plugin_error(broken):
    from types import SimpleNamespace

    from archlab.sweep.plan import expand

    spec = SimpleNamespace(searchers=["fake_missing"], searcher_draws={}, hp_draws=1, hp_sampling="random",
                           grid_levels=3, fixed_hp={}, hp_ranges={}, problems=[], seeds=1, budget=2, batch=1,
                           calibration_samples=8)
    with pytest.raises(ValueError, match="fake_missing.*package 'fake-plug'"):
        expand(spec, 0)


def test_environment_variable_declares_plugins(example, monkeypatch):
    """ARCHLAB_SEARCHERS / ARCHLAB_PROBLEMS declare classes that are not packaged (inherited by
    worker processes); a malformed variable is reported and ignored, the built-ins stay."""
    monkeypatch.setenv("ARCHLAB_PROBLEMS", "toy-env=my_searcher.toy:ToyCache")
    monkeypatch.setenv("ARCHLAB_SEARCHERS", "one_plus_one=my_searcher.searcher:OnePlusOne")  # same as installed
    _reload()
    try:
        assert "toy-env" in problem_names() and "toy-cache" in problem_names()
        assert "environment variable ARCHLAB_PROBLEMS" in registry.plugin_of("toy-env").where
        assert search.base.plugin_of("one_plus_one").dist == DIST and not search.base.plugin_errors()
        monkeypatch.setenv("ARCHLAB_SEARCHERS", "oops")
        _reload()
        assert "ARCHLAB_SEARCHERS: 'oops' is not name=module:attr" in search.base.plugin_errors()["ARCHLAB_SEARCHERS"]
        assert {"random", "one_plus_one"} <= set(search.names())
    finally:
        monkeypatch.undo()
        _reload()


def test_plugin_problem_in_a_params_sweep(example, tmp_path, monkeypatch):
    """params.yaml names a plugin problem and a plugin searcher; `archlab sweep run` validates
    them and runs them (local processes here; the Dask executor is tested above)."""
    import yaml
    from archlab.core import params

    data = {"common": params.read()["common"],
            "sweep": {"problems": [{"problem": "toy-cache", "workloads": ["pointer", "loop"], "objectives": ["amat"],
                                    "targets": [None]}],
                      "searchers": ["one_plus_one", "random"], "hp_draws": 1, "seeds": 2, "budget": 30,
                      "executor": "local", "progress": False}}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("ARCHLAB_PARAMS", str(path))
    out = runner.invoke(cli_app, ["sweep", "run", "--section", "sweep", "--workers", "2"])
    assert out.exit_code == 0, out.output
    assert "8 experiments: 0 already done, ran 8" in out.output
    data["sweep"]["problems"][0]["problem"] = "toy-nope"
    path.write_text(yaml.safe_dump(data))
    bad = runner.invoke(cli_app, ["sweep", "run", "--section", "sweep"])
    assert bad.exit_code != 0 and "unknown problem 'toy-nope'" in bad.output and "toy-cache" in bad.output
