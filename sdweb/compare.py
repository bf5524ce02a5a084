"""Compare codecs on one image at the same file size.

``compare`` encodes the image with every requested codec, decodes each file
and scores the decoded pixels against the original with the one metrics code
path (:func:`sdweb.metrics.evaluate`). By default SD goes first and every
other codec gets SD's *actual* size as its target, so all files weigh the
same; ``match_sd_size=False`` gives every codec the nominal target instead.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PIL import Image

from . import metrics
from .codecs import SD, get_codec
from .errors import InputError
from .images import load_image

DEFAULT_CODECS = ("sd", "jpeg", "webp", "avif", "jxl")


@dataclass
class CodecResult:
    """One codec's file, decoded image, size, metrics and timings."""

    codec: str
    label: str
    extension: str
    data: bytes
    decoded: Image.Image
    setting: str
    over_target: bool
    encode_s: float
    decode_s: float
    scores: dict
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)

    def row(self, width: int, height: int) -> dict:
        """The JSON-able summary of this result (no pixels, no bytes)."""
        return {
            "codec": self.codec,
            "label": self.label,
            "bytes": self.size,
            "bpp": round(metrics.bits_per_pixel(self.size, width, height), 5),
            "compression_ratio": round(metrics.compression_ratio(self.size, width, height), 2),
            "over_target": self.over_target,
            "setting": self.setting,
            **{k: _finite(v) for k, v in self.scores.items()},
            "encode_s": round(self.encode_s, 4),
            "decode_s": round(self.decode_s, 4),
            "notes": self.notes,
        }


@dataclass
class Comparison:
    """The result of :func:`compare`: the original and one CodecResult per codec."""

    original: Image.Image
    target_size: int
    results: list[CodecResult]
    notes: list[str] = field(default_factory=list)
    name: str = "image"

    @property
    def width(self) -> int:
        return self.original.width

    @property
    def height(self) -> int:
        return self.original.height

    def result(self, codec: str) -> CodecResult:
        return next(r for r in self.results if r.codec == codec)

    def report(self) -> dict:
        """The JSON report of the comparison (schema in the README)."""
        return {
            "image": self.name,
            "width": self.width,
            "height": self.height,
            "target_size": self.target_size,
            "notes": self.notes,
            "results": [r.row(self.width, self.height) for r in self.results],
        }


def compare(
    image,
    target_size: int,
    codecs=DEFAULT_CODECS,
    *,
    match_sd_size: bool = True,
    model: str | None = None,
    mode: str = "palette",
    denoise_steps: int | None = None,
    seed: int = 0,
    sd_options: dict | None = None,
    max_pixels: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Encode ``image`` with each of ``codecs`` at ``target_size`` bytes and score the results.

    ``progress(stage)`` is called before each stage (model load, each codec,
    metrics). Raises InputError for a bad image, codec name or target, and
    ModelNotAvailableError when SD is requested but its model cannot load.
    """
    if not isinstance(target_size, (int, np.integer)) or target_size < 1:
        raise InputError(f"target size must be a positive number of bytes, got {target_size!r}")
    codecs = list(dict.fromkeys(codecs))
    if not codecs:
        raise InputError("choose at least one codec")
    say = progress or (lambda stage: None)
    loaded = load_image(image, max_pixels)
    original = loaded.image
    instances = {
        c: get_codec(c, model=model, mode=mode, denoise_steps=denoise_steps, seed=seed, **(sd_options or {}))
        if c == "sd" else get_codec(c)
        for c in codecs
    }
    if "sd" in instances:
        say("loading the SD model")
        instances["sd"].prepare()
        # SD first: its actual size becomes everyone's target.
        codecs = ["sd"] + [c for c in codecs if c != "sd"]
    results: list[CodecResult] = []
    target = int(target_size)
    reference = np.asarray(original)
    for c in codecs:
        codec = instances[c]
        say(f"encoding with {codec.label}")
        start = time.perf_counter()
        encoded = codec.encode(original, target_size=target)
        encode_s = time.perf_counter() - start
        say(f"decoding {codec.label}")
        start = time.perf_counter()
        decoded = codec.decode(encoded.data)
        decode_s = time.perf_counter() - start
        say(f"measuring {codec.label}")
        scores = metrics.evaluate(reference, np.asarray(decoded.convert("RGB")))
        notes = encoded.notes + list(decoded.info.get("sdweb_notes", []))
        results.append(CodecResult(c, codec.label, codec.extension, encoded.data, decoded, encoded.setting,
                                   encoded.over_target, encode_s, decode_s, scores, notes))
        if isinstance(codec, SD) and match_sd_size:
            target = len(encoded.data)
    return Comparison(original, int(target_size), results, list(loaded.notes), _display_name(image))


def _display_name(image) -> str:
    from pathlib import Path

    if isinstance(image, (str, Path)):
        return Path(image).name
    return getattr(image, "filename", "") and Path(image.filename).name or "image"


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
