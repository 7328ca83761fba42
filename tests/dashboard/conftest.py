"""Fixtures for the dashboard's browser tests: the API server (with the dashboard router)
served by uvicorn in a thread, and headless Chromium driven by Playwright.

Chromium is Debian's `chromium` package at /usr/bin/chromium (Playwright's own browser
downloads are never used); without it, or without the playwright package, the browser
tests skip and say which one is missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import serve_app
from tests.integration.conftest import celery_app, system  # noqa: F401 (fixtures used here)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_TOKEN = "dashboard-admin-token-0123456789"
READONLY_TOKEN = "dashboard-readonly-token-987654"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


@dataclasses.dataclass
class Dashboard:
    url: str
    services: Any


@pytest.fixture
def dashboard(celery_app: Any, redis_url: str, redis_client: Any, kubeconfig: Path) -> Iterator[Dashboard]:  # noqa: F811
    """The API server on a free loopback port with an admin and a read-only token, over the
    test's Redis and kubesim (add the `system` fixture for workers that act on requests)."""
    from reconciler.api.server import create_app
    from reconciler.services import Services

    settings = dataclasses.replace(
        celery_app.conf.reconciler_settings,
        kubeconfig=str(kubeconfig),
        api_tokens=(("admin", ADMIN_TOKEN), ("readonly", READONLY_TOKEN)),
        api_auth="token",
    )
    services = Services.create(settings, redis_url)
    try:
        with serve_app(create_app(services.settings, services)) as url:
            yield Dashboard(url, services)
    finally:
        services.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's package with `apt-get install -y chromium`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed: `.venv/bin/pip install playwright`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser tab (own sessionStorage) at laptop size; confirmation dialogs are accepted."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.set_default_timeout(20_000)
    yield tab
    context.close()
