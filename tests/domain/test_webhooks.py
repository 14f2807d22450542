"""Webhooks' pure rules: which URLs a hook may have, which addresses it may reach, event names, the schedule."""

from __future__ import annotations

import pytest

from tickets_mcp.domain.webhooks import (
    ALL_EVENTS,
    EventType,
    Schedule,
    Targets,
    check_url,
    origin,
    parse_event_types,
    parse_networks,
    signature,
)
from tickets_mcp.errors import Invalid


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://hooks.example.com/x", "http:// or https://"),
        ("https://", "http:// or https://"),
        ("https://user:hunter2@hooks.example.com/x", "user name or password"),
        ("https://hooks.example.com/x#part", "fragment"),
        ("https://hooks.example.com:0/x", "Port 0"),
        ("https://hooks.example.com:99999/x", "does not parse"),
        ("https://hooks.example.com/a b", "without spaces"),
        ("http://127.0.0.1:8080/x", "127.0.0.1 is a loopback address"),
        ("http://[::1]/x", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/x", "127.0.0.1 is a loopback address"),
        ("http://localhost:8080/x", "localhost names this machine"),
        ("http://api.localhost/x", "api.localhost names this machine"),
        ("http://10.1.2.3/x", "10.1.2.3 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("http://0.0.0.0/x", "0.0.0.0 is a"),
        ("http://224.0.0.1/x", "224.0.0.1 is a multicast address"),
        ("http://2130706433/x", "2130706433 is 127.0.0.1"),  # older spellings resolvers still read
        ("http://0x7f000001/x", "0x7f000001 is 127.0.0.1"),
        ("http://127.1/x", "127.1 is 127.0.0.1"),
        ("http://0177.0.0.1:8999/x", "0177.0.0.1 is 127.0.0.1"),
    ],
)
def test_a_url_a_hook_may_not_have_is_refused_saying_why_without_echoing_credentials(url: str, words: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_url(url, Targets())
    assert words in str(refused.value) and "hunter2" not in str(refused.value)


def test_public_urls_and_names_pass_the_check_and_names_are_left_for_delivery_to_resolve() -> None:
    for url in ("https://hooks.example.com/tickets?team=web", "http://93.184.216.34:8080/x", "https://intranet/x"):
        assert check_url(f"  {url} ", Targets()) == url


def test_an_operator_allowing_a_network_lets_hooks_reach_it_and_nothing_beside_it() -> None:
    targets = Targets(parse_networks(["10.1.2.0/24", "127.0.0.1"]))
    assert targets.refusal("10.1.2.9") is None and targets.refusal("127.0.0.1") is None
    assert targets.refusal("10.1.3.9") is not None and targets.refusal("127.0.0.2") is not None
    assert check_url("http://localhost:8080/x", targets) == "http://localhost:8080/x"
    with pytest.raises(Invalid, match="is not a network"):
        parse_networks(["10.1.2.0/33"])


def test_event_names_take_the_short_form_and_all_and_refuse_a_typo_with_the_closest() -> None:
    assert parse_event_types(["moved", "ticket.commented"]) == {EventType.MOVED, EventType.COMMENTED}
    assert parse_event_types([]) == parse_event_types(["all"]) == parse_event_types([" "]) == ALL_EVENTS
    with pytest.raises(Invalid, match=r"ticket\.created"):
        parse_event_types(["craeted"])


def test_waits_double_from_the_first_up_to_the_longest_and_jitter_takes_up_to_half_off() -> None:
    schedule = Schedule(first_wait=30, longest_wait=100)
    assert [schedule.wait(n, 1.0) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]
    assert schedule.wait(1, 0.0) == 15 and schedule.wait(2, 0.5) == 45


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex() -> None:
    # Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
    assert signature("whsec_test", 1700000000, b'{"a":1}') == (
        "v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
    )


def test_logs_name_a_hooks_origin_never_its_path_query_or_credentials() -> None:
    assert origin("https://u:p@hooks.example.com:8443/T0/B1/secret?token=x") == "https://hooks.example.com:8443"
