"""Run a study notebook: params section -> papermill (kernel ``archlab``) -> HTML report.

The notebook's ``parameters`` cell defines ``section`` and ``smoke``; papermill injects
only those two. The notebook loads its values with ``archlab.core.params.load_section``.
Outputs: ``reports/<section>/<notebook>.ipynb`` (executed) and ``.html`` (no input cells).
"""

from __future__ import annotations

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


def run(notebook: str | Path, section: str, *, smoke: bool = False, out: str | Path | None = None,
        kernel: str = KERNEL, timeout: int | None = None) -> NotebookRun:
    """Execute ``notebook`` for ``section``; raise :class:`NotebookFailed` on a failing cell.

    Params are validated *before* anything runs, so bad params leave earlier outputs
    untouched. ``out`` redirects every output (``ARCHLAB_OUT``), e.g. to a temp folder.
    """
    import papermill as pm

    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook at {notebook}")
    root = paths.root()
    if out is not None:
        os.environ["ARCHLAB_OUT"] = str(Path(out).resolve())
    os.environ["ARCHLAB_ROOT"] = str(root)  # the kernel (a child process) sees the same root
    params.load_section(section, smoke=smoke)  # raises ParamsError before any output is touched
    report_dir = paths.reports_dir(section)
    executed = report_dir / notebook.name
    try:
        pm.execute_notebook(
            str(notebook), str(executed), parameters={"section": section, "smoke": smoke},
            kernel_name=kernel, cwd=str(root), progress_bar=False, request_save_on_cell_execute=False,
            execution_timeout=timeout,
        )
    except pm.PapermillExecutionError as e:
        tb = _strip_ansi("\n".join(e.traceback[-8:]))
        raise NotebookFailed(f"{notebook.name}: cell {e.exec_count} failed: {e.ename}: {e.evalue}\n{tb}") from None
    html = executed.with_suffix(".html")
    html.write_text(to_html(executed))
    return NotebookRun(notebook, executed, html)


def to_html(executed: Path) -> str:
    """HTML report of an executed notebook, input cells hidden."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _strip_ansi(s: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", s)
