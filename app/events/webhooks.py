"""Webhook subscriptions: address checks, secrets and signatures (Standard Webhooks)."""

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from app.core.errors import FieldError, ValidationFailed
from app.core.i18n import Text

SECRET_PREFIX = "whsec_"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` + base64 HMAC-SHA256 over ``id.timestamp.body``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def _allowed_entries(setting: str) -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks = []
    for entry in (e.strip().lower() for e in setting.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry)
    return names, networks


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def address_problem(url: str, allowed_hosts: str) -> str | None:
    """Why ``url`` may not receive deliveries (a short code), or None when it may.

    Refuses what resolves to loopback, private, link-local or other non-public addresses unless the
    host or the address is listed in ``allowed_hosts``. Checked when subscribing and before each send,
    so a name that later resolves elsewhere is caught too.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "invalid_url"
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return "invalid_url"
    host = parts.hostname.lower()
    names, networks = _allowed_entries(allowed_hosts)
    if host in names:
        return None
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return "unresolvable_host"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not _is_public(address) and not any(address in n for n in networks):
            return "address_not_allowed"
    return None


_URL_MESSAGES = {
    "invalid_url": Text("应为不含用户信息的 http(s) 地址", "Must be an http(s) URL without user information"),
    "unresolvable_host": Text("无法解析该主机名", "The host name does not resolve"),
    "address_not_allowed": Text(
        "该地址指向本机、内网或链路本地地址，不允许接收推送",
        "The address resolves to a loopback, private or link-local address, which may not receive webhooks",
    ),
}


def check_url(url: str, allowed_hosts: str) -> None:
    problem = address_problem(url, allowed_hosts)
    if problem is not None:
        raise ValidationFailed(errors=[FieldError("/url", problem, _URL_MESSAGES[problem])])


def matches(event_types: list[str], event_type: str) -> bool:
    """The same rule as the feed's ``types`` filter: exact names, ``prefix.*``, or ``*``."""
    return any(
        t == "*" or t == event_type or (t.endswith(".*") and event_type.startswith(t[:-1])) for t in event_types
    )
