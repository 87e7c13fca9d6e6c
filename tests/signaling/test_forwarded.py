"""The client's address behind reverse proxies: X-Forwarded-For only from trusted peers."""

from __future__ import annotations

import pytest

from signaling.forwarded import client_address, networks

PROXIES = networks(["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # an untrusted peer: its header is ignored, whatever it says
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("203.0.113.9", [], "203.0.113.9"),
        # a trusted proxy: the address it appended
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        # the client wrote the left part himself: the right-most untrusted hop counts
        ("10.0.0.2", ["1.2.3.4, 198.51.100.1"], "198.51.100.1"),
        # a chain of trusted proxies is walked through, also over several headers
        ("10.0.0.2", ["1.2.3.4, 198.51.100.1, 10.0.0.7", "10.9.9.9"], "198.51.100.1"),
        # only proxies in the header: the left-most of them
        ("10.0.0.2", ["10.0.0.5, 10.0.0.6"], "10.0.0.5"),
        # a trusted proxy that sent no header: itself
        ("10.0.0.2", [], "10.0.0.2"),
        # garbage stops the walk at the last real hop
        ("10.0.0.2", ["not-an-address, 10.0.0.6"], "10.0.0.6"),
        ("10.0.0.2", ["198.51.100.1, nonsense"], "10.0.0.2"),
        # ports and brackets as some proxies write them; IPv6; v4-mapped peers
        ("10.0.0.2", ["198.51.100.1:5555"], "198.51.100.1"),
        ("10.0.0.2", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("fd00::1", ["2001:db8::2"], "2001:db8::2"),
        ("::ffff:10.0.0.2", ["198.51.100.3"], "198.51.100.3"),
        ("unknown", ["198.51.100.1"], "unknown"),
    ],
)
def test_the_client_is_the_right_most_untrusted_hop(peer, forwarded, client):
    assert client_address(peer, forwarded, PROXIES) == client


def test_nothing_is_trusted_by_default():
    assert client_address("10.0.0.2", ["198.51.100.1"], ()) == "10.0.0.2"


def test_a_network_that_is_not_one_is_named():
    with pytest.raises(ValueError, match="nope"):
        networks(["10.0.0.0/8", "nope"])
