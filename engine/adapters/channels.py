"""Outside channels for notices: email over SMTP, a signed JSON webhook, and SMS through
a provider's HTTP gateway.

Configured from the environment (12-factor): ISOFLOW_SMTP_HOST / ISOFLOW_SMTP_PORT /
ISOFLOW_SMTP_FROM (optionally ISOFLOW_SMTP_USER / ISOFLOW_SMTP_PASSWORD /
ISOFLOW_SMTP_STARTTLS), ISOFLOW_WEBHOOK_URL / ISOFLOW_WEBHOOK_SECRET (the escalation
webhook; integrators' subscriptions carry their own URL and secret) and
ISOFLOW_SMS_URL / ISOFLOW_SMS_KEY (the SMS gateway). A channel without configuration is
simply off; the in-app inbox always works.

A channel's `send` raises `DeliveryFailed` on any failure; the sweep records the
error and retries with backoff, so a broken channel never blocks the sweep or loses
the notice.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

SIGNATURE_HEADER = "X-Isoflow-Signature"
DELIVERY_HEADER = "X-Isoflow-Delivery"


class DeliveryFailed(Exception):
    pass


@dataclass(frozen=True)
class ChannelSettings:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "isoflow@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    webhook_url: str | None = None
    webhook_secret: str | None = None
    sms_url: str | None = None
    sms_key: str | None = None
    sms_sender: str = "ISOFLOW"
    timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "ChannelSettings":
        env = os.environ if environ is None else environ
        return cls(
            smtp_host=env.get("ISOFLOW_SMTP_HOST") or None,
            smtp_port=int(env.get("ISOFLOW_SMTP_PORT") or 25),
            smtp_from=env.get("ISOFLOW_SMTP_FROM") or "isoflow@localhost",
            smtp_user=env.get("ISOFLOW_SMTP_USER") or None,
            smtp_password=env.get("ISOFLOW_SMTP_PASSWORD") or None,
            smtp_starttls=(env.get("ISOFLOW_SMTP_STARTTLS") or "").lower() in {"1", "true", "yes"},
            webhook_url=env.get("ISOFLOW_WEBHOOK_URL") or None,
            webhook_secret=env.get("ISOFLOW_WEBHOOK_SECRET") or None,
            sms_url=env.get("ISOFLOW_SMS_URL") or None,
            sms_key=env.get("ISOFLOW_SMS_KEY") or None,
            sms_sender=env.get("ISOFLOW_SMS_SENDER") or "ISOFLOW",
            timeout_seconds=float(env.get("ISOFLOW_CHANNEL_TIMEOUT") or 10),
        )

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)

    @property
    def sms_enabled(self) -> bool:
        return bool(self.sms_url)


class EmailChannel:
    name = "email"

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings

    def send(self, address: str, payload: dict[str, Any], delivery_id: int) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = address
        message["Subject"] = payload["subject"]
        message["X-Isoflow-Delivery"] = str(delivery_id)
        message.set_content(payload["body"])
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP {s.smtp_host}:{s.smtp_port}: {exc}") from exc


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the exact request body with the shared secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, body), header or "")


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings

    def send(self, address: str, payload: dict[str, Any], delivery_id: int) -> None:
        post_signed(address, payload, delivery_id, self.settings.webhook_secret, self.settings.timeout_seconds)


def post_signed(url: str, payload: dict[str, Any], delivery_id: int | str, secret: str | None,
                timeout: float, *, what: str = "webhook") -> None:
    """POST `payload` as JSON, signed with `secret` (`X-Isoflow-Signature`) and named by
    `X-Isoflow-Delivery` so the receiver drops a retry it already has."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", DELIVERY_HEADER: str(delivery_id)}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if not 200 <= response.status < 300:
                raise DeliveryFailed(f"{what} {url} answered {response.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"{what} {url} answered {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise DeliveryFailed(f"{what} {url}: {exc}") from exc


class SmsGateway(Protocol):
    """What isoflow needs of an SMS provider: send one text to one phone number, or raise
    `DeliveryFailed`. `reference` is the outbox row's id (the provider may de-duplicate on it)."""

    def send_sms(self, phone: str, text: str, reference: str) -> None: ...


class HttpSmsGateway:
    """An SMS provider reached over HTTP(S): `POST <url>` with a JSON body
    `{"to", "text", "sender", "reference"}`, the key as `Authorization: Bearer <key>`, and
    the body signed with the key like the webhooks; any 2xx is accepted. Most Vietnamese
    brand-name SMS gateways take this shape behind a small adapter of the provider's."""

    def __init__(self, url: str, key: str | None, *, sender: str = "ISOFLOW", timeout: float = 10.0) -> None:
        self.url, self.key, self.sender, self.timeout = url, key, sender, timeout

    def send_sms(self, phone: str, text: str, reference: str) -> None:
        body = json.dumps({"to": phone, "text": text, "sender": self.sender, "reference": reference},
                          ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", DELIVERY_HEADER: reference}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
            headers[SIGNATURE_HEADER] = sign(self.key, body)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if not 200 <= response.status < 300:
                    raise DeliveryFailed(f"SMS gateway answered {response.status}")
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"SMS gateway answered {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise DeliveryFailed(f"SMS gateway {self.url}: {exc}") from exc


class SmsChannel:
    name = "sms"

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway

    def send(self, address: str, payload: dict[str, Any], delivery_id: int) -> None:
        self.gateway.send_sms(address, payload["text"], str(delivery_id))


def channels_from(settings: ChannelSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if settings.email_enabled:
        out["email"] = EmailChannel(settings)
    if settings.webhook_enabled:
        out["webhook"] = WebhookChannel(settings)
    if settings.sms_enabled:
        out["sms"] = SmsChannel(HttpSmsGateway(settings.sms_url, settings.sms_key, sender=settings.sms_sender,
                                               timeout=settings.timeout_seconds))
    return out
