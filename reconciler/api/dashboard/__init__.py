"""The dashboard: a live map of what runs against what should run (issue 7).

Mounted by the API server (reconciler/api/server.py) with

    app.include_router(make_router(ctx.services, rest_caller, tree))

Server-rendered page shells (templates/) with a little vanilla JavaScript (static/) that
polls the JSON routes of router.py; no build step and nothing from a CDN.
"""

from reconciler.api.dashboard.router import make_router

__all__ = ["make_router"]
