"""`service.email[.<name>]`: SMTP, with STARTTLS whenever the server offers it (and required
before any password is sent), implicit TLS on port 465, as Argo CD's email service.
The template's `email:` part gives `subject` (and `body`, else the message is the body)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from reconciler.control.notifications.services.base import ConfigError, DeliveryError, Outgoing, check_keys, truthy
from reconciler.control.notifications.services.outbound import TIMEOUT_SECONDS, guard_destination
from reconciler.core.outbound import OutboundPolicy

TYPE = "email"
OPTIONS = frozenset({"host", "port", "username", "password", "from", "html", "insecure_skip_verify"})
TEMPLATE_FIELDS = frozenset({"subject", "body"})
IMPLICIT_TLS_PORT = 465


def check(options: dict[str, Any], where: str) -> None:
    check_keys(options, OPTIONS, where, required=("host", "port", "from"))
    try:
        int(options["port"])
    except (TypeError, ValueError):
        raise ConfigError(f"{where}.port: {options['port']!r} is not a port number") from None


def check_template(block: Any, where: str) -> None:
    check_keys(block, TEMPLATE_FIELDS, where)


def send(options: dict[str, Any], outgoing: Outgoing, policy: OutboundPolicy) -> None:
    recipients = [address.strip() for address in outgoing.recipient.split(",") if address.strip()]
    if not recipients:
        raise DeliveryError(f"email {outgoing.service}: no address: subscribe with an email address as recipient",
                            retryable=False)
    host, port = str(options["host"]), int(options["port"])
    guard_destination(host, port, policy)
    message = EmailMessage()
    message["Subject"] = str(outgoing.block.get("subject") or "")
    message["From"] = str(options["from"])
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid()
    body = str(outgoing.block.get("body") or outgoing.message)
    message.set_content(body, subtype="html" if truthy(options.get("html")) else "plain")
    context = ssl.create_default_context()
    if truthy(options.get("insecure_skip_verify")):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        _deliver(host, port, context, options, message)
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise DeliveryError(f"SMTP {host}:{port} answered {exc.smtp_code}: {text}",
                            retryable=exc.smtp_code >= 400 and exc.smtp_code < 500) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {host}:{port}: {type(exc).__name__}: {exc}") from None


def _deliver(host: str, port: int, context: ssl.SSLContext, options: dict[str, Any], message: EmailMessage) -> None:
    username = str(options.get("username") or "")
    if port == IMPLICIT_TLS_PORT:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
    with smtp:
        smtp.ehlo()
        if port != IMPLICIT_TLS_PORT:
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif username:
                raise DeliveryError(
                    f"SMTP {host}:{port} does not offer STARTTLS: refusing to send the password unencrypted",
                    retryable=False,
                )
        if username:
            smtp.login(username, str(options.get("password") or ""))
        smtp.send_message(message)
