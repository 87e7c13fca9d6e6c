"""Turn an uploaded PDF or image into slide images (JPEG), with pypdfium2 and Pillow.

Blocking and CPU-bound: call it in a worker thread. PDFium is not thread-safe,
so one lock serialises every use of it in the process.
"""

from __future__ import annotations

import io
import threading

import pypdfium2 as pdfium  # type: ignore[import-untyped, unused-ignore]
from PIL import Image

from moderation.limits import LIMITS, Limits
from room.errors import invalid

_pdfium = threading.Lock()

PDF_MAGIC = b"%PDF-"
JPEG_QUALITY = 85


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(PDF_MAGIC)


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


def render_pdf(data: bytes, limits: Limits = LIMITS) -> list[bytes]:
    """Every page of a PDF, `limits.slide_width` pixels across."""
    with _pdfium:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            raise invalid("this PDF cannot be read", "file") from None
        try:
            if len(pdf) == 0:
                raise invalid("this PDF has no pages", "file")
            if len(pdf) > limits.slides_per_deck:
                raise invalid(f"at most {limits.slides_per_deck} slides", "file")
            out = []
            for i in range(len(pdf)):
                page = pdf[i]
                try:
                    w, h = page.get_size()
                    if w <= 0 or h <= 0:
                        raise invalid(f"page {i + 1} has no size", "file")
                    scale = limits.slide_width / w
                    if w * h * scale * scale > limits.slide_max_pixels:
                        raise invalid(f"page {i + 1} is too tall", "file")
                    bitmap = page.render(scale=scale)
                    out.append(_jpeg(bitmap.to_pil()))
                finally:
                    page.close()
            return out
        finally:
            pdf.close()


def render_image(data: bytes, limits: Limits = LIMITS) -> bytes:
    """An uploaded image re-encoded as JPEG, no wider than a slide (metadata dropped)."""
    img: Image.Image
    try:
        img = Image.open(io.BytesIO(data))
        w, h = img.size
    except (OSError, ValueError, Image.DecompressionBombError):
        raise invalid("this file is neither a PDF nor an image", "file") from None
    if w * h > limits.slide_max_pixels or w <= 0 or h <= 0:
        raise invalid("this image is too large", "file")
    try:
        img.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        raise invalid("this image cannot be read", "file") from None
    if w > limits.slide_width:
        img = img.resize((limits.slide_width, max(1, round(h * limits.slide_width / w))))
    return _jpeg(img)


def render(files: list[bytes], limits: Limits = LIMITS) -> list[bytes]:
    """Slides from uploaded files in order: each PDF gives its pages, each image one slide."""
    slides: list[bytes] = []
    for data in files:
        slides.extend(render_pdf(data, limits) if is_pdf(data) else [render_image(data, limits)])
        if len(slides) > limits.slides_per_deck:
            raise invalid(f"at most {limits.slides_per_deck} slides", "file")
    if not slides:
        raise invalid("upload a PDF or at least one image", "file")
    return slides
