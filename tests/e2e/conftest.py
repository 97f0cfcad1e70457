"""The workbench in a real browser: ``fenxiao up`` as a newcomer starts it (SQLite, job thread,
the demo shop, its data and its admin), driven by Playwright through Debian's Chromium.

Screenshots land in ``artifacts/screenshots/`` at the project's root (named in the README);
CI keeps that folder as the run's artifact. Without Chromium the tests skip, except in CI
(``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import requests

from tests import servers
from tests.integration.stack import FENXIAO

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CLEAN_ENV = {
    "DATABASE_URL": None,
    "REDIS_URL": None,
    "FENXIAO_JOBS": None,
    "FENXIAO_SECRET_KEY": None,
    "FENXIAO_SWEEP_SECONDS": "1",
}


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def workbench(tmp_path_factory):
    """A running ``fenxiao up``: its base URL, working directory and demo file's contents."""
    workdir = tmp_path_factory.mktemp("workbench")
    port = servers.find_free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = servers.start_process(
        [FENXIAO, "up", "--port", str(port)],
        env=CLEAN_ENV,
        ready_check=lambda: requests.get(f"{base_url}/healthz", timeout=1).status_code == 200,
        cwd=workdir,
        name="fenxiao-up",
        timeout=120,
    )
    demo = json.loads((workdir / "fenxiao-demo.json").read_text())
    yield {"base_url": base_url, "workdir": workdir, "demo": demo}
    process.stop()


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed: run `bash .ci/install-services.sh`")
        pytest.skip("chromium is not installed (bash .ci/install-services.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
