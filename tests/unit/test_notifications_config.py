"""argocd-notifications-cm as a file, a data map or a mounted directory; the secrets file as a
Secret manifest (data and stringData) or a flat map; and every unsupported part refused by name."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from reconciler.control.notifications.config import load_config, parse_config
from reconciler.control.notifications.secrets import Secrets, SecretsError, load_secrets
from reconciler.control.notifications.services.base import ConfigError
from reconciler.control.notifications.subscriptions import Destination, destinations
from reconciler.control.notifications.templates import rewrite_helpers

TRIGGER = "- when: app.status.health.status == 'Degraded'\n  send: [degraded]\n"
TEMPLATE = "message: App {{.app.metadata.name}} is degraded\n"
DATA = {"trigger.on-degraded": TRIGGER, "template.degraded": TEMPLATE,
        "service.webhook.hook": "url: https://hooks.example.com\n"}


def test_the_configmap_manifest_its_data_map_and_a_mounted_directory_load_alike(tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "data": DATA}))
    data_map = tmp_path / "data.yaml"
    data_map.write_text(yaml.safe_dump(DATA))
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    for key, value in DATA.items():
        (mounted / key).write_text(value)
    (mounted / "..data").mkdir()  # a kubelet-mounted ConfigMap's bookkeeping is not a key
    for path in (manifest, data_map, mounted):
        config = load_config(str(path), Secrets())
        assert list(config.triggers) == ["on-degraded"] and list(config.services) == ["hook"]


def test_a_secret_manifest_decodes_data_and_lets_string_data_win(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Secret",
        "data": {"a": base64.b64encode(b"from-data").decode(), "b": base64.b64encode(b"old").decode()},
        "stringData": {"b": "new"},
    }))
    assert dict(load_secrets(str(path)).values) == {"a": "from-data", "b": "new"}
    flat = tmp_path / "flat.yaml"
    flat.write_text("slack-token: xoxb-1\nport: 587\n")
    assert dict(load_secrets(str(flat)).values) == {"slack-token": "xoxb-1", "port": "587"}


def test_a_mounted_secret_directory_gives_one_value_per_file_as_mounted(tmp_path: Path) -> None:
    mounted = tmp_path / "secret"
    mounted.mkdir()
    (mounted / "slack-token").write_text("xoxb-1")
    (mounted / "email-password").write_text("pass word\n")  # kept as the Secret holds it
    (mounted / "..data").mkdir()  # the kubelet's bookkeeping
    (mounted / "..2026_12_06").mkdir()
    assert dict(load_secrets(str(mounted)).values) == {"email-password": "pass word\n", "slack-token": "xoxb-1"}


def test_a_secrets_file_that_is_not_yaml_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("token: [s3cret-value\n")
    with pytest.raises(SecretsError) as raised:
        load_secrets(str(path))
    assert "s3cret-value" not in str(raised.value)


def test_secret_references_resolve_at_send_time_and_are_redacted_from_errors() -> None:
    secrets = Secrets({"slack-token": "xoxb-very-secret"}, "test secrets")
    assert secrets.resolve("Bearer $slack-token", "service.slack.token") == "Bearer xoxb-very-secret"
    assert secrets.redact("401 for token xoxb-very-secret") == "401 for token ***"


def test_a_service_referring_to_a_missing_secret_key_is_refused_naming_the_key() -> None:
    data = {**DATA, "service.slack": "token: $slack-token\n"}
    with pytest.raises(ConfigError, match=r"service\.slack: \$slack-token not found"):
        parse_config(data, Secrets({}, "RECONCILER_NOTIFICATIONS_SECRETS_FILE s.yaml"), source="cm.yaml")


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("service.mattermost", "apiURL: https://m.example.com\n", "service type 'mattermost' is not supported"),
        ("service.webhook.hook", "url: https://x\nretries: 3\n", "retries not supported"),
        ("template.degraded", "message: x\nmattermost: {}\n", "'mattermost' is not a part this system renders"),
        ("template.degraded", "slack:\n  groupingKey: '{{.app.metadata.name}}'\n", "groupingKey"),
        ("template.degraded", "message: '{{ .app.metadata.name | nosuchfunc }}'\n", "nosuchfunc"),
        ("template.degraded", "message: '{{ (call .repo.GetCommitMetadata .app.status.sync.revision).Author }}'\n",
         r"\.repo\.GetCommitMetadata is not supported"),
        ("trigger.on-degraded", "- when: app.status.foo(1)\n  send: [degraded]\n", r"trigger\.on-degraded\[0\]\.when"),
        ("trigger.on-degraded", "- when: 'true'\n  send: [missing]\n", "template.s. missing not defined"),
        ("trigger.on-degraded", "- when: 'true'\n  send: [degraded]\n  onceper: x\n", "onceper not supported"),
        ("defaultTriggers", "- on-nothing\n", "on-nothing not defined"),
        ("resource.exclusions", "[]", "key 'resource.exclusions' is not one this system reads"),
    ],
)
def test_what_is_not_supported_is_refused_at_load_by_its_key(key: str, value: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        parse_config({**DATA, key: value}, Secrets(), source="cm.yaml")


def test_argo_cd_template_helpers_are_rewritten_for_the_engine() -> None:
    assert rewrite_helpers("{{call .repo.RepoURLToHTTPS .app.spec.source.repoURL}}", "t") == (
        "{{index .repo.RepoURLToHTTPS .app.spec.source.repoURL}}"
    )
    assert rewrite_helpers("{{.app.spec.source.repoURL | call .repo.RepoURLToHTTPS}}", "t") == (
        "{{.app.spec.source.repoURL | index .repo.RepoURLToHTTPS}}"
    )
    parsed = rewrite_helpers("{{ (call .time.Parse .x).Local }}", "t")
    assert parsed == '{{ (toDate "2006-01-02T15:04:05Z07:00" .x).Local }}'
    assert rewrite_helpers('{{ call .strings.ReplaceAll .a "-" "." }}', "t").endswith(
        '{{ include "__notify_replace_all" (list .a "-" ".") }}'
    )


def test_argo_cd_template_helpers_render_as_argo_cd_renders_them(tmp_path: Path) -> None:
    from reconciler.control.notifications.delivery import render_outgoing

    template = (
        "message: '{{.app.spec.source.repoURL | call .repo.RepoURLToHTTPS}} "
        "{{call .repo.FullNameByRepoURL .app.spec.source.repoURL}} "
        '{{call .strings.ReplaceAll .app.metadata.name "-" "_"}} {{call .strings.ToUpper "up"}} '
        "{{(call .time.Parse .app.status.operationState.startedAt).UTC.Format \"2006-01-02\"}}'\n"
    )
    config = parse_config({**DATA, "template.degraded": template}, Secrets(), source="cm.yaml")
    view = {"metadata": {"name": "my-app"}, "spec": {"source": {"repoURL": "git@github.com:org/repo.git"}},
            "status": {"operationState": {"startedAt": "2024-05-01T10:00:00Z"}}}
    entry = {"service": "hook", "recipient": "", "templates": ["degraded"], "view": view}
    assert render_outgoing(config, entry, Secrets()).message == (
        "https://github.com/org/repo.git org/repo my_app UP 2024-05-01"
    )


def test_subscriptions_come_from_the_configmap_the_app_and_its_project() -> None:
    data = {
        **DATA,
        "service.slack": "token: x\n",
        "trigger.on-synced": "- when: 'true'\n  send: [degraded]\n",
        "defaultTriggers": "- on-degraded\n",
        "defaultTriggers.slack": "- on-synced\n",
        "subscriptions": "- recipients: [hook]\n  triggers: [on-synced]\n  selector: team=web\n",
    }
    config = parse_config(data, Secrets(), source="cm.yaml")
    found = destinations(
        config,
        {"team": "web"},
        {"notifications.argoproj.io/subscribe.on-degraded.slack": "ops; dev",
         "notifications.argoproj.io/subscribe.slack": "general"},
        {"notifications.argoproj.io/subscribe.on-degraded.hook": ""},
    )
    assert found.by_trigger == {
        "on-synced": [Destination("hook", ""), Destination("slack", "general")],
        "on-degraded": [Destination("hook", ""), Destination("slack", "dev"), Destination("slack", "ops")],
    }
    assert destinations(config, {"team": "db"}, {}, {}).by_trigger == {}
    problem = destinations(config, {}, {"notifications.argoproj.io/subscribe.on-x.teams": "c"}, {}).problems
    assert problem == ["trigger 'on-x' is subscribed to but not configured (define trigger.on-x)"]
