"""The ApplicationSets page (/applicationsets) in headless Chromium: each set with the apps it
owns, and a set registered while the page is open appears without a reload (the page follows
the applications event stream)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.appsets.test_appset_api import SET
from tests.dashboard.conftest import Dashboard
from tests.dashboard.test_dashboard_browser import sign_in

pytest.importorskip("playwright")
from playwright.sync_api import expect


def register_and_generate(dashboard: Dashboard, manifest: dict[str, Any]) -> None:
    from reconciler.control.appsets.reconcile import run_generation
    from reconciler.control.catalog import register
    from reconciler.model import parse_manifests

    register(dashboard.services.store, parse_manifests(yaml.safe_dump(manifest)), first_poll_in=3600)
    run_generation(dashboard.services, manifest["metadata"]["name"])


def test_the_page_lists_each_set_with_its_apps_and_shows_a_new_set_without_a_reload(
    dashboard: Dashboard, page: Any
) -> None:
    register_and_generate(dashboard, SET)
    sign_in(page, dashboard, "/applicationsets")
    guestbook = page.locator("section[data-appset=guestbook]")
    expect(guestbook).to_contain_text("dev-guestbook")
    expect(guestbook).to_contain_text("prod-guestbook")
    expect(guestbook).to_contain_text("2 applications")

    other = {**SET, "metadata": {**SET["metadata"], "name": "canary"}}
    other["spec"] = {**SET["spec"], "template": {**SET["spec"]["template"], "metadata": {
        **SET["spec"]["template"]["metadata"], "name": "canary-{{cluster}}"}}}
    register_and_generate(dashboard, other)
    expect(page.locator("section[data-appset=canary]")).to_contain_text("canary-dev", timeout=15000)
