"""What filtering a list by RBAC costs: decisions of Casbin with Argo CD's model for `--apps`
Applications spread over `--projects` projects, for an SSO user in one team's group, with a
policy of one role per project (plus the built-in roles).

Reports the first pass over the list (each asker's Casbin enforcer built, each decision made)
and a second pass (what a dashboard polling the list every two seconds pays: cached decisions),
in milliseconds for the whole list. Prints one JSON object.

    .venv/bin/python bench/rbac_decisions.py [--apps 1000] [--projects 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.control.access.enforcer import Asker, Enforcer
from reconciler.control.access.policy import parse_rbac_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=20)
    args = parser.parse_args()
    lines = []
    for index in range(args.projects):
        role = f"role:team-{index}"
        lines += [f"p, {role}, applications, *, team-{index}/*, allow", f"g, team-{index}, {role}",
                  f"p, {role}, applications, delete, team-{index}/*-prod, deny"]  # fmt: skip
    enforcer = Enforcer(parse_rbac_data({"policy.csv": "\n".join(lines)}, "bench"))
    user = Asker("alice", groups=("team-3", "everyone"))
    objects = [f"team-{i % args.projects}/app-{i}" for i in range(args.apps)]
    passes = []
    for _ in range(2):
        started = time.perf_counter()
        visible = sum(enforcer.allows(user, "applications", "get", obj, None) for obj in objects)
        passes.append(round((time.perf_counter() - started) * 1000, 2))
    print(json.dumps({"apps": args.apps, "projects": args.projects, "policyLines": len(lines), "visible": visible,
                      "firstListMs": passes[0], "cachedListMs": passes[1]}))  # fmt: skip


if __name__ == "__main__":
    main()
