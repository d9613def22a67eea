"""``archlab dram simulate`` and ``archlab dram trace``."""

import json

from archlab.cli import _mount_groups, app
from typer.testing import CliRunner

_mount_groups()
runner = CliRunner()


def test_simulate_json_and_trace(tmp_path):
    res = runner.invoke(app, ["dram", "simulate", "--kind", "pub_stream", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["makespan_ns"] == 51_595.0 and out["n_act"] == 79
    stl = tmp_path / "t.stl"
    res = runner.invoke(app, ["dram", "trace", "--kind", "mixed", "-n", "300", "--seed", "1", "-o", str(stl)])
    assert res.exit_code == 0 and stl.read_text().startswith("0:\tread\t0x")
    res = runner.invoke(app, ["dram", "simulate", "--trace", str(stl), "--set", "PagePolicy=Closed",
                              "--set", "RequestBufferSize=4"])
    assert res.exit_code == 0 and "makespan_ns" in res.output


def test_cli_errors_name_the_bad_value():
    res = runner.invoke(app, ["dram", "simulate", "--kind", "stream", "--set", "Scheduler=Lifo"])
    assert res.exit_code != 0 and "Lifo" in res.output and "FrFcfs" in res.output
    res = runner.invoke(app, ["dram", "simulate", "--kind", "stream", "--set", "Scheduler"])
    assert res.exit_code != 0 and "KNOB=VALUE" in res.output
    res = runner.invoke(app, ["dram", "trace", "--kind", "zipf", "-o", "x.stl"])
    assert res.exit_code != 0 and "zipf" in res.output
