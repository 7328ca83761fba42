"""The dashboard: the applications list and each app's resource graph, events, logs and
actions, kept current by server-sent events (issues 7 and 29).

Mounted by the API server (reconciler/api/server.py) with

    app.include_router(make_router(ctx.services, rest_caller))

Server-rendered page shells (templates/) with vanilla JavaScript (static/) over the REST API and
the JSON routes of router.py; no build step and nothing from a CDN.
"""

from reconciler.api.dashboard.router import make_router

__all__ = ["make_router"]
