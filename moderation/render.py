"""Turn an uploaded PDF or image into slide images (JPEG), with pypdfium2 and Pillow.

Blocking and CPU-bound: call it in a worker thread. PDFium is not thread-safe,
so one lock serialises every use of it in the process.

Only PDF, PNG and JPEG are accepted, told apart by their first bytes (Pillow is
allowed to open PNG and JPEG only). One upload is bounded by the limits of
`moderation.limits`: the slide count, the pixels of each page, the bytes of
all rendered slides together and a time limit, checked before each page. A
refusal is `invalid` (`field: "file"`) naming the limit.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field

import pypdfium2 as pdfium  # type: ignore[import-untyped, unused-ignore]
from PIL import Image

from moderation.limits import LIMITS, Limits
from room.errors import TribuneError, invalid

_pdfium = threading.Lock()

PDF_MAGIC = b"%PDF-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
IMAGE_FORMATS = ("PNG", "JPEG")
"""What Pillow may open: every other decoder stays out of reach of uploads."""
JPEG_QUALITY = 85

NOT_ACCEPTED = "only PDF, PNG and JPEG files are accepted"


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(PDF_MAGIC)


def is_image(data: bytes) -> bool:
    return data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC)


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n} bytes"


@dataclass
class _Budget:
    """What is left of one upload's limits while its slides are rendered."""

    limits: Limits
    deadline: float = field(init=False)
    slides: int = 0
    size: int = 0

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.limits.slide_render_seconds

    def pixels(self) -> str:
        return f"slides hold at most {self.limits.slide_max_pixels:,} pixels"

    def too_many(self) -> TribuneError:
        return invalid(f"at most {self.limits.slides_per_deck} slides", "file")

    def next_page(self, more: int = 1) -> None:
        """Before rendering `more` slides: refuse past the slide count or the deadline."""
        if self.slides + more > self.limits.slides_per_deck:
            raise self.too_many()
        if time.monotonic() >= self.deadline:
            raise invalid(
                f"rendering took longer than the limit of {self.limits.slide_render_seconds:g}"
                " seconds; upload fewer or simpler pages",
                "file",
            )

    def add(self, jpeg: bytes) -> bytes:
        self.slides += 1
        self.size += len(jpeg)
        if self.size > self.limits.slide_deck_bytes:
            raise invalid(
                "the rendered slides exceed the limit of "
                f"{_size(self.limits.slide_deck_bytes)}; upload fewer or simpler pages",
                "file",
            )
        return jpeg


def _jpeg(img: Image.Image) -> bytes:
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "P"):
            rgba = img.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            img = flat
        else:
            img = img.convert("RGB")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _render_pdf(data: bytes, budget: _Budget) -> list[bytes]:
    limits = budget.limits
    with _pdfium:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            raise invalid("this PDF cannot be read", "file") from None
        try:
            if len(pdf) == 0:
                raise invalid("this PDF has no pages", "file")
            if budget.slides + len(pdf) > limits.slides_per_deck:
                raise budget.too_many()
            out = []
            for i in range(len(pdf)):
                budget.next_page()
                page = pdf[i]
                try:
                    w, h = page.get_size()
                    if w <= 0 or h <= 0:
                        raise invalid(f"page {i + 1} has no size", "file")
                    scale = limits.slide_width / w
                    if w * h * scale * scale > limits.slide_max_pixels:
                        raise invalid(f"page {i + 1} is too tall: {budget.pixels()}", "file")
                    bitmap = page.render(scale=scale)
                    out.append(budget.add(_jpeg(bitmap.to_pil())))
                finally:
                    page.close()
            return out
        finally:
            pdf.close()


def _render_image(data: bytes, budget: _Budget) -> bytes:
    limits = budget.limits
    budget.next_page()
    img: Image.Image
    try:
        img = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
        w, h = img.size
    except (OSError, ValueError, Image.DecompressionBombError):
        raise invalid("this image cannot be read", "file") from None
    if w * h > limits.slide_max_pixels or w <= 0 or h <= 0:
        raise invalid(f"this image is too large: {budget.pixels()}", "file")
    try:
        img.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        raise invalid("this image cannot be read", "file") from None
    if w > limits.slide_width:
        img = img.resize((limits.slide_width, max(1, round(h * limits.slide_width / w))))
    return budget.add(_jpeg(img))


def render_pdf(data: bytes, limits: Limits = LIMITS) -> list[bytes]:
    """Every page of a PDF, `limits.slide_width` pixels across."""
    return _render_pdf(data, _Budget(limits))


def render_image(data: bytes, limits: Limits = LIMITS) -> bytes:
    """An uploaded PNG or JPEG re-encoded as JPEG, no wider than a slide (metadata dropped)."""
    if not is_image(data):
        raise invalid(NOT_ACCEPTED, "file")
    return _render_image(data, _Budget(limits))


def render(files: list[bytes], limits: Limits = LIMITS) -> list[bytes]:
    """Slides from uploaded files in order: each PDF gives its pages, each image one slide."""
    budget = _Budget(limits)
    slides: list[bytes] = []
    for data in files:
        if is_pdf(data):
            slides.extend(_render_pdf(data, budget))
        elif is_image(data):
            slides.append(_render_image(data, budget))
        else:
            raise invalid(NOT_ACCEPTED, "file")
    if not slides:
        raise invalid("upload a PDF or at least one image", "file")
    return slides
