"""``reports/index.html``: one page linking every study report, its headline metrics,
figure thumbnails and the params used."""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

import yaml

from archlab.core import params, paths

THUMB_WIDTH = 260


def build_index(output: str | Path = "reports/index.html") -> Path:
    """Write the index page; returns its path. Studies are the sections of params.yaml."""
    root = paths.out_root()
    output = Path(output) if Path(output).is_absolute() else root / output
    output.parent.mkdir(parents=True, exist_ok=True)
    data = params.read()
    params.validate_all(data)
    parts = [_HEAD, "<h1>archlab workbook</h1>",
             f"<p>Profile <b>{html.escape(str(data.get('common', {}).get('profile', 'quick')))}</b>."
             " Every figure below links to the notebook report that made it.</p>"]
    for study in [s for s in data if s != "common"]:
        parts.append(_study_html(root, output.parent, study, data[study]))
    parts.append("<h2>common params</h2>" + _pre(yaml.safe_dump(data.get("common"), sort_keys=True)))
    parts.append("</body></html>")
    output.write_text("\n".join(parts))
    return output


def _study_html(root: Path, here: Path, study: str, section: dict) -> str:
    out = [f"<section><h2 id='{study}'>{html.escape(study)}</h2>"]
    reports = sorted((root / "reports" / study).glob("*.html"))
    if reports:
        links = ", ".join(f"<a href='{_rel(r, here)}'>{html.escape(r.name)}</a>" for r in reports)
        out.append(f"<p>Report: {links}</p>")
    else:
        out.append("<p><i>no report yet (run <code>dvc repro</code>)</i></p>")
    mpath = root / "metrics" / f"{study}.json"
    if mpath.is_file():
        metrics = json.loads(mpath.read_text())
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>"
                       for k, v in _flatten(metrics).items())
        out.append(f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>")
    figs = sorted((root / "figures" / study).glob("*.png"))
    if figs:
        target = _rel(reports[0], here) if reports else "#"
        out.append("<div class='thumbs'>" + "".join(
            f"<a href='{target}'><img src='data:image/png;base64,{_b64(f)}' width='{THUMB_WIDTH}'"
            f" title='{html.escape(f.name)}' alt='{html.escape(f.name)}'></a>" for f in figs) + "</div>")
    out.append("<details><summary>params</summary>" + _pre(yaml.safe_dump(section, sort_keys=True))
               + "</details></section>")
    return "\n".join(out)


def _flatten(d: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            flat.update(_flatten(v, key + "."))
        else:
            flat[key] = v
    return flat


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _rel(p: Path, here: Path) -> str:
    return Path(os.path.relpath(p, here)).as_posix()


def _b64(p: Path) -> str:
    return base64.b64encode(p.read_bytes()).decode()


def _pre(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


_HEAD = """<!doctype html><html><head><meta charset='utf-8'><title>archlab workbook</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
.thumbs img{margin:4px;border:1px solid #ddd}pre{background:#f6f6f6;padding:.5em}</style></head><body>"""
