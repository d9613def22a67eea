import pytest
import yaml
from archlab.core import params
from archlab.core.params import ParamsError

BASE = {
    "common": {"seed": 1, "profile": "quick", "executor": "local", "workers": 2, "dask_address": None},
    "demo": {"n": 5, "scale": 2.0, "profiles": {"paper": {"n": 500}, "smoke": {"n": 2}}},
}


def _with(**changes):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for path, value in changes.items():
        *head, last = path.split("__")
        d = data
        for k in head:
            d = d.setdefault(k, {})
        d[last] = value
    return data


def test_profiles_and_smoke_overlay():
    assert params.load_section("demo", data=BASE).n == 5
    assert params.load_section("demo", smoke=True, data=BASE).n == 2
    paper = _with(common__profile="paper")
    assert params.load_section("demo", data=paper).n == 500
    assert params.load_section("demo", data=paper).scale == 2.0
    assert params.load_section("common", data=BASE).seed == 1


@pytest.mark.parametrize("changes, message", [
    ({"demo__bogus": 1}, r"demo\.bogus: unknown key; allowed: n, scale, label"),
    ({"demo__n": "many"}, r"demo\.n: .*integer.*\(got 'many'\)"),
    ({"demo__n": 0}, r"demo\.n: Input should be greater than or equal to 1 \(got 0\)"),
    ({"common__executor": "slurm"}, r"common\.executor: Input should be 'local' or 'dask' \(got 'slurm'\)"),
    ({"demo__profiles": {"paper": {"scale": -1}}}, r"demo\.profiles\.paper\.scale: Input should be greater than 0"),
    ({"demo__profiles": {"huge": {"n": 1}}}, r"demo\.profiles: unknown profile\(s\) \['huge'\]; allowed: standard, paper, smoke"),
    ({"nosuchstudy": {"x": 1}}, r"unknown params section\(s\) \['nosuchstudy'\]; allowed: common, demo"),
])
def test_bad_params_name_the_key(changes, message):
    with pytest.raises(ParamsError, match=message):
        params.validate_all(_with(**changes))


def test_missing_section_and_unknown_section_name():
    with pytest.raises(ParamsError, match="no section 'demo'"):
        params.load_section("demo", data={"common": BASE["common"]})
    with pytest.raises(ParamsError, match="unknown params section 'nope'"):
        params.load_section("nope", data=BASE)


def test_bad_yaml_file(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("common: [1, 2\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        params.read(p)
    with pytest.raises(ParamsError, match="no such params file"):
        params.read(tmp_path / "missing.yaml")


def test_repository_params_are_valid():
    active = params.validate_all()
    assert active["common"].profile == "quick"  # the embedded default is the quick profile


def test_cli_params_check_reports_bad_key(tmp_path):
    from archlab.cli import app
    from typer.testing import CliRunner

    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(_with(common__workers=0)))
    result = CliRunner().invoke(app, ["params", "check", "--file", str(bad)])
    assert result.exit_code == 1
    assert "common.workers" in result.output
