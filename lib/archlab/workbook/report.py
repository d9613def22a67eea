"""The results page (``reports/index.html``), ``docs/results.md`` and the README's headline block.

All three are generated from one source: the claim records in ``metrics/<study>.json``
(key ``claims``, written by :meth:`archlab.analysis.claims.Result.write_metrics`). Per study,
in :data:`STUDY_ORDER`: the claims table (claim, the paper's number, ours as value [95% CI]
n, the verdict, the decision rule), the key figure at readable size (embedded, so the page
is one self-contained file) and a link to the study's full report. Nothing on the page is
typed by hand; a study without claims says so.

``archlab report results`` (the DVC ``report`` stage) writes all three; the test
``tests/test_plots_report.py`` fails when ``docs/results.md`` or the README block is stale.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from archlab.analysis.claims import Claim
from archlab.core import paths

# study name -> (title, metrics/report names to look for, in order)
STUDY_ORDER: tuple[str, ...] = ("lottery", "marl", "proxy", "accel_space", "gemm", "ondevice", "dram_space")
TITLES: dict[str, str] = {
    "lottery": "The hyperparameter lottery (ArchGym)",
    "marl": "Multi-agent RL for DRAM-controller design",
    "proxy": "Learned proxy cost model",
    "accel_space": "Accelerator design space (ZigZag)",
    "gemm": "GEMM runtime and power prediction (GPPerf)",
    "ondevice": "On-device training under 256 KB",
    "dram_space": "DRAM design space and simulator fidelity",
}
# a study whose files carry another name (the params section): study -> names tried in order
ALIASES: dict[str, tuple[str, ...]] = {"ondevice": ("ondevice", "odt")}

VERDICT_COLOURS = {"supported": "#1a7f37", "not supported": "#cf222e", "inconclusive": "#9a6700"}
VERDICT_MARKS = {"supported": "✅ supported", "not supported": "❌ not supported",
                 "inconclusive": "⚠️ inconclusive"}
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
FIGURE_WIDTH = 820


@dataclass
class StudyClaims:
    """What the results page shows for one study (or one extra profile of a study)."""

    study: str
    name: str | None  # the file stem found (metrics/<name>.json), None when absent
    claims: list[Claim] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    figure: Path | None = None
    profile: str | None = None  # metrics/<name>_<profile>.json: a recorded run of another profile

    @property
    def id(self) -> str:
        return self.study if self.profile is None else f"{self.study}_{self.profile}"

    @property
    def title(self) -> str:
        title = TITLES.get(self.study, self.study)
        return title if self.profile is None else f"{title}, {self.profile} profile"

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.claims:
            out[c.verdict] = out.get(c.verdict, 0) + 1
        return out


def collect(out_root: Path | None = None) -> list[StudyClaims]:
    """Every study of :data:`STUDY_ORDER`, each followed by its recorded runs of other profiles
    (``metrics/<name>_<profile>.json``), then any other study with a ``metrics/*.json``."""
    root = Path(out_root) if out_root is not None else paths.out_root()
    stems = sorted(m.stem for m in (root / "metrics").glob("*.json"))
    used: set[str] = set()
    out = []
    for study in STUDY_ORDER:
        names = ALIASES.get(study, (study,))
        out.append(_study(root, study))
        used.update(names)
        for stem in stems:
            for n in names:
                if stem.startswith(n + "_") and stem not in used and stem[len(n) + 1:] not in STUDY_ORDER:
                    out.append(_study(root, study, name=stem, profile=stem[len(n) + 1:]))
                    used.add(stem)
    out += [_study(root, stem) for stem in stems if stem not in used]
    return out


def _read(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _study(root: Path, study: str, name: str | None = None, profile: str | None = None) -> StudyClaims:
    mpath: Path | None = None
    for candidate in [name] if name else ALIASES.get(study, (study,)):
        if (root / "metrics" / f"{candidate}.json").is_file():
            name, mpath = candidate, root / "metrics" / f"{candidate}.json"
            break
    else:
        name = None
    sc = StudyClaims(study, name, profile=profile)
    if mpath is not None:
        sc.claims = [Claim.from_dict(c) for c in _read(mpath).get("claims", [])]
    for n in ALIASES.get(study, (study,)) if profile is None else ():
        sc.reports += sorted((root / "reports" / n).glob("*.html"))
    for c in sc.claims:  # the key figure: the first claim's figure that exists
        if c.figure and (root / c.figure).is_file():
            sc.figure = root / c.figure
            break
    return sc


# --------------------------------------------------------------------------- formatting

def fmt_num(x: float | None) -> str:
    """Three significant digits, thousands without exponent."""
    if x is None:
        return "–"
    if x == 0:
        return "0"
    a = abs(x)
    if 1e-3 <= a < 1e5:
        return f"{x:.3g}" if a < 1000 else f"{x:,.0f}"
    return f"{x:.2e}"


def ours(c: Claim) -> str:
    """``value unit [lo, hi] n=..`` for one claim."""
    s = fmt_num(c.value) + (f" {c.unit}" if c.unit and c.value is not None else "")
    if c.ci is not None:
        s += f" [{fmt_num(c.ci[0])}, {fmt_num(c.ci[1])}]"
    if c.n is not None:
        s += f" n={c.n}"
    return s


# --------------------------------------------------------------------------- HTML

def build_index(output: str | Path = "reports/index.html") -> Path:
    """Write the results page; returns its path (relative paths are below the output root)."""
    root = paths.out_root()
    output = Path(output) if Path(output).is_absolute() else root / output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(results_html(collect(root), output.parent))
    return output


def results_html(studies: list[StudyClaims], here: Path) -> str:
    parts = [_HEAD, "<h1>archlab: results</h1>",
             "<p>Every claim below is a record computed by the study's library code "
             "(<code>metrics/&lt;study&gt;.json</code>): the paper's number, ours with its 95% "
             "confidence interval and n, and the verdict of a decision rule stated before the run. "
             "Negative and inconclusive verdicts are shown as plainly as positive ones.</p>",
             _summary_html(studies)]
    parts += [_study_html(s, here) for s in studies]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _summary_html(studies: list[StudyClaims]) -> str:
    """One row per study: how many claims got each verdict."""
    rows = []
    for s in studies:
        n = s.counts()
        cells = "".join(
            f"<td class='num' style='color:{VERDICT_COLOURS[v]};font-weight:600'>{n.get(v, 0) or ''}</td>"
            for v in VERDICT_COLOURS)
        label = "" if s.claims else "<i>no claims recorded</i>"
        rows.append(f"<tr><td><a href='#{s.id}'>{html.escape(s.title)}</a></td>{cells}<td>{label}</td></tr>")
    head = "".join(f"<th>{html.escape(v)}</th>" for v in VERDICT_COLOURS)
    return f"<table class='summary'><tr><th>study</th>{head}<th></th></tr>{''.join(rows)}</table>"


def _study_html(s: StudyClaims, here: Path) -> str:
    out = [f"<section id='{s.id}'><h2>{html.escape(s.title)} <small>({html.escape(s.id)})</small></h2>"]
    if not s.claims:
        out.append("<p class='none'>no claims recorded"
                   + ("" if s.name else " (no <code>metrics</code> file yet: run <code>dvc repro</code>)")
                   + "</p>")
    else:
        rows = []
        for c in s.claims:
            colour = VERDICT_COLOURS[c.verdict]
            rows.append(
                f"<tr><td>{html.escape(c.claim)}</td><td>{html.escape(c.paper)}</td>"
                f"<td class='num'>{html.escape(ours(c))}</td>"
                f"<td class='verdict' style='background:{colour}'>{html.escape(c.verdict)}</td>"
                f"<td class='rule'>{html.escape(c.rule)}</td></tr>")
        out.append("<table><tr><th>claim</th><th>paper</th><th>ours [95% CI] n</th><th>verdict</th>"
                   "<th>decision rule</th></tr>" + "".join(rows) + "</table>")
    if s.figure is not None:
        out.append(f"<figure><img src='data:image/png;base64,{_b64(s.figure)}' "
                   f"alt='{html.escape(s.figure.name)}' style='max-width:{FIGURE_WIDTH}px;width:100%'>"
                   f"<figcaption>{html.escape(s.figure.parent.name + '/' + s.figure.name)}</figcaption></figure>")
    if s.reports:
        links = ", ".join(f"<a href='{_rel(r, here)}'>{html.escape(r.name)}</a>" for r in s.reports)
        out.append(f"<p>Full report: {links}</p>")
    commands = sorted({c.command for c in s.claims if c.command})
    if commands:
        out.append("<p>Reproduce: " + ", ".join(f"<code>{html.escape(c)}</code>" for c in commands) + "</p>")
    out.append("</section>")
    return "\n".join(out)


def _rel(p: Path, here: Path) -> str:
    return Path(os.path.relpath(p, here)).as_posix()


def _b64(p: Path) -> str:
    return base64.b64encode(p.read_bytes()).decode()


_HEAD = """<!doctype html><html><head><meta charset='utf-8'><title>archlab results</title>
<style>body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#1f2328}
table{border-collapse:collapse;margin:.5em 0;font-size:14px}td,th{border:1px solid #d0d7de;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f6f8fa}td.num{white-space:nowrap;font-variant-numeric:tabular-nums}
td.verdict{color:#fff;font-weight:600;white-space:nowrap}td.rule{font-size:12px;color:#57606a}
figure{margin:1em 0}figcaption{font-size:12px;color:#57606a}section{margin-bottom:2.5em}
table.summary{margin:1em 0 2em}.none{color:#57606a;font-style:italic}h2 small{font-weight:normal;color:#57606a}</style>
</head><body>"""


# --------------------------------------------------------------------------- Markdown

def results_markdown(studies: list[StudyClaims]) -> str:
    """``docs/results.md``: the claims tables as Markdown (figures linked, not embedded)."""
    lines = ["# Results", "",
             "<!-- generated by `archlab report results` from metrics/*.json; do not edit -->", "",
             "Each claim: the paper's words and number, ours (value [95% CI] n) and the verdict of a",
             "decision rule stated in params before the run. The results page `reports/index.html`",
             "shows the same records with each study's key figure.", ""]
    for s in studies:
        lines += [f"## {s.title} (`{s.id}`)", ""]
        if not s.claims:
            lines += ["no claims recorded", ""]
            continue
        lines += ["| claim | paper | ours [95% CI] n | verdict | decision rule |", "|---|---|---|---|---|"]
        for c in s.claims:
            lines.append(f"| {_md(c.claim)} | {_md(c.paper)} | {_md(ours(c))} | "
                         f"{VERDICT_MARKS[c.verdict]} | {_md(c.rule)} |")
        lines.append("")
        figs = []
        for c in s.claims:
            if c.figure and c.figure not in figs:
                figs.append(c.figure)
        if figs:
            lines += ["Figures: " + ", ".join(f"[`{f}`](../{f})" for f in figs), ""]
        commands = sorted({c.command for c in s.claims if c.command})
        if commands:
            lines += ["Reproduce: " + ", ".join(f"`{c}`" for c in commands), ""]
    return "\n".join(lines).rstrip() + "\n"


def readme_block(studies: list[StudyClaims]) -> str:
    """The README lines between the results markers: one line per study."""
    lines = []
    for s in studies:
        page = f"docs/studies/{s.study}.md"
        if not s.claims:
            lines.append(f"- **{s.title}** ([{s.study}]({page})): no claims recorded")
            continue
        n = s.counts()
        tally = ", ".join(f"{n[v]} {v}" for v in ("supported", "not supported", "inconclusive") if v in n)
        c = s.claims[0]
        lines.append(f"- **{s.title}** ([{s.study}]({page})): {tally}. Headline: {_md(c.claim)}, "
                     f"ours {_md(ours(c))}: **{c.verdict}**")
    return "\n".join(lines)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def replace_block(readme: str, block: str) -> str:
    """``readme`` with the text between the results markers replaced by ``block``."""
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.S)
    if not pattern.search(readme):
        raise ValueError(f"README has no {README_START} ... {README_END} block")
    return pattern.sub(lambda _: f"{README_START}\n{block}\n{README_END}", readme, count=1)


@dataclass(frozen=True)
class Written:
    index: Path
    results_md: Path | None
    readme: Path | None


def build_results(index: str | Path = "reports/index.html", *, docs_root: Path | None = None,
                  docs: bool = True) -> Written:
    """Write the results page and, with ``docs``, ``docs/results.md`` and the README block.

    Claims come from ``metrics/`` below the output root; the docs are written below
    ``docs_root`` (default: the output root, i.e. the project root unless ``ARCHLAB_OUT``
    redirects outputs, so a test run never rewrites the checkout's docs).
    """
    studies = collect()
    page = build_index(index)
    if not docs:
        return Written(page, None, None)
    droot = Path(docs_root) if docs_root is not None else paths.out_root()
    md = droot / "docs" / "results.md"
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(results_markdown(studies))
    readme = droot / "README.md"
    if readme.is_file():
        readme.write_text(replace_block(readme.read_text(), readme_block(studies)))
    return Written(page, md, readme if readme.is_file() else None)
