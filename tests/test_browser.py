"""A real browser: JupyterLab runs a study notebook and shows its figure; the results page
loads every image.

Drives Debian's ``chromium`` (no browser download) through Playwright's Python API
(``executable_path=``). Where chromium or Playwright is missing the tests skip with a
message saying how to enable them; under ``CI=true`` they fail instead (CI must run them).
``make test`` installs chromium when it runs as root (``make browser``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOW = ("install Debian's chromium (`apt-get install -y chromium`, or run `make test` as root) and the dev "
       "extra (`pip install -e .[dev]`, which brings playwright); set ARCHLAB_CHROMIUM to use another "
       "chromium binary")


def chromium() -> str:
    """The chromium executable, or skip (fail under CI) saying how to get one."""
    exe = os.environ.get("ARCHLAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    problem = None
    if not exe:
        problem = "no chromium executable found"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed"
    if problem:
        msg = f"browser tests need a browser: {problem}; to enable them, {HOW}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def _browser(p, exe: str):
    return p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _smoke_copy(notebook: Path, dest: Path) -> Path:
    """``notebook`` with its parameters cell set to smoke mode (what papermill would inject)."""
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = "".join(cell["source"]).replace("smoke = False", "smoke = True")
            assert "smoke = True" in cell["source"]
            break
    out = dest / notebook.name
    out.write_text(json.dumps(nb))
    return out


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            assert proc.poll() is None, "jupyter lab exited early"
            time.sleep(0.5)
    raise AssertionError("jupyter lab did not answer")


def _start_archlab_kernel(page, timeout: float = 120) -> None:
    """The notebook names the `archlab` kernel; JupyterLab starts it, or asks first (a fresh
    profile shows a "Select Kernel" dialog): choose archlab there."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        dialog = page.locator(".jp-Dialog")
        if dialog.count() and dialog.first.is_visible():
            select = dialog.locator("select")
            if select.count():
                select.first.select_option(label="archlab (Python 3.11)")
            dialog.get_by_role("button", name="Select").click()
        name = page.locator("[data-jp-item-name='kernelName']")
        status = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        if name.count() and "archlab" in name.first.inner_text().lower() and status.count() \
                and not (dialog.count() and dialog.first.is_visible()):
            return
        time.sleep(1)
    raise AssertionError("the archlab kernel did not start")


def test_jupyterlab_runs_a_study_notebook_and_shows_its_figure(tmp_path):
    """JupyterLab on a free loopback port; dram_space (smoke) on the `archlab` kernel; a figure renders."""
    exe = chromium()
    from playwright.sync_api import sync_playwright

    work = tmp_path / "lab"
    work.mkdir()
    nbpath = _smoke_copy(REPO / "notebooks" / "dram_space.ipynb", work)
    port, token = _free_port(), "archlab-browser-test"
    env = {**os.environ, "ARCHLAB_ROOT": str(REPO), "ARCHLAB_OUT": str(tmp_path / "out"),
           "ARCHLAB_CACHE": str(tmp_path / "out" / ".cache"), "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jrt")}
    proc = subprocess.Popen(
        [str(BIN / "jupyter"), "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", proc)
        with sync_playwright() as p:
            browser = _browser(p, exe)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(180_000)
            shots = Path(os.environ.get("ARCHLAB_SCREENSHOTS") or tmp_path)
            request_failure = []
            page.on("pageerror", lambda e: request_failure.append(str(e)))
            page.goto(f"http://127.0.0.1:{port}/lab/tree/{nbpath.name}?token={token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
            _start_archlab_kernel(page)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            # an inline figure decoded (cells scrolled out of view may be virtualised: check them all)
            try:
                page.wait_for_function(
                    "() => Array.from(document.querySelectorAll('.jp-OutputArea-output img'))"
                    ".some(i => i.complete && i.naturalWidth > 0)", timeout=300_000)
            except Exception:
                page.screenshot(path=str(shots / "jupyterlab_failure.png"))
                raise AssertionError(f"no figure rendered; screenshot {shots / 'jupyterlab_failure.png'}; "
                                     f"page errors: {request_failure[:3]}") from None
            kernel = page.locator("[data-jp-item-name='kernelName']").first.inner_text()
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
            if os.environ.get("ARCHLAB_SCREENSHOTS"):
                page.screenshot(path=str(shots / "jupyterlab_dram_space.png"))
            browser.close()
        assert "archlab" in kernel.lower(), f"notebook ran on kernel {kernel!r}, not archlab"
        assert not tracebacks, f"a cell failed: {tracebacks[0][:2000]}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_results_page_loads_every_image(tmp_path):
    """reports/index.html, built in a temp folder from a smoke run, shows every image."""
    exe = chromium()
    from archlab.core import paths
    from archlab.workbook import nb, report
    from playwright.sync_api import sync_playwright

    nb.run(REPO / "notebooks" / "dram_space.ipynb", "dram_space", smoke=True)
    index = report.build_results("reports/index.html", docs_root=tmp_path / "docs_root").index
    assert index.parent == paths.out_root() / "reports"
    study_report = paths.out_root() / "reports" / "dram_space" / "dram_space.html"
    with sync_playwright() as p:
        browser = _browser(p, exe)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        for url in (index.as_uri(), study_report.as_uri()):
            page.goto(url)
            page.wait_for_load_state("load")
            sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.alt, i.complete, i.naturalWidth])")
            assert sizes, f"{url}: no images"
            broken = [s for s in sizes if not (s[1] and s[2] > 0)]
            assert not broken, f"{url}: images that did not load: {broken}"
        if os.environ.get("ARCHLAB_SCREENSHOTS"):
            shots = Path(os.environ["ARCHLAB_SCREENSHOTS"])
            page.goto(index.as_uri())
            page.screenshot(path=str(shots / "results_page.png"), full_page=True)
            page.goto(study_report.as_uri())
            page.screenshot(path=str(shots / "dram_space_report.png"), full_page=True)
        browser.close()
