"""Test documents made on the fly: a PDF of coloured pages and small images."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

COLOURS = ["red", "green", "blue", "yellow"]


def pdf(pages: int = 3, size: tuple[int, int] = (800, 600)) -> bytes:
    imgs = []
    for i in range(pages):
        img = Image.new("RGB", size, COLOURS[i % len(COLOURS)])
        ImageDraw.Draw(img).text((20, 20), f"slide {i + 1}", fill="white")
        imgs.append(img)
    out = io.BytesIO()
    imgs[0].save(out, "PDF", save_all=True, append_images=imgs[1:], resolution=72)
    return out.getvalue()


def png(colour: str = "purple", size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, "PNG")
    return out.getvalue()


def colour_of(jpeg: bytes) -> tuple[int, int, int]:
    img = Image.open(io.BytesIO(jpeg)).convert("RGB")
    return img.getpixel((img.width // 2, img.height - 5))  # type: ignore[return-value]
