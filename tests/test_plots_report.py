import json
import os
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from archlab.analysis.claims import Claim, Result, verdict_at_least, verdict_at_most, verdict_within
from archlab.core import paths, plots
from archlab.workbook import nb, report

REPO = Path(__file__).resolve().parents[1]


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


def test_save_fig_closes_the_figure(tmp_path):
    fig = _figure()
    plots.save_fig(fig, tmp_path / "a.png")
    assert not plt.fignum_exists(fig.number)


def _claim(i: int, verdict: str, figure: str | None) -> Claim:
    return Claim(f"c{i}", f"claim number {i}", f"paper says {i}", 0.5 + i, (0.25 + i, 0.75 + i), 30 + i, verdict,
                 f"rule {i}", figure, "dvc repro lottery", unit="x")


def _write_study(study: str, claims: list[Claim]) -> None:
    R = Result(study, claims=claims, metrics={"best": 1.0})
    R.write_metrics()


def test_results_page_docs_and_readme_from_claim_records(tmp_path):
    fig = plots.save_fig(_figure(), paths.figures_dir("lottery") / "share.png")
    (paths.reports_dir("lottery") / "lottery.html").write_text("<html></html>")
    _write_study("lottery", [_claim(1, "supported", paths.relative(fig)), _claim(2, "not supported", None),
                             _claim(3, "inconclusive", None)])
    _write_study("proxy", [])
    _write_study("odt", [_claim(4, "supported", None)])  # the ondevice study's files carry the section name
    _write_study("odt_standard", [_claim(5, "inconclusive", None)])  # a recorded run of another profile
    docs = tmp_path / "docs_root"
    docs.mkdir()
    (docs / "README.md").write_text(f"# x\n\n{report.README_START}\nold\n{report.README_END}\n\nrest\n")
    w = report.build_results("reports/index.html", docs_root=docs)

    page = w.index.read_text()
    assert w.index == paths.out_root() / "reports" / "index.html"
    # study order, claims, verdict colours, an embedded key figure, the link to the full report
    order = [page.index(f"id='{s}'") for s in report.STUDY_ORDER]
    assert order == sorted(order)
    for i in (1, 2, 3):
        assert f"claim number {i}" in page and f"rule {i}" in page
    assert "1.5 x [1.25, 1.75] n=31" in page
    for v, colour in report.VERDICT_COLOURS.items():
        assert f"background:{colour}'>{v}<" in page
    assert page.count("data:image/png;base64,") == 1
    assert "href='lottery/lottery.html'" in page
    assert "claim number 4" in page.split("id='ondevice'")[1].split("</section>")[0]
    assert "no claims recorded" in page.split("id='proxy'")[1]
    assert page.index("id='ondevice'") < page.index("id='ondevice_standard'") < page.index("id='dram_space'")
    assert "On-device training under 256 KB, standard profile" in page
    assert str(paths.out_root()) not in page

    md = w.results_md.read_text()
    assert md == report.results_markdown(report.collect())
    assert "| claim number 2 | paper says 2 | 2.5 x [2.25, 2.75] n=32 | ❌ not supported | rule 2 |" in md
    assert "[`figures/lottery/share.png`](../figures/lottery/share.png)" in md
    readme = w.readme.read_text()
    assert "old" not in readme and readme.endswith("rest\n")
    assert "1 supported, 1 not supported, 1 inconclusive" in readme
    assert "no claims recorded" in readme


def test_readme_without_markers_is_an_error():
    with pytest.raises(ValueError, match="results:start"):
        report.replace_block("# no markers\n", "x")


def test_docs_results_and_readme_are_up_to_date():
    """docs/results.md and the README's results block match the claim records in metrics/.
    Regenerate both with `archlab report results` (the DVC `report` stage)."""
    studies = report.collect(REPO)
    committed = (REPO / "docs" / "results.md").read_text()
    assert committed == report.results_markdown(studies), \
        "docs/results.md is out of date with metrics/: run `archlab report results`"
    readme = (REPO / "README.md").read_text()
    assert readme == report.replace_block(readme, report.readme_block(studies)), \
        "README.md's results block is out of date with metrics/: run `archlab report results`"
    assert len(readme.splitlines()) <= 150, "README.md must fit in 150 lines; move detail to docs/"


@pytest.mark.slow
def test_smoke_report_has_inline_figures_and_no_noise(monkeypatch):
    """One smoke report (dram_space): an inline image per figure the study writes, no
    absolute path of the machine, no warnings; the caller's environment is unchanged."""
    before = {k: os.environ.get(k) for k in ("ARCHLAB_OUT", "ARCHLAB_ROOT", "TQDM_DISABLE", "PYTHONWARNINGS")}
    result = nb.run(REPO / "notebooks" / "dram_space.ipynb", "dram_space", smoke=True)
    assert {k: os.environ.get(k) for k in before} == before
    html = result.html.read_text()
    written = sorted(paths.figures_dir("dram_space").glob("*.png"))
    assert written, "the study wrote no figure"
    assert len(re.findall(r"<img[^>]+src=\"data:image/png;base64,", html)) == len(written)
    visible = re.sub(r"<(style|script)\b.*?</\1>", "", html, flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", visible)
    for p in {str(REPO), str(REPO.parent), str(paths.out_root()), str(Path.home())}:
        assert p not in html, f"report shows the absolute path {p}"
    assert "Warning" not in visible and "USDT" not in visible and "PosixPath" not in visible
    for p in {str(REPO), str(paths.out_root())}:
        assert p not in result.executed.read_text(), f"executed notebook shows the absolute path {p}"
    executed = json.loads(result.executed.read_text())
    streams = [o for c in executed["cells"] for o in c.get("outputs", []) if o["output_type"] == "stream"]
    assert not [o for o in streams if o["name"] == "stderr"]
    doc = json.loads(paths.metrics_path("dram_space").read_text())
    assert {c["id"] for c in doc["claims"]} >= {"fidelity_makespan", "fidelity_energy", "fidelity_rank", "few_knobs"}


def test_notebook_claims_table_shows_full_text_and_coloured_verdicts():
    from archlab.workbook import display as wd

    long_rule = "supported if " + "the whole interval is above the threshold " * 5
    R = Result("x", claims=[Claim("a", "claim a", "paper a", 1.0, (0.5, 2.0), 3, "not supported", long_rule,
                                  None, "dvc repro x")])
    frame = wd.claims_frame(R)
    assert list(frame.iloc[0]) == ["claim a", "paper a", "1", "[0.5, 2]", 3, "not supported", long_rule]
    html = wd.claims(R).to_html()
    assert long_rule in html and report.VERDICT_COLOURS["not supported"] in html


@pytest.mark.parametrize(("rule", "ci", "bound", "want"), [
    (verdict_at_least, (0.6, 0.9), 0.5, "supported"),
    (verdict_at_least, (0.5, 0.9), 0.5, "supported"),      # the bound itself counts
    (verdict_at_least, (0.1, 0.4), 0.5, "not supported"),
    (verdict_at_least, (0.4, 0.6), 0.5, "inconclusive"),
    (verdict_at_most, (1.0, 9.0), 10.0, "supported"),
    (verdict_at_most, (11.0, 12.0), 10.0, "not supported"),
    (verdict_at_most, (9.0, 11.0), 10.0, "inconclusive"),
    (verdict_within, (-0.3, 0.2), 2.0, "supported"),
    (verdict_within, (-9.5, -2.5), 2.0, "not supported"),
    (verdict_within, (2.5, 3.0), 2.0, "not supported"),
    (verdict_within, (-9.5, -1.2), 2.0, "inconclusive"),
    (verdict_at_least, None, 0.5, "inconclusive"),
    (verdict_within, None, 2.0, "inconclusive"),
])
def test_verdict_rules(rule, ci, bound, want):
    assert rule(ci, bound) == want
