"""Certificates of attendance (R-CERT): issued once per registrant who attended, as a PDF.

The organizer sets colours and the signer's name in `event.settings.certificate`
and uploads a logo and a signature image (kept under their own keys, not in the
event record every join reads). A certificate record is issued once per e-mail
(`hsetnx`); its PDF is drawn again on demand from the record, identically.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
from enum import StrEnum
from functools import cache

import msgspec
from msgspec import UNSET
from reportlab.lib.colors import HexColor, white  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped, unused-ignore]

from room import keys
from room.audience.registration import Registration, fields_of
from room.errors import invalid, not_found
from room.event_settings import CertificateSettings
from room.records import Event, decode, encode, new_id, now
from room.store import Store

MAX_IMAGE = 1024 * 1024


class ImageKind(StrEnum):
    LOGO = "logo"
    SIGNATURE = "signature"


class Certificate(msgspec.Struct):
    id: str
    event_id: str
    email: str
    name: str
    answers: dict[str, str | bool]
    seconds: float
    issued_at: float


def settings_of(event: Event) -> CertificateSettings:
    cert = event.settings.certificate
    return CertificateSettings() if cert is UNSET else cert


async def issue(store: Store, event: Event, reg: Registration, seconds: float) -> Certificate:
    """The registrant's certificate, issued now or the one issued before (never two)."""
    cert = Certificate(
        id=new_id("crt"),
        event_id=event.id,
        email=reg.email,
        name=reg.name,
        answers=dict(reg.answers),
        seconds=seconds,
        issued_at=now(),
    )
    if await store.hsetnx(keys.certificates_by_email(event.id), reg.email, cert.id.encode()):
        await store.hset(keys.certificates(event.id), cert.id, encode(cert))
        return cert
    existing = await store.hget(keys.certificates_by_email(event.id), reg.email)
    assert existing is not None
    found = await store.hget(keys.certificates(event.id), existing.decode())
    if found is None:  # the issuer crashed between the two writes: finish its work
        cert.id = existing.decode()
        await store.hset(keys.certificates(event.id), cert.id, encode(cert))
        return cert
    return decode(found, Certificate)


async def load(store: Store, event_id: str, cert_id: str) -> Certificate:
    raw = await store.hget(keys.certificates(event_id), cert_id)
    if raw is None:
        raise not_found("certificate")
    return decode(raw, Certificate)


async def issued(store: Store, event_id: str) -> list[Certificate]:
    raws = (await store.hgetall(keys.certificates(event_id))).values()
    return sorted((decode(r, Certificate) for r in raws), key=lambda c: (c.issued_at, c.email))


def sniff_image(data: bytes) -> str:
    """The image's media type (PNG or JPEG only), or `invalid`."""
    if len(data) > MAX_IMAGE:
        raise invalid("the image is larger than 1 MB", "image")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        kind = "image/jpeg"
    else:
        raise invalid("send a PNG or JPEG image", "image")
    try:
        ImageReader(io.BytesIO(data)).getSize()
    except Exception:
        raise invalid("the image could not be read", "image") from None
    return kind


def image_keys(event_id: str) -> list[str]:
    """The keys of the event's certificate images (deleted with the event)."""
    return [keys.certificate_image(event_id, kind.value) for kind in ImageKind]


async def set_image(store: Store, event_id: str, kind: ImageKind, data: bytes) -> None:
    await asyncio.to_thread(sniff_image, data)
    await store.set(keys.certificate_image(event_id, kind.value), data)


async def get_image(store: Store, event_id: str, kind: ImageKind) -> bytes | None:
    return await store.get(keys.certificate_image(event_id, kind.value))


async def render(store: Store, event: Event, cert: Certificate) -> bytes:
    """The certificate as PDF bytes (drawn in a worker thread)."""
    logo = await get_image(store, event.id, ImageKind.LOGO)
    signature = await get_image(store, event.id, ImageKind.SIGNATURE)
    labels = {f.id: f.label for f in fields_of(event)}
    return await asyncio.to_thread(draw, event, cert, settings_of(event), labels, logo, signature)


def _event_date(event: Event) -> str:
    at = event.started_at or event.scheduled_start or event.created
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%d %B %Y")


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{minutes // 60} h {minutes % 60:02d} min"


_UNSAFE = re.compile(r"[\x00-\x1f]")

_FONT_FILES = {
    # DejaVu (Debian's fonts-dejavu-core) covers Latin, Greek and Cyrillic names;
    # reportlab's bundled Vera is the fallback.
    "regular": ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "Vera.ttf"],
    "bold": ["/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "VeraBd.ttf"],
}


@cache
def _fonts() -> tuple[str, str]:
    """Register the certificate's Unicode fonts once; (regular, bold) font names."""
    names = []
    for style, candidates in _FONT_FILES.items():
        name = f"Certificate-{style}"
        for path in candidates:
            try:
                pdfmetrics.registerFont(TTFont(name, path))
                break
            except Exception:
                continue
        else:
            name = "Helvetica-Bold" if style == "bold" else "Helvetica"
        names.append(name)
    return names[0], names[1]


def draw(
    event: Event,
    cert: Certificate,
    style: CertificateSettings,
    labels: dict[str, str],
    logo: bytes | None,
    signature: bytes | None,
) -> bytes:
    """Draw one certificate on a landscape A4 page."""
    buf = io.BytesIO()
    width, height = landscape(A4)
    colour = HexColor(style.colour)
    accent = HexColor(style.accent)
    regular, bold = _fonts()
    c = Canvas(buf, pagesize=(width, height), invariant=True)
    c.setTitle(f"Certificate of attendance - {_clean(cert.name)}")
    c.setAuthor("Tribune")
    c.setSubject(_clean(event.title))

    c.setFillColor(accent)
    c.rect(0, height - 28, width, 28, stroke=0, fill=1)
    c.rect(0, 0, width, 14, stroke=0, fill=1)
    c.setStrokeColor(colour)
    c.setLineWidth(2)
    c.rect(24, 30, width - 48, height - 74, stroke=1, fill=0)

    if logo:
        img = ImageReader(io.BytesIO(logo))
        w, h = img.getSize()
        scale = min(160 / w, 70 / h)
        c.drawImage(img, 48, height - 60 - h * scale, w * scale, h * scale, mask="auto")

    y = height - 150
    c.setFillColor(colour)
    c.setFont(bold, 30)
    c.drawCentredString(width / 2, y, "Certificate of attendance")
    y -= 44
    c.setFont(regular, 14)
    c.drawCentredString(width / 2, y, "This certifies that")
    y -= 36
    c.setFillColor(accent)
    c.setFont(bold, 26)
    c.drawCentredString(width / 2, y, _clean(cert.name)[:80])
    y -= 20
    c.setFillColor(colour)
    c.setFont(regular, 11)
    c.drawCentredString(width / 2, y, _clean(cert.email))
    y -= 32
    c.setFont(regular, 14)
    c.drawCentredString(width / 2, y, "attended")
    y -= 28
    c.setFont(bold, 18)
    c.drawCentredString(width / 2, y, _clean(event.title)[:90])
    y -= 24
    c.setFont(regular, 13)
    c.drawCentredString(width / 2, y, f"on {_event_date(event)}, for {_duration(cert.seconds)}")

    details = [
        f"{_clean(labels.get(k, k))[:60]}: {_answer(v)}"
        for k, v in cert.answers.items()
        if v not in ("", False)
    ]
    if details:
        y -= 30
        c.setFont(regular, 10)
        for line in details[:6]:
            c.drawCentredString(width / 2, y, line[:120])
            y -= 14

    base = 62
    if signature:
        img = ImageReader(io.BytesIO(signature))
        w, h = img.getSize()
        scale = min(170 / w, 60 / h)
        c.drawImage(img, width - 250, base + 18, w * scale, h * scale, mask="auto")
    c.setStrokeColor(colour)
    c.setLineWidth(0.8)
    c.line(width - 260, base + 14, width - 60, base + 14)
    c.setFont(regular, 10)
    c.drawString(width - 260, base, _clean(style.signer)[:60] or "The organizer")
    c.setFillColor(colour)
    c.setFont(regular, 8)
    c.drawString(48, base, f"Certificate {cert.id}")
    c.setFillColor(white)
    c.showPage()
    c.save()
    return buf.getvalue()


def _clean(text: str) -> str:
    return _UNSAFE.sub(" ", text)


def _answer(value: str | bool) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _clean(value)[:80]
