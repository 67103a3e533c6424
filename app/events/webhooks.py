"""Webhook subscriptions: address checks, secrets and signatures (Standard Webhooks)."""

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from app.core.errors import FieldError, ValidationFailed
from app.core.i18n import Text
from app.events.addresses import AddressRefused, checked_addresses, is_allowed_name

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` + base64 HMAC-SHA256 over ``id.timestamp.body``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def address_problem(url: str, allowed_hosts: str) -> str | None:
    """Why ``url`` may not receive deliveries (a short code), or None when it may.

    Refuses what resolves to loopback, private, link-local or other non-public addresses (IPv6 forms
    that lead to an IPv4 host included) unless the host or the address is listed in ``allowed_hosts``.
    Checked when subscribing; each delivery checks again as it connects (``addresses.PinnedBackend``).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "invalid_url"
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return "invalid_url"
    if is_allowed_name(parts.hostname, allowed_hosts):
        return None  # listed by the operator: it need not resolve yet
    try:
        checked_addresses(parts.hostname, port or (443 if parts.scheme == "https" else 80), allowed_hosts)
    except AddressRefused as refused:
        return refused.code
    return None


_URL_MESSAGES = {
    "invalid_url": Text("应为不含用户信息的 http(s) 地址", "Must be an http(s) URL without user information"),
    "unresolvable_host": Text("无法解析该主机名", "The host name does not resolve"),
    "address_not_allowed": Text(
        "该地址指向本机、内网或链路本地地址，不允许接收推送",
        "The address resolves to a loopback, private or link-local address, which may not receive webhooks",
    ),
}


# Failures the subscriber is told as they are; any other one (a status, a timeout, a refused connection) is
# reported only as not delivered, and kept in full for the operator (database and logs).
_PUBLIC_ERRORS = frozenset({"address_not_allowed", "unresolvable_host", "invalid_url"})


def public_error(status: int | None, error: str | None) -> str | None:
    """What the subscriber is told of an attempt that failed; None when it succeeded or is in flight."""
    if error in _PUBLIC_ERRORS:
        return error
    if error is not None and error.startswith("abandoned"):
        return "abandoned"  # the worker's own failure, not the receiver's
    if error is None and (status is None or 200 <= status < 300):
        return None
    return "not_delivered"


def check_url(url: str, allowed_hosts: str) -> None:
    problem = address_problem(url, allowed_hosts)
    if problem is not None:
        raise ValidationFailed(errors=[FieldError("/url", problem, _URL_MESSAGES[problem])])


def matches(event_types: list[str], event_type: str) -> bool:
    """The same rule as the feed's ``types`` filter: exact names, ``prefix.*``, or ``*``."""
    return any(t == "*" or t == event_type or (t.endswith(".*") and event_type.startswith(t[:-1])) for t in event_types)
