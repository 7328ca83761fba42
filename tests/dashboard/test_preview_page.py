"""The dashboard's page of a pull-request preview (/previews/{id}, the link of a PR comment), in
headless Chromium: each changed app with its objects and diffs, errors naming file and line, the
unchanged apps in one line; text from Git stays text."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.control.previews.document import app_entry, error_entry
from tests.dashboard.conftest import Dashboard
from tests.dashboard.test_dashboard_browser import sign_in

pytest.importorskip("playwright")
from playwright.sync_api import expect

DIFF = "--- live/Deployment.apps production/api\n+++ desired/Deployment.apps production/api\n" \
       "-      - image: api:1\n+      - image: api:2 <script>alert(1)</script>\n"


def stored_preview(dashboard: Dashboard) -> str:
    obj = {"group": "apps", "kind": "Deployment", "namespace": "production", "name": "api", "change": "changed",
           "diff": DIFF}  # fmt: skip
    apps = [
        error_entry("db", "default", "function \"nosuch\" not defined", "apps/db/templates/sts.yaml", 12),
        app_entry("api", "default", "changed", objects=[obj],
                  hooks=[{"phase": "PreSync", "kind": "Job", "namespace": "production", "name": "migrate"}]),
        app_entry("web", "default", "unchanged"),
        app_entry("jobs", "default", "unchanged"),
    ]
    request = {"repo_url": "https://github.com/org/config", "base": "a" * 40, "head": "b" * 40, "apps": None,
               "pull_request": {"host": "github", "full_name": "org/config", "number": 7, "head_sha": "b" * 40,
                                "url": "", "fork": False}}  # fmt: skip
    document = {"repoURL": request["repo_url"], "base": "a" * 40, "head": "b" * 40, "changedFiles": 2, "apps": apps}
    dashboard.services.store.put_preview("p1", {"id": "p1", "state": "finished", "request": request,
                                                "document": document})  # fmt: skip
    return "p1"


def test_the_preview_page_shows_changed_apps_their_diffs_errors_and_the_unchanged_in_one_line(
    dashboard: Dashboard, page: Any
) -> None:
    preview = stored_preview(dashboard)
    sign_in(page, dashboard, f"/previews/{preview}")
    expect(page.locator("#preview-summary")).to_contain_text("1 error, 1 changed (2 unchanged)")
    expect(page.locator("#preview-source")).to_contain_text("org/config#7")
    db = page.locator("section[data-app=db]")
    expect(db).to_contain_text("apps/db/templates/sts.yaml:12")
    api = page.locator("section[data-app=api]")
    expect(api).to_contain_text("changed: apps/Deployment production/api")
    expect(api).to_contain_text("PreSync Job migrate")
    api.locator("summary").click()
    expect(api.locator("pre.diff")).to_contain_text("<script>alert(1)</script>")  # shown as text, never run
    expect(page.locator("#preview-apps")).to_contain_text("Unchanged (2): web, jobs")
