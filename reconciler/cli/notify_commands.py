"""`reconciler notify triggers` and `reconciler notify test --trigger T --app NAME [--dry-run]`
(like `argocd admin notifications trigger get` and `... template notify`): the loaded
argocd-notifications-cm, and what a trigger sends for an app. Reads RECONCILER_NOTIFICATIONS_FILE
and _SECRETS_FILE where the command runs, and the app from Redis."""

from __future__ import annotations

import argparse
import json
from typing import Any

from reconciler.cli.errors import CommandError
from reconciler.settings import Settings, SettingsError


def add_notify_parser(sub: Any) -> None:
    notify = sub.add_parser("notify", help="Argo CD Notifications: list triggers, try one on an app")
    verbs = notify.add_subparsers(dest="verb", metavar="VERB", required=True)
    triggers = verbs.add_parser("triggers", help="list the loaded triggers, templates and services")
    triggers.add_argument("-o", "--output", choices=("text", "json"), default="text")
    triggers.set_defaults(handler=triggers_command)
    test = verbs.add_parser("test", help="render a trigger's templates for an app and send them (or print)")
    test.add_argument("--trigger", required=True, help="trigger name, e.g. on-sync-failed")
    test.add_argument("--app", required=True, help="application name")
    test.add_argument("--to", action="append", default=[], metavar="SERVICE[:RECIPIENT]",
                      help="send here instead of the app's subscriptions (repeatable)")
    test.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing")
    test.set_defaults(handler=test_command)


def _config(settings: Settings) -> Any:
    from reconciler.control.notifications.loading import notifications_config

    if not settings.notifications_file:
        raise CommandError("RECONCILER_NOTIFICATIONS_FILE is not set: point it at an argocd-notifications-cm file")
    loaded = notifications_config(settings)
    if loaded.config is None:
        raise CommandError(loaded.error)
    return loaded.config


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise CommandError(str(exc)) from None


def triggers_command(args: argparse.Namespace) -> int:
    config = _config(_settings())
    listing = {
        "triggers": {
            name: [{"when": c.when.text, "oncePer": c.once_per.text if c.once_per else "", "send": list(c.send),
                    "description": c.description} for c in conditions]
            for name, conditions in sorted(config.triggers.items())
        },
        "templates": sorted(config.templates),
        "services": {name: spec.type for name, spec in sorted(config.services.items())},
        "defaultTriggers": list(config.default_triggers),
    }
    if args.output == "json":
        print(json.dumps(listing, indent=2))
        return 0
    for name, conditions in listing["triggers"].items():
        for condition in conditions:
            once = f"  (once per {condition['oncePer']})" if condition["oncePer"] else ""
            print(f"{name}: {condition['description'] or '-'}")
            print(f"  when: {condition['when']}{once}")
            print(f"  send: {', '.join(condition['send'])}")
    print(f"templates: {', '.join(listing['templates']) or '-'}")
    print("services: " + (", ".join(f"{n} ({t})" for n, t in listing["services"].items()) or "-"))
    return 0


def test_command(args: argparse.Namespace) -> int:
    from reconciler.control.notifications.trial import TrialRefused, trial
    from reconciler.state import Store
    from reconciler.state.connection import redis_endpoint

    settings = _settings()
    config = _config(settings)
    try:
        results = trial(settings, config, Store.connect(redis_endpoint(settings)), args.app, args.trigger,
                        to=args.to, dry_run=args.dry_run)
    except TrialRefused as exc:
        raise CommandError(str(exc)) from None
    failed = False
    for result in results:
        dest = result.destination
        met = "condition met" if result.condition_met else "condition NOT met now (sent anyway: this is a test)"
        print(f"--- {args.trigger} -> {dest.service}:{dest.recipient or '-'} ({met})")
        if result.error:
            failed = True
            print(f"error: {result.error}")
            continue
        print(json.dumps(result.rendered, indent=2))
        print("(dry run: not sent)" if args.dry_run else "sent")
    return 1 if failed else 0
