"""Notification services, one module each; `SERVICE_TYPES` maps Argo CD's service type names
(`service.<type>[.<name>]`) to them. Each module has TYPE, OPTIONS, TEMPLATE_FIELDS,
`check(options, where)`, `check_template(block, where)` and `send(options, outgoing, allowed)`.

A delivery library (apprise) was considered and not used: its Slack, Teams, Opsgenie and
PagerDuty plugins post to fixed hosts (no `apiURL` as Argo CD's configuration sets), build
their own payloads (no Slack attachments/blocks or Teams cards from the template) and send
through their own HTTP client, around the one guarded client every notification must use.
"""

from __future__ import annotations

from types import ModuleType

from reconciler.control.notifications.services import email, github, opsgenie, pagerdutyv2, slack, teams, webhook

SERVICE_TYPES: dict[str, ModuleType] = {
    module.TYPE: module for module in (webhook, slack, email, github, teams, opsgenie, pagerdutyv2)
}

__all__ = ["SERVICE_TYPES"]
