"""SMTP transport URLs: schemes, ports, credentials."""

from __future__ import annotations

import pytest

from signaling.smtp import SmtpTransport


def test_smtp_urls():
    t = SmtpTransport("smtps://user%40x:p%3Ass@mail.example:2465")
    assert (t.hostname, t.port, t.tls, t.username, t.password) == (
        "mail.example",
        2465,
        True,
        "user@x",
        "p:ss",
    )
    assert SmtpTransport("smtp://mail.example").port == 25
    with pytest.raises(Exception, match="smtp-url"):
        SmtpTransport("http://mail.example")
