"""Downloadable pictures of a comparison: flicker animations, a labelled strip, difference maps.

Frames are stored losslessly (animated WebP or APNG), so what a viewer sees
alternating is exactly the decoded pixels.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import InputError


def flicker(original: Image.Image, decoded: Image.Image, interval_ms: int = 500, fmt: str = "webp") -> bytes:
    """A looping two-frame animation, original ↔ decoded, with lossless frames.

    ``fmt`` is ``"webp"`` (animated lossless WebP) or ``"png"`` (APNG).
    """
    if original.size != decoded.size:
        raise InputError(f"flicker frames differ in size: {original.size} vs {decoded.size}")
    if not 20 <= interval_ms <= 10_000:
        raise InputError(f"flicker interval must be 20..10000 ms, got {interval_ms}")
    frames = [original.convert("RGB"), decoded.convert("RGB")]
    buffer = io.BytesIO()
    if fmt == "webp":
        frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=interval_ms, loop=0,
                       lossless=True, quality=100, method=4, exact=True)
    elif fmt == "png":
        frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:], duration=interval_ms, loop=0)
    else:
        raise InputError(f"flicker format must be webp or png, got {fmt!r}")
    return buffer.getvalue()


def difference_map(original: Image.Image, decoded: Image.Image, gain: float = 4.0) -> Image.Image:
    """|original − decoded| per channel, amplified by ``gain``: where a codec changed the image."""
    a = np.asarray(original.convert("RGB"), dtype=np.int16)
    b = np.asarray(decoded.convert("RGB"), dtype=np.int16)
    if a.shape != b.shape:
        raise InputError(f"images differ in size: {original.size} vs {decoded.size}")
    return Image.fromarray(np.clip(np.abs(a - b) * gain, 0, 255).astype(np.uint8), "RGB")


def side_by_side(tiles: list[tuple[Image.Image, str]], max_tile_width: int | None = None) -> Image.Image:
    """A horizontal strip of images with a caption under each (captions may hold newlines)."""
    if not tiles:
        raise InputError("nothing to put side by side")
    images = [image.convert("RGB") for image, _ in tiles]
    if max_tile_width and images[0].width > max_tile_width:
        scale = max_tile_width / images[0].width
        images = [im.resize((max_tile_width, max(1, round(im.height * scale))), Image.Resampling.LANCZOS)
                  for im in images]
    font = ImageFont.load_default(size=max(12, min(22, images[0].width // 28)))
    line = font.getbbox("Ag")[3] + 4
    caption_h = line * max(caption.count("\n") + 1 for _, caption in tiles) + 8
    gap = 8
    width = sum(im.width for im in images) + gap * (len(images) + 1)
    height = max(im.height for im in images) + caption_h + 2 * gap
    strip = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    x = gap
    for image, (_, caption) in zip(images, tiles):
        strip.paste(image, (x, gap))
        draw.multiline_text((x, gap + image.height + 4), caption, fill=(20, 20, 20), font=font, spacing=4)
        x += image.width + gap
    return strip


def comparison_strip(comparison, max_tile_width: int | None = 512) -> Image.Image:
    """The original and every decoded result of a :class:`~sdweb.compare.Comparison`, labelled."""
    tiles = [(comparison.original, f"original\n{comparison.width}x{comparison.height}")]
    for r in comparison.results:
        psnr = r.scores.get("psnr")
        ss2 = r.scores.get("ssimulacra2")
        flag = " (over target)" if r.over_target else ""
        tiles.append((r.decoded, f"{r.label}{flag}\n{r.size:,} bytes · {psnr:.2f} dB\nSSIMULACRA 2: {ss2:.1f}"))
    return side_by_side(tiles, max_tile_width)


def png_bytes(image: Image.Image) -> bytes:
    """``image`` as PNG file bytes."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
