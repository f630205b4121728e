"""The SSRF guard: rules on literal addresses, and the connect-time check through httpx.

No test uses real DNS: names are resolved by fake resolvers, and the only address ever
connected to is 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest

from hooklab.harness.server import LiveServer
from hooklab.harness.transport.ssrf import (
    RULES,
    SsrfBlocked,
    SsrfGuard,
    classify_address,
    guarded_transport,
    parse_cidrs,
)
from hooklab.model.errors import ConfigError

CASES = [
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"),
    ("192.168.1.1", "private"), ("fc00::1", "private"), ("fd12:3456::1", "private"),
    ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("100.64.0.1", "shared"), ("100.127.255.254", "shared"),
    ("224.0.0.1", "multicast"), ("239.1.1.1", "multicast"), ("ff02::1", "multicast"),
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"),
    ("169.254.170.2", "metadata"), ("100.100.100.200", "metadata"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"), ("192.0.2.7", "reserved"),
    ("2001:db8::1", "reserved"),
    # IPv6 forms that carry an IPv4 address are judged by it
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "metadata"),
    ("64:ff9b::a00:1", "private"), ("2002:c0a8:0101::1", "private"),
    # IPv4-compatible and IPv4-translated forms too; IPv6 outside 2000::/3 is not global
    ("::127.0.0.1", "loopback"), ("::169.254.169.254", "metadata"),
    ("::ffff:0:7f00:1", "loopback"), ("::ffff:0:a9fe:a9fe", "metadata"),
    ("fec0::1", "reserved"), ("64:ff9b:1::7f00:1", "reserved"),
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111",
          "2a00:1450:4001::1"]


async def _no_dns(host: str, port: int) -> Sequence[str]:
    raise AssertionError(f"this test must not resolve {host!r}")


@pytest.mark.parametrize(("address", "rule"), CASES)
def test_each_blocked_address_is_named_with_its_rule(address: str, rule: str) -> None:
    assert classify_address(address) == rule
    with pytest.raises(SsrfBlocked) as caught:
        SsrfGuard().check(address)
    assert caught.value.rule == rule
    assert caught.value.address in str(caught.value)
    assert rule.split("-")[0] in str(caught.value)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert classify_address(address) is None
    SsrfGuard().check(address)


def test_rules_cover_every_category() -> None:
    assert {rule for _, rule in CASES} == set(RULES)


@pytest.mark.parametrize(("address", "rule"), [c for c in CASES if c[1] != "metadata"])
def test_allow_private_lifts_every_rule_but_metadata(address: str, rule: str) -> None:
    assert SsrfGuard(allow_private=True).rule_for(address) is None


def test_metadata_stays_blocked_with_allow_private_and_an_allowlist_lifts_it() -> None:
    for address in ("169.254.169.254", "fd00:ec2::254"):
        assert SsrfGuard(allow_private=True).rule_for(address) == "metadata"
    guard = SsrfGuard(allow=["169.254.169.254/32", "fd00:ec2::/32"])
    assert guard.rule_for("169.254.169.254") is None
    assert guard.rule_for("fd00:ec2::254") is None
    assert guard.rule_for("169.254.169.253") == "link-local"


def test_allowlist_lifts_only_the_networks_it_names() -> None:
    guard = SsrfGuard(allow=["10.0.0.0/8"])
    assert guard.rule_for("10.9.9.9") is None
    assert guard.rule_for("192.168.0.1") == "private"
    assert guard.rule_for("::1") == "loopback"


def test_bad_cidr_and_bad_address_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="not a CIDR"):
        parse_cidrs(["10.0.0.0/33"])
    with pytest.raises(ConfigError, match="not an IP address"):
        SsrfGuard().check("not-an-ip")


def test_literal_url_host_is_checked_early_and_names_are_left_for_connect_time() -> None:
    guard = SsrfGuard(resolver=_no_dns)
    with pytest.raises(SsrfBlocked, match="metadata"):
        guard.check_url_host("169.254.169.254")
    with pytest.raises(SsrfBlocked, match="loopback"):
        guard.check_url_host("[::1]")
    guard.check_url_host("hooks.example.test")  # not resolved here


def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    async def mixed(host: str, port: int) -> Sequence[str]:
        return ["93.184.216.34", "10.0.0.1"]

    with pytest.raises(SsrfBlocked, match=r"hooks\.test \(10\.0\.0\.1\).*private"):
        asyncio.run(SsrfGuard(resolver=mixed).resolve("hooks.test", 443))


async def _ok(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"reached"})  # type: ignore[operator]


@pytest.fixture(scope="module")
def server() -> LiveServer:
    with LiveServer(_ok) as live:
        yield live  # type: ignore[misc]


async def _post(guard: SsrfGuard, url: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=guarded_transport(guard)) as client:
        return await client.post(url, content=b"{}")


def test_connect_time_check_blocks_a_name_resolving_to_loopback(server: LiveServer) -> None:
    async def to_loopback(host: str, port: int) -> Sequence[str]:
        return ["127.0.0.1"]

    url = f"http://hooks.example.test:{server.port}/"
    with pytest.raises(SsrfBlocked) as caught:
        asyncio.run(_post(SsrfGuard(resolver=to_loopback), url))
    assert "hooks.example.test (127.0.0.1)" in str(caught.value)
    assert caught.value.rule == "loopback"
    answer = asyncio.run(_post(SsrfGuard(allow_private=True, resolver=to_loopback), url))
    assert answer.text == "reached"  # connected to the address it checked, not a new lookup


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_literal_loopback_targets_are_blocked_at_connect(server: LiveServer, host: str) -> None:
    with pytest.raises(SsrfBlocked, match="loopback"):
        asyncio.run(_post(SsrfGuard(resolver=_no_dns), f"http://{host}:{server.port}/"))


def test_dns_rebinding_cannot_pass_the_check(server: LiveServer) -> None:
    """Each connection resolves once and connects to the address it checked: an answer
    that changes to a private address is refused, never connected to."""
    answers = [["127.0.0.1"], ["10.0.0.1"]]
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        return answers[min(len(calls), 2) - 1]

    guard = SsrfGuard(allow=["127.0.0.1/32"], resolver=rebinding)
    url = f"http://rebind.example.test:{server.port}/"
    assert asyncio.run(_post(guard, url)).text == "reached"
    with pytest.raises(SsrfBlocked, match=r"10\.0\.0\.1.*private"):
        asyncio.run(_post(guard, url))
    assert calls == ["rebind.example.test"] * 2


def test_redirects_are_not_followed_through_the_guard(server: LiveServer) -> None:
    async def redirect(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 302,  # type: ignore[operator]
                    "headers": [(b"location", b"http://169.254.169.254/latest/")]})
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    with LiveServer(redirect) as live:
        answer = asyncio.run(_post(SsrfGuard(allow_private=True), live.url + "/"))
    assert answer.status_code == 302
