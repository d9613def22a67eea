"""A Jupyter server on a free loopback port offers the `archlab` kernel."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_server_offers_archlab_kernel(tmp_path):
    port, token = _free_port(), "archlab-test-token"
    proc = subprocess.Popen(
        [str(BIN / "jupyter"), "server", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/api/kernelspecs?token={token}"
        deadline, specs = time.time() + 120, None
        while time.time() < deadline and specs is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    specs = json.load(r)
            except OSError:
                assert proc.poll() is None, "jupyter server exited early"
                time.sleep(0.5)
        assert specs is not None, "jupyter server did not answer"
        assert "archlab" in specs["kernelspecs"]
        argv = specs["kernelspecs"]["archlab"]["spec"]["argv"]
        assert Path(argv[0]).parent == BIN  # the project's venv python
    finally:
        proc.terminate()
        proc.wait(timeout=30)
