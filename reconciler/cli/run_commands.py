"""`reconciler worker | beat | watch | api | flower | up`: the processes of the system."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from reconciler.cli.errors import CommandError
from reconciler.core.urls import redact_url
from reconciler.settings import Settings, SettingsError

DEFAULT_QUEUES = "urgent,sync,poll,preview,notifications"


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise CommandError(str(exc)) from None


def worker(args: argparse.Namespace) -> int:
    from workers.celery_app import app

    argv = [
        "worker",
        "--queues", args.queues,
        "--loglevel", args.loglevel,
        # Unique per process so several workers on one host are told apart (Flower, remote control).
        "--hostname", f"reconciler-{os.getpid()}@%h",
        "--without-mingle",
    ]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    if args.pool:
        argv += ["--pool", args.pool]
    from celery.signals import worker_shutting_down

    asked: list[str] = []  # Celery's handler for SIGTERM / SIGINT / SIGQUIT says so here
    worker_shutting_down.connect(lambda sig="", **_: asked.append(str(sig)), weak=False)
    while True:
        with contextlib.suppress(SystemExit):
            app.worker_main(argv)
        if asked:
            return 0
        # Kombu can give up on a Sentinel broker connection that broke mid-failover (an
        # "Unrecoverable error" while it restores unacknowledged messages): start the worker
        # again rather than leave this process without one; its tasks were never acknowledged.
        print("reconciler worker: the worker stopped without being asked; starting it again", file=sys.stderr)
        time.sleep(1)


def beat(args: argparse.Namespace) -> int:
    from celery.apps.beat import Beat

    from workers.celery_app import app

    Beat(app=app, scheduler="beat_schedule:AppPollScheduler", loglevel=args.loglevel, max_interval=1.0).run()
    return 0


def api(args: argparse.Namespace) -> int:
    from reconciler.api.server import serve

    serve(port=args.port, host=args.host)
    return 0


def flower(args: argparse.Namespace) -> int:
    from reconciler.api.server import is_loopback
    from workers.celery_app import app

    settings = _settings()
    argv = ["celery", "flower", f"--port={args.port}", f"--address={args.host}"]
    if settings.flower_basic_auth:
        # Through Flower's own environment variable, not argv: a command line is visible in `ps`.
        os.environ["FLOWER_BASIC_AUTH"] = settings.flower_basic_auth
    elif not is_loopback(args.host):
        # Flower shows task arguments and can revoke tasks and stop workers: never open to a network.
        raise CommandError(
            f"reconciler flower: refusing to listen on {args.host} without authentication: set "
            "RECONCILER_FLOWER_BASIC_AUTH=user:password, or leave --host at 127.0.0.1"
        )
    app.start(argv=argv[1:])
    return 0


def watch(args: argparse.Namespace) -> int:
    import threading

    from reconciler import logs
    from reconciler.live.process import WatcherProcess, celery_enqueue
    from reconciler.state import Store
    from reconciler.state.connection import redis_endpoint
    from workers.celery_app import app

    settings = _settings()
    logs.configure(args.loglevel.upper(), settings.log_format)
    store = Store.connect(redis_endpoint(settings))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _s, _f: stop.set())
    WatcherProcess(settings, store, celery_enqueue(store, app.send_task)).run(stop)
    return 0


def _spawn(role: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "reconciler.cli", *role], env=env)


def up(args: argparse.Namespace) -> int:
    """Everything on one machine: embedded Redis (unless REDIS_URL), a worker, beat, the API."""
    settings = _settings()
    env = dict(os.environ)
    open_api = not settings.api_tokens and settings.oidc is None  # no way to authenticate configured
    if open_api:
        from reconciler.api.server import is_loopback

        if not is_loopback(args.host):
            # Refused rather than generating a token: a token printed to a terminal ends up in
            # scrollback and CI logs, and an open API on a reachable address lets anyone deploy.
            raise CommandError(
                f"reconciler up: no API token is configured, so the API would be open to anyone who can reach "
                f"{args.host}: set RECONCILER_API_TOKENS=admin:<token> (or RECONCILER_API_TOKENS_FILE), "
                "or leave --host at 127.0.0.1"
            )
    started_redis = False
    if not settings.redis_url and not settings.redis.sentinels:
        from reconciler.state.embedded_redis import embedded_redis_url

        try:
            embedded_redis_url(settings, start=False)  # already running (another command started it)
        except RuntimeError:
            started_redis = True
        env["REDIS_URL"] = embedded_redis_url(settings)
        shown = redact_url(env["REDIS_URL"])  # the URL holds the embedded Redis's password
        print(f"redis:   {shown} (embedded, password in {settings.redis_data_dir}, data there too)", flush=True)
    if open_api:
        # A single-machine setup with no tokens configured: the API is open, so it listens
        # on this machine only unless the user chose another address on purpose.
        env["RECONCILER_API_AUTH"] = "none"
        print("api auth: none, on a loopback address only (set RECONCILER_API_TOKENS=admin:TOKEN to require tokens)",
              flush=True)
    if not settings.local_repo_roots:
        print("local repositories: refused (set RECONCILER_LOCAL_REPO_ROOTS=/path/to/repos to read some)", flush=True)
    children = {
        "worker": _spawn(["worker", "--loglevel", args.loglevel], env),
        "beat": _spawn(["beat", "--loglevel", args.loglevel], env),
        "watch": _spawn(["watch", "--loglevel", args.loglevel], env),
        "api": _spawn(["api", "--port", str(args.port), "--host", args.host], env),
    }
    print(f"api:     http://{args.host}:{args.port}/  (webhook: POST /api/webhook)", flush=True)
    print("stop with Ctrl-C", flush=True)
    try:
        return _supervise(children)
    finally:
        if started_redis:
            # The Redis this command started goes with it (its AOF stays in the data dir); one
            # that was running before `up` is left for whoever started it.
            from reconciler.state.embedded_redis import stop_embedded_redis

            stop_embedded_redis(settings)


def _supervise(children: dict[str, subprocess.Popen[bytes]]) -> int:
    stopping: dict[str, Any] = {"signal": None}

    def on_signal(signum: int, _frame: object) -> None:
        stopping["signal"] = signum

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    exit_code = 0
    try:
        while stopping["signal"] is None:
            for name, proc in children.items():
                code = proc.poll()
                if code is not None:
                    print(f"reconciler up: {name} exited with status {code}; stopping the others", file=sys.stderr)
                    exit_code = 1
                    stopping["signal"] = signal.SIGTERM
                    break
            time.sleep(0.2)
    finally:
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return exit_code


def add_run_parsers(sub: Any) -> None:
    p = sub.add_parser("worker", help="run a Celery worker (scale by running more)")
    p.add_argument("--queues", default=DEFAULT_QUEUES, help=f"queues to consume (default {DEFAULT_QUEUES})")
    p.add_argument("--concurrency", type=int, default=0, help="worker processes (default: CPU count)")
    p.add_argument("--pool", choices=["prefork", "threads", "solo"], help="Celery pool (default prefork)")
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(handler=worker)

    p = sub.add_parser("watch", help="watch the clusters apps deploy to: live state for polls, drift healed in seconds")
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(handler=watch)

    p = sub.add_parser("beat", help="run the poll scheduler")
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(handler=beat)

    for name, helptext, port in (
        ("api", "serve the webhook, REST API, metrics and dashboard", 8080),
        ("flower", "serve Flower, the Celery queue monitor", 5555),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--port", type=int, default=port)
        # The API defaults to every address (it is the webhook's endpoint; it needs tokens there),
        # Flower to this machine only.
        default_host = "0.0.0.0" if name == "api" else "127.0.0.1"
        p.add_argument("--host", default=default_host, help=f"address to listen on (default {default_host})")
        p.set_defaults(handler=api if name == "api" else flower)

    p = sub.add_parser("up", help="run everything on this machine (embedded Redis unless REDIS_URL is set)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1", help="address the API listens on")
    p.add_argument("--loglevel", default="WARNING")
    p.set_defaults(handler=up)
