"""Mail: a real SMTP server receives thank-you mails and certificates; retries; never twice."""

from __future__ import annotations

import io
import re
import socket

import pytest
from PIL import Image
from pypdf import PdfReader

from room import events as ev
from room.audience import certificates, follow_up
from room.event_settings import SettingsChange
from room.keys import MAIL_DUE
from room.types import AccessMode, Role
from signaling.socket.audience import AUDIENCE
from tests.helpers import http
from tests.room.audience.helpers import body_of, read_outbox, wait_for_mail
from tests.room.audience.smtp import SmtpServer


def png(colour: str, size: tuple[int, int] = (40, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


PNG = png("red")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def smtp():
    server = await SmtpServer().start()
    yield server
    await server.stop()


async def registration_event(server, certificate=True):
    account, key = await server.account()
    event = await server.event(
        account,
        title="Webinar Ümlaut",
        access_mode=AccessMode.REGISTRATION,
        settings=SettingsChange(
            registration_fields=[{"id": "company", "label": "Company", "required": True}],
            certificate={
                "enabled": certificate,
                "colour": "#112233",
                "accent": "#cc3300",
                "signer": "Dr. Ida Signer",
            },
        ),
    )
    return account, key, event


async def test_event_end_mails_presenters_and_certifies_attendees(make_server, smtp):
    server = await make_server(smtp_url=smtp.url, mail_from="events@acme.test")
    _account, key, event = await registration_event(server)
    base = f"{server.url}/api/v1"
    for kind, image in (("logo", png("navy", (120, 60))), ("signature", png("black"))):
        status, _ = await http(
            "PUT", f"{base}/events/{event.id}/certificate/{kind}", key, data=image
        )
        assert status == 200
    await ev.invite(
        server.tribune.store,
        event,
        ev.InvitationCreate(role=Role.PRESENTER, name="Pat Presenter", email="pat@acme.test"),
    )
    regs = {}
    for name, email in [("Zoë Attendee", "zoe@example.org"), ("Nemo Absent", "nemo@example.org")]:
        status, body = await http(
            "POST",
            f"{base}/public/events/{event.id}/registrations",
            json={"email": email, "name": name, "answers": {"company": "Zeta Corp"}},
        )
        assert status == 201 and body["certificate"] is True
        regs[email] = body
    await smtp.inbox.wait(2)
    welcome = smtp.inbox.to("zoe@example.org")[0]
    assert regs["zoe@example.org"]["link"] in body_of(welcome)
    assert "certificate of attendance will be sent" in body_of(welcome)

    token = regs["zoe@example.org"]["link"].split("#t=", 1)[1]
    zoe = await server.client(token)
    _org_inv, org_token = await server.invite(event, "organizer")
    org = await server.client(org_token)
    assert (await org.call("event.start"))["ok"]
    assert (await org.call("event.end"))["ok"]
    messages = await smtp.inbox.wait(4)
    thanks = smtp.inbox.to("pat@acme.test")
    assert len(thanks) == 1 and "Thank you for presenting" in thanks[0]["Subject"]
    text = body_of(thanks[0])
    assert "Visitors: 2" in text and "Peak concurrent: 2" in text
    [cert_mail] = [m for m in smtp.inbox.to("zoe@example.org") if "certificate" in m["Subject"]]
    [attachment] = list(cert_mail.iter_attachments())
    assert attachment.get_filename() == "certificate.pdf"
    pdf = PdfReader(io.BytesIO(attachment.get_content()))
    page_text = pdf.pages[0].extract_text()
    assert "Zoë Attendee" in page_text and "Webinar Ümlaut" in page_text
    assert "Zeta Corp" in page_text and "Dr. Ida Signer" in page_text
    assert len(pdf.pages[0].images) == 2  # logo and signature
    assert not [m for m in smtp.inbox.to("nemo@example.org") if "certificate" in m["Subject"]]

    # The organizer finds the certificate in the statistics and downloads it again
    status, listed = await http("GET", f"{base}/events/{event.id}/certificates", key)
    [cert] = listed["certificates"]
    assert cert["email"] == "zoe@example.org"
    web_status, pdf_again = await _download(server.url + cert["url"], key)
    assert web_status == 200 and pdf_again == attachment.get_content()

    # Running the after-event work again sends nothing new
    d = server.app[AUDIENCE]
    again = await follow_up.after_event(server.tribune.store, d.mail, event.id, geo=False)
    assert again == {"presenters": 0, "certificates": 0}
    assert await d.mail.deliver_due() == 0
    assert len(smtp.inbox.messages) == len(messages) == 4
    await zoe.close()
    await org.close()


async def _download(url, key):
    import aiohttp

    async with (
        aiohttp.ClientSession() as s,
        s.get(url, headers={"Authorization": f"Bearer {key}"}) as r,
    ):
        return r.status, await r.read()


async def test_a_failing_mail_server_never_blocks_ending(make_server):
    server = await make_server(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    s = await server.setup()
    await ev.invite(
        server.tribune.store,
        s.event,
        ev.InvitationCreate(role=Role.PRESENTER, name="Pat", email="pat@acme.test"),
    )
    org = await s.join("organizer")
    assert (await org.call("event.end")) == {"ok": True, "state": "ended"}
    outbox = server.app[AUDIENCE].mail
    key = f"thanks:{s.event.id}:pat@acme.test"
    for _ in range(200):
        msg = await outbox.get(key)
        if msg is not None and msg.attempts:
            break
        await __import__("asyncio").sleep(0.05)
    assert msg is not None and msg.attempts == 1 and msg.sent_at is None and not msg.failed
    assert await server.tribune.store.zcard(MAIL_DUE) == 1  # waiting for its retry
    await org.close()


async def test_without_smtp_the_registration_mail_lands_in_the_outbox(mem_server):
    _account, _key, event = await registration_event(mem_server, certificate=False)
    status, body = await http(
        "POST",
        f"{mem_server.url}/api/v1/public/events/{event.id}/registrations",
        json={"email": "ann@example.org", "name": "Ann", "answers": {"company": "A"}},
    )
    assert status == 201 and body["certificate"] is False
    [msg] = await wait_for_mail(mem_server, "ann@example.org")
    assert body["link"] in body_of(msg) and "certificate" not in body_of(msg)
    # registering again: refused, and the link is sent once more
    status, again = await http(
        "POST",
        f"{mem_server.url}/api/v1/public/events/{event.id}/registrations",
        json={"email": "ANN@example.org", "name": "Ann", "answers": {"company": "A"}},
    )
    assert status == 409 and "already registered" in again["error"]["message"]
    msgs = await wait_for_mail(mem_server, "ann@example.org", count=2)
    tokens = mem_server.tribune.tokens
    first = tokens.verify(body["link"].split("#t=")[1])
    for m in msgs:  # the same invitation (the token's issue time may differ)
        sent = re.search(r"#t=(\S+)", body_of(m))
        assert sent and tokens.verify(sent.group(1)) == first
    assert len(read_outbox(mem_server)) == 2


async def test_certificate_images_are_checked(mem_server):
    _account, key, event = await registration_event(mem_server)
    url = f"{mem_server.url}/api/v1/events/{event.id}/certificate"
    status, body = await http("PUT", f"{url}/logo", key, data=b"GIF89a....")
    assert status == 400 and "PNG or JPEG" in body["error"]["message"]
    status, body = await http("PUT", f"{url}/logo", key, data=PNG[:30])
    assert status == 400
    big = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024))
    status, body = await http("PUT", f"{url}/logo", key, data=big)
    assert status == 400 and "1 MB" in body["error"]["message"]
    status, body = await http("PUT", f"{url}/stamp", key, data=PNG)
    assert status == 404
    assert (
        await certificates.get_image(
            mem_server.tribune.store, event.id, certificates.ImageKind.LOGO
        )
        is None
    )
