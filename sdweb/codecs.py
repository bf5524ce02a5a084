"""One interface for every codec we compare: SD and the classic image codecs.

A :class:`Codec` encodes an RGB image to bytes (at a fixed quality, or the
best quality whose file fits a target size) and decodes bytes back. Classic
codecs expose one integer knob (larger = better and bigger) and share the
bisection of :mod:`sdweb.search`. When even the lowest setting is over the
target, a codec returns its smallest file with ``over_target=True``: callers
always get a real file to measure, and an honest flag.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .errors import FormatError, InputError, TargetSizeError
from .search import largest_fitting


@dataclass
class Encoded:
    """A codec's output: the file bytes and how they were obtained."""

    data: bytes
    setting: str  # the knob value in the codec's own terms, e.g. "quality 37"
    over_target: bool = False
    notes: list[str] = field(default_factory=list)


class Codec(ABC):
    """A lossy image codec: ``name`` (CLI id), ``label`` (display) and file ``extension``."""

    name: str
    label: str
    extension: str
    mime: str

    def available(self) -> bool:
        """Whether this machine can run the codec (library present)."""
        return True

    @abstractmethod
    def encode(self, image: Image.Image, target_size: int | None = None, quality: float | None = None) -> Encoded:
        """Encode an RGB image; with ``target_size`` the best file of at most that many bytes."""

    @abstractmethod
    def decode(self, data: bytes) -> Image.Image:
        """Decode bytes made by :meth:`encode` into an RGB image; FormatError if invalid."""


class KnobCodec(Codec):
    """A classic codec driven by one integer knob in ``[knob_min, knob_max]``."""

    knob_min = 0
    knob_max = 100
    default_knob = 75

    @abstractmethod
    def save(self, image: Image.Image, knob: int) -> bytes:
        """Encode at one knob setting."""

    def describe(self, knob: int) -> str:
        return f"quality {knob}"

    def encode(self, image, target_size=None, quality=None):
        if quality is not None:
            knob = int(round(quality))
            if not self.knob_min <= knob <= self.knob_max:
                raise InputError(f"{self.label} quality must be in {self.knob_min}..{self.knob_max}, got {quality}")
            return Encoded(self.save(image, knob), self.describe(knob))
        if target_size is None:
            return Encoded(self.save(image, self.default_knob), self.describe(self.default_knob))
        found = largest_fitting(lambda k: self.save(image, k), len, self.knob_min, self.knob_max, int(target_size))
        if found is None:
            smallest = self.save(image, self.knob_min)
            return Encoded(smallest, self.describe(self.knob_min), over_target=True,
                           notes=[f"{self.label} cannot go below {len(smallest)} bytes for this image"])
        knob, data = found
        return Encoded(data, self.describe(knob))

    def decode(self, data):
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.convert("RGB")
        except Exception as e:  # noqa: BLE001 - Pillow raises many types on corrupt data
            raise FormatError(f"cannot decode {self.label} data ({e})") from None


class JPEG(KnobCodec):
    name, label, extension, mime = "jpeg", "JPEG", ".jpg", "image/jpeg"
    knob_min, knob_max = 1, 95

    def save(self, image, knob):
        # libjpeg-turbo with optimized Huffman tables, progressive scans, 4:2:0.
        return _pillow_save(image, "JPEG", quality=knob, optimize=True, progressive=True, subsampling=2)


class WebP(KnobCodec):
    name, label, extension, mime = "webp", "WebP", ".webp", "image/webp"

    def save(self, image, knob):
        return _pillow_save(image, "WEBP", quality=knob, method=6)


class AVIF(KnobCodec):
    name, label, extension, mime = "avif", "AVIF", ".avif", "image/avif"
    speed = 6

    def available(self):
        from PIL import features

        return bool(features.check("avif"))

    def save(self, image, knob):
        return _pillow_save(image, "AVIF", quality=knob, speed=self.speed, subsampling="4:2:0")


class JPEGXL(KnobCodec):
    """JPEG XL through libjxl (imagecodecs), driven by Butteraugli distance.

    The knob maps log-linearly onto distance 25 (the largest libjxl allows,
    knob 0) down to 0.2 (knob 100), so the very low rates we compare at are
    reachable; Pillow plugins that take a 0–100 quality stop short of them.
    """

    name, label, extension, mime = "jxl", "JPEG XL", ".jxl", "image/jxl"
    effort = 7

    def available(self):
        try:
            import imagecodecs

            return bool(imagecodecs.JPEGXL.available)
        except ImportError:
            return False

    @staticmethod
    def distance(knob: int) -> float:
        return float(25.0 * (0.2 / 25.0) ** (knob / 100.0))

    def describe(self, knob):
        return f"distance {self.distance(knob):.2f}"

    def save(self, image, knob):
        import imagecodecs

        return bytes(imagecodecs.jpegxl_encode(np.asarray(image), distance=self.distance(knob), effort=self.effort))

    def decode(self, data):
        import imagecodecs

        try:
            pixels = imagecodecs.jpegxl_decode(data)
        except Exception as e:  # noqa: BLE001
            raise FormatError(f"cannot decode JPEG XL data ({e})") from None
        if pixels.ndim == 2:
            pixels = np.stack([pixels] * 3, axis=2)
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, :3]), "RGB")


class SD(Codec):
    """The SD latent codec (``sdweb.encode``/``decode``) behind the common interface."""

    name, label, extension, mime = "sd", "SD latent", ".sdw", "application/x-sdweb"

    def __init__(self, model: str | None = None, mode: str = "palette", denoise_steps: int | None = None,
                 seed: int = 0, **options):
        from .models import default_model

        self.model = model or default_model()
        self.mode, self.denoise_steps, self.seed, self.options = mode, denoise_steps, seed, options
        self.label = f"SD ({self.model}, {mode})"

    def prepare(self) -> None:
        """Load the models now, so encode and decode timings exclude loading."""
        from .models import AUTO, auto_models, load_autoencoder

        for name in auto_models() if self.model == AUTO else (self.model,):
            load_autoencoder(name)

    def encode(self, image, target_size=None, quality=None):
        from .sdcodec import encode

        if quality is not None:
            raise InputError("the SD codec is driven by a target size, not a quality")
        kwargs = dict(model=self.model, mode=self.mode, seed=self.seed, **self.options)
        try:
            data = encode(image, target_size=target_size, **kwargs)
            over = False
        except TargetSizeError as e:
            data = encode(image, target_size=e.smallest, **kwargs)
            over = True
        info = sd_setting(data)
        notes = list(data.notes) + ([f"SD cannot go below {len(data)} bytes for this image"] if over else [])
        return Encoded(bytes(data), info, over_target=over, notes=notes)

    def decode(self, data):
        from .sdcodec import decode

        from .models import AUTO

        return decode(data, model=None if self.model == AUTO else self.model, denoise_steps=self.denoise_steps)


def sd_setting(data: bytes) -> str:
    """The rate knob an .sdw file was made with, in words (``256 colours``, ``step 0.38``)."""
    from .sdcodec import read_info

    params = read_info(data)["parameters"]
    if "groups" in params:
        return f"{params['groups'][0]['colors']} colours"
    return f"step {params['step']:g}"


def _pillow_save(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


CLASSIC: dict[str, type[KnobCodec]] = {c.name: c for c in (JPEG, WebP, AVIF, JPEGXL)}
ALL_NAMES = ("sd", *CLASSIC)


def get_codec(name: str, **sd_options) -> Codec:
    """A codec instance by name (``sd``, ``jpeg``, ``webp``, ``avif``, ``jxl``); InputError if unknown."""
    if name == "sd":
        return SD(**sd_options)
    try:
        codec = CLASSIC[name]()
    except KeyError:
        raise InputError(f"unknown codec {name!r} (choose from: {', '.join(ALL_NAMES)})") from None
    if not codec.available():
        raise InputError(f"{codec.label} is not available on this machine")
    return codec
