"""The README's screenshots (docs/screenshots/list.png, app.png, app-out-of-sync.png), taken by
`make screenshots` against the running system on kubesim with its controllers; skipped unless
RECONCILER_SCREENSHOTS names the folder to write them to. Each is reduced to a palette of 128
colours (Pillow, the `screenshots` extra) so the committed files stay small."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo
from tests.dashboard.conftest import ADMIN_TOKEN, Dashboard
from tests.dashboard.test_dashboard_app_page import add_endpoint_slice, node, scale_by_hand, shop  # noqa: F401
from tests.dashboard.test_dashboard_browser import register_root
from tests.integration.conftest import System
from tests.integration.sync_helpers import kubesim_with_controllers  # noqa: F401 (kubesim with controllers)

OUT = os.environ.get("RECONCILER_SCREENSHOTS", "")
pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not OUT, reason="screenshots are taken by `make screenshots` only")]
MAX_BYTES = 200_000


def save(page: Any, name: str) -> None:
    from PIL import Image

    folder = Path(OUT)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=False)
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    assert path.stat().st_size < MAX_BYTES, f"{path} is {path.stat().st_size} bytes: keep screenshots small"


def sign_in(page: Any, dashboard: Dashboard, path: str) -> None:
    page.goto(dashboard.url + path)
    page.get_by_label("API token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("body[data-loaded=true]")


def test_list(system: System, seed_repo: GitRepo, dashboard: Dashboard, page: Any) -> None:
    register_root(system, seed_repo)
    sign_in(page, dashboard, "/")
    page.wait_for_selector("tr[data-app=worker]")
    save(page, "list.png")


def test_app(shop: System, dashboard: Dashboard, page: Any) -> None:  # noqa: F811
    add_endpoint_slice(shop)
    sign_in(page, dashboard, "/ui/apps/shop")
    page.wait_for_selector(".node[data-kind=EndpointSlice]")
    page.locator("#tree-title").scroll_into_view_if_needed()
    save(page, "app.png")


def test_app_out_of_sync(shop: System, dashboard: Dashboard, page: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    scale_by_hand(shop, "web", 3)
    shop.next_poll("shop")
    shop.wait_for(lambda: shop.status("shop").get("sync", {}).get("status") == "OutOfSync", what="drift seen")
    sign_in(page, dashboard, "/ui/apps/shop")
    node(page, "Deployment", "web").locator(".node-open").click()
    page.get_by_role("tab", name="Why OutOfSync").click()
    expect(page.locator("#why")).to_contain_text("kubectl-scale")
    page.locator("#tree-title").scroll_into_view_if_needed()
    save(page, "app-out-of-sync.png")
