"""Each notification service against a real server on loopback, as the service's API expects
its requests (Argo CD's services' docs: docs/operator-manual/notifications/services/)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from email import message_from_string

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reconciler.control.notifications.services import email, github, opsgenie, pagerdutyv2, slack, teams, webhook
from reconciler.control.notifications.services.base import DeliveryError, Outgoing
from reconciler.core.outbound import OutboundPolicy
from tests.notification_servers import Mailbox, Receiver, http_receiver, smtp_server

# Test servers listen on loopback: allowed as an operator would allow them
# (RECONCILER_ALLOWED_PRIVATE_HOSTS); NOWHERE is the default, which refuses them.
LOOPBACK = OutboundPolicy({"RECONCILER_ALLOWED_PRIVATE_HOSTS": "127.0.0.1"})
NOWHERE = OutboundPolicy({})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


def outgoing(service_type: str, block: dict, recipient: str = "", message: str = "App guestbook synced") -> Outgoing:
    return Outgoing(service_type, service_type, recipient, message, block)


def test_webhook_sends_the_templated_method_path_body_headers_and_basic_auth(receiver: Receiver) -> None:
    options = {"url": receiver.url + "/hooks/", "headers": [{"name": "X-Token", "value": "t0k"}],
               "basicAuth": {"username": "user", "password": "pass"}}
    block = {"method": "PUT", "path": "/deploy/guestbook", "body": '{"state": "success"}'}
    webhook.send(options, outgoing("webhook", block), LOOPBACK)
    request = receiver.wait("/hooks/deploy/guestbook")[0]
    assert (request.method, request.json()) == ("PUT", {"state": "success"})
    assert request.headers["X-Token"] == "t0k"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"user:pass").decode()


def test_webhook_without_a_template_part_sends_a_get_to_the_url_as_argo_cd_does(receiver: Receiver) -> None:
    webhook.send({"url": receiver.url + "/jenkins"}, outgoing("webhook", {}), LOOPBACK)
    assert receiver.wait("/jenkins")[0].method == "GET"


def test_a_loopback_destination_not_allowed_is_refused_before_any_request(receiver: Receiver) -> None:
    with pytest.raises(DeliveryError, match="RECONCILER_ALLOWED_PRIVATE_HOSTS") as raised:
        webhook.send({"url": receiver.url + "/x"}, outgoing("webhook", {"method": "POST"}), NOWHERE)
    assert not raised.value.retryable
    assert receiver.requests() == []


def test_a_5xx_answer_is_retryable_and_a_4xx_is_not(receiver: Receiver) -> None:
    receiver.answers["/down"] = (503, "maintenance")
    receiver.answers["/bad"] = (400, "bad request")
    with pytest.raises(DeliveryError, match="answered 503") as down:
        webhook.send({"url": receiver.url + "/down"}, outgoing("webhook", {"method": "POST"}), LOOPBACK)
    with pytest.raises(DeliveryError, match="answered 400") as bad:
        webhook.send({"url": receiver.url + "/bad"}, outgoing("webhook", {"method": "POST"}), LOOPBACK)
    assert down.value.retryable and not bad.value.retryable


def test_slack_bot_posts_chat_post_message_with_channel_text_and_attachments(receiver: Receiver) -> None:
    options = {"token": "xoxb-123", "apiURL": receiver.url + "/slack/api/", "username": "cd", "icon": ":rocket:"}
    block = {"attachments": '[{"title": "guestbook", "color": "#18be52"}]', "blocks": ""}
    slack.send(options, outgoing("slack", block, recipient="deploys"), LOOPBACK)
    request = receiver.wait("/slack/api/chat.postMessage")[0]
    assert request.headers["Authorization"] == "Bearer xoxb-123"
    assert request.json() == {"channel": "deploys", "text": "App guestbook synced", "username": "cd",
                              "icon_emoji": ":rocket:", "attachments": [{"title": "guestbook", "color": "#18be52"}]}


def test_slack_answering_ok_false_is_a_failure_naming_slacks_reason(receiver: Receiver) -> None:
    receiver.answers["/slack/api/chat.postMessage"] = (200, '{"ok": false, "error": "channel_not_found"}')
    with pytest.raises(DeliveryError, match="channel_not_found"):
        slack.send({"token": "x", "apiURL": receiver.url + "/slack/api"}, outgoing("slack", {}, "nowhere"), LOOPBACK)


def test_slack_incoming_webhook_posts_the_payload_to_the_webhook_url(receiver: Receiver) -> None:
    slack.send({"webhookURL": receiver.url + "/services/T1/B2/C3"}, outgoing("slack", {}), LOOPBACK)
    assert receiver.wait("/services/T1/B2/C3")[0].json() == {"text": "App guestbook synced"}


def test_slack_attachments_that_do_not_render_to_json_fail_naming_the_field(receiver: Receiver) -> None:
    with pytest.raises(DeliveryError, match="attachments did not render to valid JSON"):
        slack.send({"token": "x", "apiURL": receiver.url + "/slack/api"}, outgoing("slack", {"attachments": "[{"}, "c"),
                   LOOPBACK)


def test_email_uses_starttls_then_logs_in_and_sends_subject_and_message() -> None:
    with smtp_server() as mailbox:
        options = {"host": "127.0.0.1", "port": mailbox.port, "from": "cd@example.com", "username": "cd",
                   "password": "mail-secret", "insecure_skip_verify": True}
        email.send(options, outgoing("email", {"subject": "Application guestbook synced"}, "ops@example.com"),
                   LOOPBACK)
        mail = _only(mailbox)
    assert mail["tls"] and mail["to"] == ["ops@example.com"]
    parsed = message_from_string(mail["data"])
    assert parsed["Subject"] == "Application guestbook synced"
    assert parsed.get_payload().strip() == "App guestbook synced"


def test_email_does_not_trust_a_self_signed_certificate_unless_told() -> None:
    with smtp_server() as mailbox:
        options = {"host": "127.0.0.1", "port": mailbox.port, "from": "cd@example.com", "username": "cd",
                   "password": "mail-secret"}
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            email.send(options, outgoing("email", {"subject": "s"}, "ops@example.com"), LOOPBACK)
        assert mailbox.messages == [] and mailbox.logins == []


def _only(mailbox: Mailbox) -> dict:
    messages = mailbox.wait(1)
    assert len(messages) == 1
    return messages[0]


def test_github_sets_a_commit_status_with_a_token_on_an_enterprise_url(receiver: Receiver) -> None:
    options = {"token": "ghp_abc", "enterpriseBaseURL": receiver.url + "/github/"}
    block = {"repoURLPath": "https://github.com/org/repo.git", "revisionPath": "abc123",
             "status": {"state": "success", "label": "continuous-delivery/guestbook",
                        "targetURL": "https://cd.example.com/applications/guestbook"}}
    github.send(options, outgoing("github", block), LOOPBACK)
    request = receiver.wait("/github/api/v3/repos/org/repo/statuses/abc123")[0]
    assert request.headers["Authorization"] == "token ghp_abc"
    assert request.json() == {"state": "success", "context": "continuous-delivery/guestbook",
                              "target_url": "https://cd.example.com/applications/guestbook",
                              "description": "App guestbook synced"}


def test_github_app_auth_exchanges_a_signed_jwt_for_an_installation_token(receiver: Receiver) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    options = {"appID": "42", "installationID": "1", "privateKey": pem, "enterpriseBaseURL": receiver.url + "/github"}
    block = {"repoURLPath": "git@github.com:org/repo.git", "revisionPath": "abc123",
             "deployment": {"state": "success", "environment": "production", "logURL": "https://cd/x",
                            "requiredContexts": [], "autoMerge": False}}
    github.send(options, outgoing("github", block), LOOPBACK)
    exchange = receiver.wait("/github/api/v3/app/installations/1/access_tokens")[0]
    header, claims, signature = exchange.headers["Authorization"].removeprefix("Bearer ").split(".")
    assert json.loads(base64.urlsafe_b64decode(claims + "==")).get("iss") == "42"
    key.public_key().verify(
        base64.urlsafe_b64decode(signature + "=="), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    created = receiver.wait("/github/api/v3/repos/org/repo/deployments", 2)
    assert created[0].headers["Authorization"] == "token ghs_installation"
    assert created[0].json() == {"ref": "abc123", "environment": "production", "required_contexts": [],
                                 "auto_merge": False, "transient_environment": False}
    assert created[1].path == "/github/api/v3/repos/org/repo/deployments/7/statuses"
    assert created[1].json()["state"] == "success"


def test_teams_posts_a_message_card_to_the_channels_webhook(receiver: Receiver) -> None:
    options = {"recipientUrls": {"ops": receiver.url + "/teams/ops"}}
    block = {"title": "Synced", "themeColor": "#000080", "facts": '[{"name": "Sync Status", "value": "Synced"}]'}
    teams.send(options, outgoing("teams", block, "ops"), LOOPBACK)
    card = receiver.wait("/teams/ops")[0].json()
    assert card["@type"] == "MessageCard" and card["title"] == "Synced" and card["text"] == "App guestbook synced"
    assert card["sections"] == [{"facts": [{"name": "Sync Status", "value": "Synced"}]}]


def test_opsgenie_creates_an_alert_for_the_team(receiver: Receiver) -> None:
    options = {"apiUrl": receiver.url + "/opsgenie", "apiKeys": {"sre": "genie-key"}}
    opsgenie.send(options, outgoing("opsgenie", {"priority": "P1", "tags": "cd,prod"}, "sre"), LOOPBACK)
    request = receiver.wait("/opsgenie/v2/alerts")[0]
    assert request.headers["Authorization"] == "GenieKey genie-key"
    assert request.json()["responders"] == [{"type": "team", "name": "sre"}]
    assert request.json()["tags"] == ["cd", "prod"] and request.json()["priority"] == "P1"


def test_pagerduty_v2_enqueues_an_event_with_the_services_routing_key(receiver: Receiver) -> None:
    options = {"serviceKeys": {"web": "routing-key"}, "apiURL": receiver.url + "/pd"}
    block = {"summary": "guestbook degraded", "severity": "critical", "source": "guestbook"}
    pagerdutyv2.send(options, outgoing("pagerdutyv2", block, "web"), LOOPBACK)
    event = receiver.wait("/pd/v2/enqueue")[0].json()
    assert event["routing_key"] == "routing-key" and event["event_action"] == "trigger"
    assert event["payload"] == {"summary": "guestbook degraded", "severity": "critical", "source": "guestbook"}
