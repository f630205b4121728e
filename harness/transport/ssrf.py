"""The SSRF guard: a sender must not be turned against its own network.

A webhook URL comes from a customer, so a sender that posts wherever it is told can be made
to reach its own loopback, its private network or the cloud metadata service. The
:class:`SsrfGuard` refuses such targets **at connect time, on the resolved address**: the
host is resolved once, every address is checked against the rules below, and the socket
connects to the checked address itself (TLS still verifies the original host name). A DNS
answer that changes between a check and the connection (rebinding) cannot get past it,
because there is no second lookup.

==============  ===============================================================
rule            addresses
==============  ===============================================================
``metadata``    169.254.169.254, 169.254.170.2, 100.100.100.200, fd00:ec2::254
``loopback``    127.0.0.0/8, ::1
``unspecified`` 0.0.0.0/8, ::
``private``     10/8, 172.16/12, 192.168/16, fc00::/7
``link-local``  169.254/16, fe80::/10
``shared``      100.64.0.0/10 (carrier-grade NAT)
``multicast``   224.0.0.0/4, ff00::/8
``reserved``    everything else that is not globally routable (240/4, 192.0.2/24...)
==============  ===============================================================

IPv6 addresses that embed an IPv4 address (``::ffff:127.0.0.1``, IPv4-compatible
``::127.0.0.1``, IPv4-translated ``::ffff:0:127.0.0.1``, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``) are judged by the IPv4 address inside; any other IPv6 address outside the
global unicast block ``2000::/3`` is ``reserved`` (e.g. site-local ``fec0::/10``).
``allow_private`` lifts every rule but ``metadata``; ``allow`` (a list of CIDRs) lifts
any rule for the addresses it covers, metadata included. A refusal raises
:class:`SsrfBlocked`, whose message names the host, the address and the rule; the rule is
on the exception too, and ``advice`` (given by the command line, which knows its flags)
adds how to allow it.

:func:`guarded_transport` plugs the guard into httpx (as the network backend of an
``httpx.AsyncHTTPTransport``); the resolver is injectable, so tests never use real DNS.

Example::

    >>> guard = SsrfGuard()
    >>> guard.rule_for("10.1.2.3")
    'private'
    >>> guard.check("169.254.169.254")
    Traceback (most recent call last):
    ...
    hooklab.harness.transport.ssrf.SsrfBlocked: refusing to connect to 169.254.169.254 \
(169.254.169.254): metadata address (the cloud metadata service)
    >>> SsrfGuard(allow_private=True).rule_for("127.0.0.1") is None
    True
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from hooklab.model.errors import ConfigError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "METADATA_ADDRESSES",
    "RULES",
    "Advice",
    "Resolver",
    "SsrfBlocked",
    "SsrfGuard",
    "classify_address",
    "guarded_transport",
    "parse_cidrs",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``resolver(host, port)`` -> the addresses ``host`` resolves to, as text.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

#: Cloud metadata services (AWS, ECS, Alibaba; GCP and Azure use 169.254.169.254 too).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

_NETS: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = tuple(
    (rule, tuple(ipaddress.ip_network(n) for n in nets))
    for rule, nets in (
        ("loopback", ("127.0.0.0/8", "::1/128")),
        ("unspecified", ("0.0.0.0/8", "::/128")),
        ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
        ("link-local", ("169.254.0.0/16", "fe80::/10")),
        ("shared", ("100.64.0.0/10",)),
        ("multicast", ("224.0.0.0/4", "ff00::/8")),
    )
)
_DESCRIPTIONS = {
    "metadata": "metadata address (the cloud metadata service)",
    "loopback": "loopback address",
    "unspecified": "unspecified address",
    "private": "private address",
    "link-local": "link-local address",
    "shared": "shared address space (100.64.0.0/10, carrier-grade NAT)",
    "multicast": "multicast address",
    "reserved": "reserved address (not globally routable)",
}
#: Every rule the guard applies, in the order it tries them.
RULES = tuple(_DESCRIPTIONS)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_6TO4 = ipaddress.ip_network("2002::/16")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated, but some stacks still route it
_V4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


#: ``advice(rule)`` -> what a refusal under ``rule`` suggests, e.g. the flag that lifts it.
Advice = Callable[[str], str]


class SsrfBlocked(ConfigError):
    """A target refused by the SSRF guard; the message names the address and the rule,
    then the ``advice`` if any."""

    def __init__(self, host: str, address: str, rule: str, advice: str = "") -> None:
        super().__init__(
            f"refusing to connect to {host} ({address}): {_DESCRIPTIONS[rule]}"
            + (f"; {advice}" if advice else "")
        )
        self.host = host
        self.address = address
        self.rule = rule


def parse_cidrs(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse an allowlist of CIDRs (``10.0.0.0/8``, ``::1/128``, a bare address).

        >>> parse_cidrs(["10.0.0.0/8", "::1"])
        (IPv4Network('10.0.0.0/8'), IPv6Network('::1/128'))
    """
    nets = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{value!r} is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)") from None
    return tuple(nets)


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """Resolve ``host`` with the operating system's resolver (``getaddrinfo``)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class SsrfGuard:
    """Decides which addresses a sender may connect to; see the module docstring.

    ``allow_private`` lifts every rule except ``metadata``; ``allow`` is a list of CIDRs
    (strings or networks) that are allowed whatever the rule; ``resolver`` resolves host
    names (default: :func:`system_resolver`); ``advice(rule)`` is added to each refusal's
    message.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow: Iterable[str | IPNetwork] = (),
        resolver: Resolver | None = None,
        advice: Advice | None = None,
    ) -> None:
        self.advice = advice
        self.allow_private = bool(allow_private)
        self.allow: tuple[IPNetwork, ...] = tuple(
            a if isinstance(a, ipaddress.IPv4Network | ipaddress.IPv6Network)
            else parse_cidrs([a])[0]
            for a in allow
        )
        self.resolver: Resolver = resolver or system_resolver

    def rule_for(self, address: str | IPAddress) -> str | None:
        """The rule that refuses ``address``, or ``None`` if a sender may connect to it."""
        ip = _parse(address)
        if any(ip.version == net.version and ip in net for net in self.allow):
            return None
        rule = classify_address(ip)
        if rule is None or (self.allow_private and rule != "metadata"):
            return None
        return rule

    def check(self, address: str | IPAddress, host: str | None = None) -> None:
        """Raise :class:`SsrfBlocked` if ``address`` (reached as ``host``) is refused."""
        rule = self.rule_for(address)
        if rule is not None:
            text = str(_parse(address))
            raise self.blocked(host or text, text, rule)

    def blocked(self, host: str, address: str, rule: str) -> SsrfBlocked:
        """The refusal of ``address`` (reached as ``host``) under ``rule``, with advice."""
        return SsrfBlocked(host, address, rule, self.advice(rule) if self.advice else "")

    def check_url_host(self, host: str) -> None:
        """Check a URL's host if it is a literal address (names are checked at connect
        time, when they are resolved); for early errors at registration."""
        literal = host.strip("[]")
        try:
            ipaddress.ip_address(literal.split("%")[0])
        except ValueError:
            return
        self.check(literal.split("%")[0], host)

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``, every one checked; SsrfBlocked if any
        is refused (a name that resolves to one public and one private address is
        refused: the attacker may choose which one the connection uses)."""
        literal = host.strip("[]").split("%")[0]
        try:
            ipaddress.ip_address(literal)
            addresses: Sequence[str] = [literal]
        except ValueError:
            addresses = await self.resolver(host, port)
            if not addresses:
                raise OSError(f"{host} did not resolve to any address") from None
        for address in addresses:
            self.check(address, host)
        return [str(_parse(a)) for a in addresses]

    def __repr__(self) -> str:
        allowed = ", ".join(str(n) for n in self.allow)
        return f"SsrfGuard(allow_private={self.allow_private}, allow=[{allowed}])"


def classify_address(address: str | IPAddress) -> str | None:
    """The rule an address falls under (``None``: a public, globally routable address).

        >>> classify_address("::ffff:127.0.0.1"), classify_address("93.184.216.34")
        ('loopback', None)
    """
    ip = _parse(address)
    embedded = _embedded_v4(ip)
    if embedded is not None:
        return classify_address(embedded)
    if ip in METADATA_ADDRESSES:
        return "metadata"
    for rule, nets in _NETS:
        if any(ip.version == net.version and ip in net for net in nets):
            return rule
    if not ip.is_global or (ip.version == 6 and ip not in _GLOBAL_UNICAST):
        return "reserved"
    return None


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or ip in _V4_TRANSLATED or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _6TO4:
        return ip.sixtofour
    return None


def _parse(address: str | IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return address
    try:
        return ipaddress.ip_address(str(address).strip("[]").split("%")[0])
    except ValueError:
        raise ConfigError(f"{address!r} is not an IP address") from None


def _network_backend(guard: SsrfGuard) -> Any:
    import httpcore

    class GuardedBackend(httpcore.AsyncNetworkBackend):
        """httpcore's default backend, connecting only to addresses the guard allows."""

        def __init__(self) -> None:
            self._inner = httpcore.AnyIOBackend()

        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> Any:
            try:
                async with asyncio.timeout(timeout):
                    addresses = await guard.resolve(host, port)
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
            last: Exception | None = None
            for address in addresses:
                try:
                    return await self._inner.connect_tcp(
                        address, port, timeout=timeout, local_address=local_address,
                        socket_options=socket_options,
                    )
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                    last = exc
            assert last is not None
            raise last

        async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
            raise guard.blocked("unix socket", "unix socket", "reserved")

        async def sleep(self, seconds: float) -> None:
            await self._inner.sleep(seconds)

    return GuardedBackend()


def guarded_transport(
    guard: SsrfGuard | None = None,
    *,
    max_connections: int = 100,
    verify: Any = True,
) -> httpx.AsyncHTTPTransport:
    """An ``httpx.AsyncHTTPTransport`` whose every connection goes through ``guard``.

    Use it as ``httpx.AsyncClient(transport=guarded_transport(guard))``. A refused target
    raises :class:`SsrfBlocked` out of the request (it is not a transport error: retrying
    would not help). Proxies are not used (a proxy would connect on the sender's behalf).
    """
    import httpcore
    import httpx

    transport = httpx.AsyncHTTPTransport(
        verify=verify,
        trust_env=False,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
    )
    ssl_context = httpx.create_ssl_context(verify=verify)
    transport._pool = httpcore.AsyncConnectionPool(  # the documented way to swap the backend
        ssl_context=ssl_context,
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=5.0,
        network_backend=_network_backend(guard or SsrfGuard()),
    )
    return transport
