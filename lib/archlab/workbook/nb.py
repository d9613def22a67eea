"""Run a study notebook: params section -> papermill (kernel ``archlab``) -> HTML report.

The notebook's ``parameters`` cell defines ``section`` and ``smoke``; papermill injects
only those two. The notebook loads its values with ``archlab.core.params.load_section``.
Outputs: ``reports/<section>/<notebook>.ipynb`` (executed) and ``.html`` (no input cells).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from archlab.core import params, paths

KERNEL = "archlab"


class NotebookFailed(RuntimeError):
    """A cell raised; the message carries the cell's error and traceback."""


@dataclass(frozen=True)
class NotebookRun:
    notebook: Path
    executed: Path
    html: Path


# environment the kernel (a child process) gets for one run; restored afterwards
_KERNEL_ENV = {"TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
# stream lines that are noise to a reader (progress bars, profiler and warning chatter)
NOISE = re.compile(r"^(.*(USDT:|profiler_start|profiler_stop|Warning\b|warnings\.warn|it/s\]|s/it\]|\d+%\|).*)$",
                   re.M)


def run(notebook: str | Path, section: str, *, smoke: bool = False, out: str | Path | None = None,
        kernel: str = KERNEL, timeout: int | None = None) -> NotebookRun:
    """Execute ``notebook`` for ``section``; raise :class:`NotebookFailed` on a failing cell.

    Params are validated *before* anything runs, so bad params leave earlier outputs
    untouched. ``out`` redirects every output (``ARCHLAB_OUT``), e.g. to a temp folder. The
    caller's environment is left as it was. The executed notebook and its HTML are cleaned
    (:func:`clean`): no warnings, progress bars or profiler lines, no absolute paths.
    """
    import papermill as pm

    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook at {display_path(notebook)}")
    root = paths.root()
    env = {**_KERNEL_ENV, "ARCHLAB_ROOT": str(root)}  # the kernel sees the same root
    if out is not None:
        env["ARCHLAB_OUT"] = str(Path(out).resolve())
    with _environ(env):
        params.load_section(section, smoke=smoke)  # raises ParamsError before any output is touched
        report_dir = paths.reports_dir(section)
        executed = report_dir / notebook.name
        strip = _machine_paths()
        try:
            pm.execute_notebook(
                str(notebook), str(executed), parameters={"section": section, "smoke": smoke},
                kernel_name=kernel, cwd=str(root), progress_bar=False, request_save_on_cell_execute=False,
                execution_timeout=timeout, log_output=False,
            )
        except pm.PapermillExecutionError as e:
            tb = _strip_ansi("\n".join(e.traceback[-8:]))
            raise NotebookFailed(f"{notebook.name}: cell {e.exec_count} failed: {e.ename}: {e.evalue}\n{tb}") from None
    clean(executed, strip)
    html = executed.with_suffix(".html")
    html.write_text(to_html(executed))
    return NotebookRun(notebook, executed, html)


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    """Set ``values`` in ``os.environ`` for the block; restore every key afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _machine_paths() -> list[str]:
    """Absolute paths of this machine a report must not show, longest first."""
    cands = {str(paths.out_root()), str(paths.root()), str(paths.root().parent), str(Path.home())}
    return sorted((c for c in cands if c not in ("/", "")), key=len, reverse=True)


def display_path(p: str | Path) -> str:
    """``p`` relative to the working directory when below it (for messages)."""
    p = Path(p).resolve()
    try:
        return p.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(p)


def clean(executed: Path, strip: list[str] | None = None) -> None:
    """Remove noise from an executed notebook in place: stderr streams (warnings, progress
    bars, profiler output), noisy stdout lines, and absolute paths of this machine (made
    relative to the project or output root)."""
    import nbformat

    strip = _machine_paths() if strip is None else strip
    nb = nbformat.read(str(executed), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                if o.name == "stderr":
                    continue
                o.text = _relativise(NOISE.sub("", o.text), strip)
                o.text = re.sub(r"\n{3,}", "\n\n", o.text)
                if not o.text.strip():
                    continue
            elif o.output_type in ("execute_result", "display_data"):
                for mime in ("text/plain", "text/html", "text/markdown"):
                    if mime in o.get("data", {}):
                        o.data[mime] = _relativise(o.data[mime], strip)
            elif o.output_type == "error":
                o.traceback = [_relativise(t, strip) for t in o.traceback]
                o.evalue = _relativise(o.evalue, strip)
            kept.append(o)
        cell.outputs = kept
    pm_meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if isinstance(pm_meta.get(key), str):
            pm_meta[key] = _relativise(pm_meta[key], strip)
    nbformat.write(nb, str(executed))


def _relativise(text: str | list, strip: list[str]) -> str | list:
    if isinstance(text, list):
        return [_relativise(t, strip) for t in text]
    for s in strip:
        text = text.replace(s + "/", "").replace(s, ".")
    return text


def to_html(executed: Path) -> str:
    """HTML report of an executed notebook: input cells hidden, figures inline (base64)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _strip_ansi(s: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", s)
