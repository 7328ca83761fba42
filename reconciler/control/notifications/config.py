"""`argocd-notifications-cm`, read as Argo CD reads it: `service.<type>[.<name>]`,
`template.<name>`, `trigger.<name>`, `defaultTriggers[.<service>]`, `subscriptions`, `context`.

The file RECONCILER_NOTIFICATIONS_FILE names holds the ConfigMap manifest, or its `data:` map,
or is the directory where the ConfigMap is mounted (one file per key). Every key and field is
checked when it loads: an unknown key, a service type or template part this system does not
deliver, a condition the evaluator cannot run, a template Go cannot parse, or a `$key` the
secrets file lacks is a ConfigError naming it, so nothing is silently dropped.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.control.notifications.expr import ExprRefused, Program, compile_expression
from reconciler.control.notifications.secrets import Secrets, SecretsError, references
from reconciler.control.notifications.selectors import LabelSelector, parse_selector
from reconciler.control.notifications.services import SERVICE_TYPES
from reconciler.control.notifications.services.base import ConfigError, check_keys
from reconciler.control.notifications.templates import NotificationTemplate, check_parses, parse_template

CONDITION_FIELDS = ("when", "send", "oncePer", "description")
SUBSCRIPTION_FIELDS = ("recipients", "triggers", "selector")
DEFAULT_ARGOCD_URL = "http://localhost:8080"


@dataclass(frozen=True)
class Condition:
    index: int
    when: Program
    send: tuple[str, ...]
    once_per: Program | None
    description: str
    key: str  # Argo CD's ConditionResult.Key: `[index].<sha1 of when>`


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # what subscriptions name: `<name>` of service.<type>.<name>, else `<type>`
    type: str
    options: Mapping[str, Any] = field(repr=False)  # `$key` references unresolved


@dataclass(frozen=True)
class DefaultSubscription:
    recipients: tuple[tuple[str, str], ...]  # (service, recipient)
    triggers: tuple[str, ...]
    selector: LabelSelector | None


@dataclass(frozen=True)
class NotificationsConfig:
    source: str
    services: Mapping[str, ServiceSpec]
    templates: Mapping[str, NotificationTemplate]
    triggers: Mapping[str, tuple[Condition, ...]]
    default_triggers: tuple[str, ...] = ()
    service_default_triggers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    subscriptions: tuple[DefaultSubscription, ...] = ()
    context: Mapping[str, str] = field(default_factory=dict)
    digest: str = ""  # of the ConfigMap's data: a decision made under another configuration is redone

    @property
    def uses_now(self) -> bool:
        """Some condition reads the clock: its result can change with nothing else changing."""
        return any(c.when.uses_now or (c.once_per and c.once_per.uses_now) for cs in self.triggers.values() for c in cs)


def read_data(path: str) -> dict[str, str]:
    """The ConfigMap's `data` from a manifest file, a bare data map, or a mounted directory."""
    where = f"RECONCILER_NOTIFICATIONS_FILE {path}"
    target = Path(path)
    if target.is_dir():
        return {
            entry.name: entry.read_text(encoding="utf-8")
            for entry in sorted(target.iterdir())
            if entry.is_file() and not entry.name.startswith(".")
        }
    try:
        documents = [d for d in yaml.safe_load_all(target.read_text(encoding="utf-8")) if d is not None]
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}") from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ConfigError(f"{where} must hold one ConfigMap (argocd-notifications-cm) or its data map")
    document = documents[0]
    if "kind" in document or "apiVersion" in document:
        if document.get("kind") != "ConfigMap":
            raise ConfigError(f"{where}: kind {document.get('kind')!r} is not a ConfigMap")
        document = document.get("data") or {}
    if not isinstance(document, dict):
        raise ConfigError(f"{where}: data must be a map of key: text")
    for key, value in document.items():
        if not isinstance(value, str):
            raise ConfigError(f"{where}: data key {key!r} must be text (a YAML block, `key: |`)")
    return {str(k): v for k, v in document.items()}


def load_config(
    path: str, secrets: Secrets, *, public_url: str = "", check_templates: bool = True
) -> NotificationsConfig:
    data = read_data(path)
    return parse_config(data, secrets, source=path, public_url=public_url, check_templates=check_templates)


def parse_config(
    data: Mapping[str, str], secrets: Secrets, *, source: str, public_url: str = "", check_templates: bool = True
) -> NotificationsConfig:
    services: dict[str, ServiceSpec] = {}
    templates: dict[str, NotificationTemplate] = {}
    raw_triggers: dict[str, Any] = {}
    service_defaults: dict[str, tuple[str, ...]] = {}
    for key in sorted(data):
        value = _yaml(key, data[key])
        prefix, _, name = key.partition(".")
        if prefix == "service":
            spec = _service(key, name, value, secrets)
            services[spec.name] = spec
        elif prefix == "template" and name:
            templates[name] = parse_template(name, value)
        elif prefix == "trigger" and name:
            raw_triggers[name] = value
        elif prefix == "defaultTriggers" and name:
            service_defaults[name] = _names(key, value)
        elif key not in ("defaultTriggers", "subscriptions", "context"):
            raise ConfigError(
                f"{source}: key {key!r} is not one this system reads (service.<type>[.<name>], template.<name>, "
                "trigger.<name>, defaultTriggers[.<service>], subscriptions, context)"
            )
    triggers = {name: _trigger(name, value, templates) for name, value in raw_triggers.items()}
    default_triggers = _names("defaultTriggers", _yaml("defaultTriggers", data.get("defaultTriggers", "")))
    for where, names in [("defaultTriggers", default_triggers)] + [
        (f"defaultTriggers.{s}", n) for s, n in service_defaults.items()
    ]:
        _known_triggers(where, names, triggers)
    subscriptions = _subscriptions(_yaml("subscriptions", data.get("subscriptions", "")), triggers)
    if check_templates:
        check_parses(templates)
    return NotificationsConfig(
        source=source,
        services=services,
        templates=templates,
        triggers=triggers,
        default_triggers=default_triggers,
        service_default_triggers=service_defaults,
        subscriptions=subscriptions,
        context=_context(_yaml("context", data.get("context", "")), public_url),
        digest=hashlib.sha256(json.dumps(dict(data), sort_keys=True).encode()).hexdigest(),
    )


def _yaml(key: str, text: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{key}: not valid YAML: {exc}") from None


def _service(key: str, name: str, options: Any, secrets: Secrets) -> ServiceSpec:
    parts = name.split(".")
    if not name or len(parts) > 2:
        raise ConfigError(f"{key}: a service key is service.<type> or service.<type>.<name>")
    service_type, service_name = parts[0], parts[-1]
    if service_type not in SERVICE_TYPES:
        raise ConfigError(
            f"{key}: service type {service_type!r} is not supported (supported: {', '.join(sorted(SERVICE_TYPES))})"
        )
    options = check_keys(options, SERVICE_TYPES[service_type].OPTIONS, key)
    missing = sorted(ref for ref in set(references(options)) if ref not in secrets.values)
    if missing:
        refs = ", ".join(f"${ref}" for ref in missing)
        raise ConfigError(f"{key}: {refs} not found in {secrets.source}; add the key(s) there")
    try:
        resolved = secrets.resolve_tree(options, key)
    except SecretsError as exc:
        raise ConfigError(str(exc)) from None
    SERVICE_TYPES[service_type].check(resolved, key)  # on the values, which are then dropped
    return ServiceSpec(service_name, service_type, options)


def _names(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key} must be a list of trigger names")
    return tuple(value)


def _known_triggers(where: str, names: tuple[str, ...], triggers: Mapping[str, Any]) -> None:
    unknown = [name for name in names if name not in triggers]
    if unknown:
        raise ConfigError(f"{where}: trigger(s) {', '.join(unknown)} not defined (define trigger.<name>)")


def condition_key(index: int, when: str) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha1(when.encode()).digest()).rstrip(b"=").decode()
    return f"[{index}].{digest}"


def _trigger(name: str, value: Any, templates: Mapping[str, NotificationTemplate]) -> tuple[Condition, ...]:
    key = f"trigger.{name}"
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{key} must be a list of conditions (- when: ..., send: [...])")
    conditions = []
    for index, item in enumerate(items):
        where = f"{key}[{index}]"
        item = check_keys(item, CONDITION_FIELDS, where, required=("send",))
        send = item["send"]
        if not isinstance(send, list) or not all(isinstance(s, str) for s in send):
            raise ConfigError(f"{where}.send must be a list of template names")
        unknown = [template for template in send if template not in templates]
        if unknown:
            raise ConfigError(f"{where}.send: template(s) {', '.join(unknown)} not defined (define template.<name>)")
        when_text = str(item.get("when") or "")
        conditions.append(
            Condition(
                index=index,
                when=_compile(f"{where}.when", when_text or "false"),
                send=tuple(send),
                once_per=_compile(f"{where}.oncePer", str(item["oncePer"])) if item.get("oncePer") else None,
                description=str(item.get("description") or ""),
                key=condition_key(index, when_text),
            )
        )
    return tuple(conditions)


def _compile(where: str, text: str) -> Program:
    try:
        return compile_expression(text)
    except ExprRefused as exc:
        raise ConfigError(f"{where}: {exc}: {text!r}") from None


def _subscriptions(value: Any, triggers: Mapping[str, Any]) -> tuple[DefaultSubscription, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError("subscriptions must be a list of {recipients, triggers, selector}")
    result = []
    for index, item in enumerate(value):
        where = f"subscriptions[{index}]"
        item = check_keys(item, SUBSCRIPTION_FIELDS, where, required=("recipients",))
        recipients = []
        for recipient in item["recipients"] or []:
            service, _, target = str(recipient).partition(":")
            recipients.append((service.strip(), target.strip()))
        names = _names(f"{where}.triggers", item.get("triggers"))
        _known_triggers(f"{where}.triggers", names, triggers)
        selector = item.get("selector")
        try:
            parsed = parse_selector(str(selector)) if selector else None
        except ValueError as exc:
            raise ConfigError(f"{where}.selector: {exc}") from None
        result.append(DefaultSubscription(tuple(recipients), names, parsed))
    return tuple(result)


def _context(value: Any, public_url: str) -> dict[str, str]:
    if value is not None and not isinstance(value, dict):
        raise ConfigError("context must be a map of name: text")
    context = {"argocdUrl": (public_url or DEFAULT_ARGOCD_URL).rstrip("/")}
    context.update({str(k): "" if v is None else str(v) for k, v in (value or {}).items()})
    return context
