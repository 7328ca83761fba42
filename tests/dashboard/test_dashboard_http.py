"""The dashboard's routes over real HTTP (no browser): pages carry no data and load no
outside code; every data route asks for the REST API's token."""

from __future__ import annotations

import httpx

from tests.dashboard.conftest import ADMIN_TOKEN, READONLY_TOKEN, Dashboard


def client(dashboard: Dashboard, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=dashboard.url, headers=headers, trust_env=False, timeout=10)


def test_pages_are_served_without_a_token_and_allow_only_their_own_scripts(dashboard: Dashboard) -> None:
    with client(dashboard) as http:
        for path in ("/", "/ui/apps/shop"):
            page = http.get(path)
            assert page.status_code == 200
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert "<script src=\"/ui/static/common.js\"" in page.text
        assert http.get("/ui/static/dashboard.css").headers["content-type"].startswith("text/css")


def test_data_routes_refuse_a_request_without_a_token(dashboard: Dashboard) -> None:
    with client(dashboard) as http:
        for path in ("/ui/api/whoami", "/ui/api/apps", "/ui/api/apps/shop"):
            answer = http.get(path)
            assert answer.status_code == 401, path
            assert "bearer token" in answer.json()["error"]


def test_whoami_tells_the_page_which_token_may_press_buttons(dashboard: Dashboard) -> None:
    with client(dashboard, ADMIN_TOKEN) as admin, client(dashboard, READONLY_TOKEN) as reader:
        me, them = admin.get("/ui/api/whoami").json(), reader.get("/ui/api/whoami").json()
    assert (me["role"], me["canWrite"], me["name"]) == ("admin", True, "token:admin-1")
    assert (them["role"], them["canWrite"], them["name"]) == ("readonly", False, "token:readonly-2")


def test_unknown_application_is_a_404_naming_it(dashboard: Dashboard) -> None:
    with client(dashboard, READONLY_TOKEN) as http:
        answer = http.get("/ui/api/apps/nope")
    assert answer.status_code == 404
    assert "'nope' is not registered" in answer.json()["error"]


def test_static_route_serves_only_the_dashboards_own_files(dashboard: Dashboard) -> None:
    with client(dashboard) as http:
        assert http.get("/ui/static/..%2F__init__.py").status_code == 404
        assert http.get("/ui/static/router.py").status_code == 404


def test_permitted_actions_name_what_the_caller_may_run_on_a_kind(dashboard: Dashboard) -> None:
    query = {"group": "apps", "kind": "Deployment"}
    with client(dashboard, ADMIN_TOKEN) as admin, client(dashboard, READONLY_TOKEN) as reader:
        mine = admin.get("/ui/api/apps/shop/permitted-actions", params=query)
        theirs = reader.get("/ui/api/apps/shop/permitted-actions", params=query)
    assert "restart" in mine.json()["actions"]
    assert theirs.status_code == 403 or theirs.json()["actions"] == []
