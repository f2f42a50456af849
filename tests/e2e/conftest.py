"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, and the app served
with the built frontend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from backend.config import Settings
from backend.main import create_app
from tests.conftest import ServerThread, free_port
from tests.e2e.helpers import ARGS, CHROMIUM, DIST


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert (DIST / "index.html").is_file(), "build the frontend first (make test does: npm run build)"
    assert Path(CHROMIUM).exists(), "install Debian's chromium (make test does)"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def app_url(settings_factory: Callable[..., Settings]) -> Iterator[str]:
    server = ServerThread(create_app(settings_factory(frontend_dir=DIST)), free_port()).start()
    yield server.url
    server.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()
