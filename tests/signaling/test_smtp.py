"""SMTP transport URLs: schemes, ports, credentials."""

from __future__ import annotations

import os
import stat
from email.message import EmailMessage

import pytest

from signaling.smtp import DirectoryTransport, SmtpTransport


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


async def test_mail_files_are_private(tmp_path):
    """The outbox holds sign-in links: only the server's user may read them."""
    outbox = tmp_path / "outbox"
    outbox.mkdir(mode=0o755)
    os.chmod(outbox, 0o755)
    msg = EmailMessage()
    msg["To"], msg["Subject"] = "ada@example.org", "Your sign-in link"
    msg.set_content("secret link")
    old = os.umask(0o022)
    try:
        await DirectoryTransport(outbox).send(msg)
    finally:
        os.umask(old)
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    [mail] = list(outbox.iterdir())
    assert mail.suffix == ".eml" and stat.S_IMODE(mail.stat().st_mode) == 0o600
