"""The dashboard at 10,000 apps, measured in a browser (Debian's Chromium through Playwright):
the first paint of the applications list, and how long an app's change takes to reach a page
that is open on it (the list, and the app's own page). Prints JSON. Targets: each ≤ 1 s.

    .venv/bin/python bench/dashboard_live.py [--apps 10000] [--loads 5] [--changes 20]

Its own Redis (a private redis-server), kubesim (the app pages' resource trees) and the API in
this process (uvicorn on loopback). Statuses are written directly to Redis, as a poll writes
them; the page's own clock (Date.now) stamps when the changed cell shows the new value, the
writer's clock (the same machine's) when it wrote, so the delay includes the Redis stream, the
API's event hub, the SSE stream over fetch, the page's re-read and its rendering.

First paint: from the navigation until the first page of rows is on screen (the page has the
token in sessionStorage, as after a sign-in), once right after start ("cold": the row index may
still be building and the caller's RBAC decisions are not remembered yet) and then `--loads`
times. `page_shell_seconds` is the floor under the same load: the same page without a token,
until its sign-in form shows (no list data).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.live_updates import manifest, status  # the same seeded apps as the API's live-feed bench
from kubesim import KubeSim
from kubesim.kubeconfig import write_kubeconfig
from reconciler.api.server import create_app
from reconciler.services import Services
from reconciler.settings import Settings
from reconciler.state.redis_server import RedisProcess
from tests.conftest import serve_app

TOKEN = "bench-admin-token-0123456789"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
# Stores (does not await) a promise of when `selector` first shows `wanted`, so the writer can
# write after the watch is set up and then await it.
WATCH_CELL = """([selector, wanted]) => { window.__shown = new Promise((resolve) => {
  const seen = () => { const n = document.querySelector(selector); return n && n.textContent.includes(wanted); };
  if (seen()) { resolve(Date.now()); return; }
  const observer = new MutationObserver(() => { if (seen()) { observer.disconnect(); resolve(Date.now()); } });
  observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
}); }"""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def seed(store: Any, apps: int) -> None:
    with store.r.pipeline(transaction=False) as pipe:
        for i in range(apps):
            pipe.hset("rc:apps", f"app-{i:05d}", json.dumps(manifest(f"app-{i:05d}")))
        pipe.execute()
    for i in range(apps):
        store.write_status(f"app-{i:05d}", status("Healthy"))


def first_paint(browser: Any, url: str) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(f"sessionStorage.setItem('reconciler.token', {json.dumps(TOKEN)})")
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url + "/")
    page.wait_for_selector("#apps tbody tr", timeout=60_000)
    took = time.perf_counter() - started
    context.close()
    return took


def shell_paint(browser: Any, url: str) -> float:
    """The floor under the same load: the page shell (HTML, CSS, scripts, one 401 from whoami)
    until the sign-in form shows, with no list data at all."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url + "/")
    page.wait_for_selector("#login-token", state="visible", timeout=60_000)
    took = time.perf_counter() - started
    context.close()
    return took


def change_delays(browser: Any, url: str, store: Any, path: str, cell: str, apps: list[str]) -> list[float]:
    """For each app: write Degraded then Healthy, and time each until `cell` (a selector with
    `{app}`) shows it on the open page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(f"sessionStorage.setItem('reconciler.token', {json.dumps(TOKEN)})")
    page = context.new_page()
    delays = []
    for app in apps:
        page.goto(url + path.format(app=app))
        page.wait_for_selector("body[data-live=true]", timeout=60_000)
        for health in ("Degraded", "Healthy"):
            page.evaluate(WATCH_CELL, [cell.format(app=app), health])
            written = time.time() * 1000
            store.write_status(app, status(health))
            shown = float(page.evaluate("window.__shown"))
            delays.append((shown - written) / 1000)
    context.close()
    return delays


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 3), "p95": round(ordered[int(len(ordered) * 0.95) - 1], 3),
            "max": round(ordered[-1], 3), "n": len(ordered)}


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--changes", type=int, default=10, help="apps changed per page kind (two writes each)")
    parser.add_argument("--first-paint-only", action="store_true",
                        help="only the first paint (to compare with a dashboard that has no event streams)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    redis = RedisProcess(folder).start()
    try:
        with KubeSim() as sim:
            kubeconfig = write_kubeconfig(folder / "kubeconfig", sim.url)
            settings = dataclasses.replace(Settings.from_env(), api_tokens=(("admin", TOKEN),),
                                           kubeconfig=str(kubeconfig))
            services = Services.create(settings, redis.url)
            progress(f"seeding {args.apps} apps")
            seed(services.store, args.apps)
            progress("seeded")
            with serve_app(create_app(settings, services)) as url, sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                cold = first_paint(browser, url)
                loads = [first_paint(browser, url) for _ in range(args.loads)]
                shells = [shell_paint(browser, url) for _ in range(args.loads)]
                progress("first paints done")
                list_delays: list[float] = []
                app_delays: list[float] = []
                if args.first_paint_only:
                    browser.close()
                    services.close()
                    print(json.dumps({"apps": args.apps, "list_first_paint_seconds": {
                        "cold": round(cold, 3), **summary(loads)}, "page_shell_seconds": summary(shells)}, indent=2))
                    return
                on_page = [f"app-{i:05d}" for i in range(0, 50, max(50 // args.changes, 1))][: args.changes]
                list_delays = change_delays(browser, url, services.store, "/", "tr[data-app={app}] .col-health",
                                            on_page)
                progress("list changes done")
                middle = [f"app-{i:05d}" for i in range(args.apps // 2, args.apps // 2 + args.changes)]
                app_delays = change_delays(browser, url, services.store, "/ui/apps/{app}", "#app-health", middle)
                browser.close()
            services.close()
    finally:
        redis.stop()
    print(json.dumps({
        "apps": args.apps,
        "list_first_paint_seconds": {"cold": round(cold, 3), **summary(loads)},
        "page_shell_seconds": summary(shells),
        "change_to_open_list_seconds": summary(list_delays),
        "change_to_open_app_page_seconds": summary(app_delays),
        "target_seconds": 1.0,
    }, indent=2))


if __name__ == "__main__":
    main()
