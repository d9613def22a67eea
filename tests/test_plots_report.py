import matplotlib.pyplot as plt
import numpy as np
import yaml
from archlab.core import paths, plots
from archlab.workbook import report


def _figure():
    plots.use_style()
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(np.arange(10), np.arange(10) ** 2, label="x^2")
    ax.legend()
    return fig


def test_save_fig_is_deterministic(tmp_path):
    a = plots.save_fig(_figure(), tmp_path / "a.png").read_bytes()
    b = plots.save_fig(_figure(), tmp_path / "b.png").read_bytes()
    assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Software" not in a and b"matplotlib" not in a
    svg1 = plots.save_fig(_figure(), tmp_path / "a.svg").read_text()
    svg2 = plots.save_fig(_figure(), tmp_path / "b.svg").read_text()
    assert svg1 == svg2


def test_index_links_reports_metrics_and_figures(monkeypatch):
    plots.save_fig(_figure(), paths.figures_dir("demo") / "f.png")
    (paths.reports_dir("demo") / "demo.html").write_text("<html></html>")
    paths.write_metrics("demo", {"best": 0.5, "nested": {"x": 1}})
    params_file = paths.out_root() / "params.yaml"
    params_file.write_text(yaml.safe_dump({"common": {"seed": 1}, "demo": {"n": 3}}))
    monkeypatch.setenv("ARCHLAB_PARAMS", str(params_file))
    html = report.build_index("reports/index.html").read_text()
    assert "demo/demo.html" in html and "nested.x" in html and "data:image/png;base64" in html
