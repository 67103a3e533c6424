"""Where webhooks may connect: one resolution, every address checked, the connection pinned to it.

A name is resolved once per connection; every address it resolves to must be public (or listed in
``SMPS_WEBHOOK_ALLOWED_HOSTS``), and the socket is opened to one of those checked addresses, never
to a second answer of the resolver (DNS rebinding). The Host header and TLS SNI stay the name:
httpcore sends them from the URL, only the TCP connection is made here.
"""

import ipaddress
import logging
import socket
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpcore
import httpx

from app.core.fast.libraries import use_pool

log = logging.getLogger("smps.webhooks")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[IPAddress]]
Connect = Callable[..., httpcore.NetworkStream]

# IPv6 ranges that carry (or translate to) an IPv4 address, or are transition mechanisms whose far end
# is an IPv4 host: refused whatever they embed, since the IPv4 side is where the packet lands.
_EMBEDDING = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # IPv4-compatible (deprecated), also :: and ::1
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local use
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
    )
)


class AddressRefused(httpcore.ConnectError):
    """The name resolved to an address webhooks may not reach; no connection was attempted."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def system_resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (A and AAAA), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


# The resolver every check and connection uses; tests put a stub here.
resolve: Resolver = system_resolve


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # ISATAP interface identifiers (::5efe:a.b.c.d, ::200:5efe:a.b.c.d) carry an IPv4 address too.
    if (int(address) >> 32) & 0xFDFF_FFFF == 0x0000_5EFE:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, and no IPv6 form that leads to an IPv4 host."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in n for n in _EMBEDDING):
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast


def parse_allowed(setting: str) -> tuple[set[str], list[Network]]:
    """``SMPS_WEBHOOK_ALLOWED_HOSTS``: host names and addresses or CIDR ranges, comma-separated."""
    names: set[str] = set()
    networks: list[Network] = []
    for entry in (e.strip().lower() for e in setting.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry)
    return names, networks


def is_allowed_name(host: str, allowed_hosts: str) -> bool:
    return host.lower().strip("[]") in parse_allowed(allowed_hosts)[0]


def checked_addresses(host: str, port: int, allowed_hosts: str) -> list[IPAddress]:
    """The addresses to connect to for ``host``, resolved once; raises AddressRefused if any is refused.

    One refused address refuses the name: a resolver that mixes a public and a private answer is
    not trusted with either.
    """
    host = host.lower().strip("[]")
    names, networks = parse_allowed(allowed_hosts)
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise AddressRefused("unresolvable_host") from None
    if not addresses:
        raise AddressRefused("unresolvable_host")
    if host in names:
        return addresses
    for address in addresses:
        if not is_public(address) and not any(address in n for n in networks):
            raise AddressRefused("address_not_allowed")
    return addresses


@dataclass
class PinnedBackend(httpcore.NetworkBackend):
    """An httpcore network backend that connects only to checked addresses of the URL's host."""

    # Read at each connection, so a changed setting applies to the next delivery.
    allowed_hosts: Callable[[], str]
    connect: Connect = field(default_factory=lambda: httpcore.SyncBackend().connect_tcp)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in checked_addresses(host, port, self.allowed_hosts()):
            try:
                return self.connect(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, *args: typing.Any, **kwargs: typing.Any) -> httpcore.NetworkStream:
        raise AddressRefused("address_not_allowed")

    def sleep(self, seconds: float) -> None:
        httpcore.SyncBackend().sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport (its error mapping, TLS settings, pooling) over a PinnedBackend."""

    def __init__(self, backend: PinnedBackend, *, verify: bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        # httpx builds its pool without a network backend parameter; this pool is the same but for it.
        use_pool(
            self,
            httpcore.ConnectionPool(
                ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False), network_backend=backend
            ),
        )
