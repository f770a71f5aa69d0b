"""The client address behind TRUSTED_PROXY_COUNT proxies: whatever the client writes into
X-Forwarded-For, the address the limits count is the one our nearest-to-client proxy saw."""

from __future__ import annotations

import ipaddress

from allauth.account.adapter import get_adapter
from django.test import RequestFactory, override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

# What a client can put in the header: anything printable, commas and fake addresses included.
client_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200
) | st.lists(st.ip_addresses().map(str), max_size=5).map(", ".join)
addresses = st.ip_addresses(v=4).map(str)


def _resolved(xff: str | None, remote: str, count: int) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": xff} if xff is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **extra)
    with override_settings(TRUSTED_PROXY_COUNT=count, ALLAUTH_TRUSTED_PROXY_COUNT=count):
        return get_adapter(request).get_client_ip(request)


@settings(max_examples=200, deadline=None)
@given(forged=client_text, real=addresses)
def test_one_proxy_the_rightmost_entry_counts(forged, real):
    # Our proxy appends the peer it saw (nginx: $proxy_add_x_forwarded_for).
    chain = f"{forged}, {real}" if forged else real
    assert _resolved(chain, "10.0.0.1", 1) == real


@settings(max_examples=200, deadline=None)
@given(forged=client_text, real=addresses, first_proxy=addresses)
def test_two_proxies_the_second_from_the_right_counts(forged, real, first_proxy):
    # The load balancer appends the client; nginx appends the load balancer.
    chain = (f"{forged}, " if forged else "") + f"{real}, {first_proxy}"
    assert _resolved(chain, "10.0.0.2", 2) == real


@settings(max_examples=100, deadline=None)
@given(forged=client_text, peer=addresses)
def test_no_proxy_the_header_is_ignored(forged, peer):
    assert _resolved(forged or None, peer, 0) == peer


def test_ipv6_addresses_are_counted_by_their_64_prefix():
    """allauth groups IPv6 clients by /64 (one customer's whole network), see
    ALLAUTH_RATE_LIMIT_IPV6_PREFIX."""
    from allauth.core.internal.ratelimit import truncate_ip

    a = _resolved("2001:db8:1:2:aaaa::1", "10.0.0.1", 1)
    b = _resolved("2001:db8:1:2:bbbb::9", "10.0.0.1", 1)
    assert ipaddress.ip_address(a).version == 6
    assert truncate_ip(a) == truncate_ip(b) == "2001:db8:1:2::"
