"""The SD latent codec end to end: image → latent → payload → .sdw bytes, and back.

This is where the pieces meet: :mod:`images` loads the input, :mod:`models`
runs the autoencoder once, a latent codec from :mod:`latent` does the rate
control in latent space, :mod:`container` wraps the result, and on decode
:mod:`denoise` optionally refines the latent before the VAE decodes it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from . import container, latent as latent_codecs
from .denoise import FAMILY as DENOISER_FAMILY, default_steps, load_denoiser
from .errors import InputError, ModelNotAvailableError, TargetSizeError
from .families import DOWNSCALE
from .images import load_image
from .models import AUTO, auto_models, default_decoder, default_model, load_autoencoder, model_spec
from .refine import refine, steps_for


class EncodedFile(bytes):
    """The bytes of an .sdw file, plus what the encoder wants the user to know.

    ``notes`` lists changes made to the input (alpha composited, EXIF rotation,
    first frame of an animation, …); ``model`` and ``mode`` say what ran.
    """

    notes: list[str]
    model: str
    mode: str


def encode(
    image,
    target_size: int | None = None,
    model: str | None = None,
    mode: str = "palette",
    *,
    effort: int = 0,
    seed: int = 0,
    max_pixels: int | None = None,
    model_path=None,
    **options,
) -> EncodedFile:
    """Encode ``image`` (PIL image, path, bytes or array) into .sdw bytes.

    ``target_size`` (bytes, header included) asks for the best file that fits;
    ``model`` picks the autoencoder (default: ``sd15`` on a GPU, ``taesd`` on
    CPU); ``mode`` the latent codec (``palette`` or ``entropy``); ``effort``
    (0–9) spends encoder time refining the latent (see :mod:`sdweb.refine`:
    about 1.4 s per step at 768×512 on 2 CPU cores, 4 to 96 steps); ``seed``
    the noise of a denoising decode; other keyword options go to the mode
    (palette: ``colors``, ``dithering``; entropy: ``step``).
    Raises InputError (bad image or option), TargetSizeError (target below the
    smallest possible file, with its size) or ModelNotAvailableError.
    """
    # Cheap checks first: a bad option should not cost an encoder pass.
    latent_codecs.codec_by_name(mode).check_options(options)
    steps_for(effort)
    _check_target(target_size)
    if model == AUTO:
        return encode_auto(image, target_size, mode, effort=effort, seed=seed, max_pixels=max_pixels, **options)
    encoder = Encoder(image, model, max_pixels=max_pixels, model_path=model_path)
    return encoder.encode(target_size, mode, effort=effort, seed=seed, **options)


def encode_auto(image, target_size=None, mode="palette", *, effort=0, seed=0, max_pixels=None, **options):
    """Encode in whichever latent space of :func:`auto_models` decodes closest to the image.

    On Kodak the 16-channel SD3 space won from about 0.3 bpp up, SD 1.x below.
    """
    loaded = load_image(image, max_pixels)
    encoders = [Encoder(loaded.image, name) for name in auto_models()]
    for encoder in encoders:
        encoder.loaded = loaded  # keep the notes and alpha flag of the original input
    return encode_best(encoders, target_size, mode, effort=effort, seed=seed, **options)


def encode_best(encoders: list["Encoder"], target_size=None, mode="palette", *, effort=0, seed=0, **options):
    """The file, among one per Encoder (latent space), whose decoded image is closest to the original.

    Each encodes at effort 0 and is judged on its decoded image; only the
    winner is refined when ``effort`` > 0.
    """
    codec = latent_codecs.codec_by_name(mode)
    best, too_small = None, []
    for encoder in encoders:
        try:
            data = encoder.encode(target_size, mode, seed=seed, **options)
        except TargetSizeError as e:
            too_small.append(e)
            continue
        error = encoder.pixel_error(codec.decode(container.unpack(data)[1], encoder.latent.shape))
        if best is None or error < best[0]:
            best = (error, encoder, data)
    if best is None:
        raise min(too_small, key=lambda e: e.smallest)
    _, encoder, data = best
    return encoder.encode(target_size, mode, effort=effort, seed=seed, **options) if effort else data


class Encoder:
    """One image's latent, computed once, coded at as many sizes and modes as asked.

    ``sdweb.encode`` is ``Encoder(image, model).encode(target_size, mode)``;
    tools that code one image several times (benchmarks, the app) keep the
    Encoder so the autoencoder runs once per image, not once per file.
    """

    def __init__(self, image, model: str | None = None, *, max_pixels: int | None = None, model_path=None):
        self.model = model or default_model()
        model_spec(self.model)
        self.loaded = load_image(image, max_pixels)
        width, height = self.loaded.size
        if max(width, height) > container.MAX_SIDE:
            raise InputError(f"image sides must be at most {container.MAX_SIDE} pixels, got {width}×{height}")
        self.autoencoder = load_autoencoder(self.model, model_path)
        self.pixels = pad_to_grid(np.asarray(self.loaded.image))
        self.latent = self.autoencoder.encode(self.pixels)

    def encode(self, target_size: int | None = None, mode: str = "palette", *, effort: int = 0, seed: int = 0,
               **options) -> EncodedFile:
        """Code the latent into an .sdw file; arguments as for :func:`sdweb.encode`."""
        codec = latent_codecs.codec_by_name(mode)
        codec.check_options(options)
        refine_steps = steps_for(effort)
        _check_target(target_size)
        width, height = self.loaded.size
        max_payload = None if target_size is None else max(0, int(target_size) - container.OVERHEAD)
        latent = self.latent
        try:
            payload = self._closest(codec, latent, codec.candidates(latent, max_payload, **options))
            if refine_steps:
                # Refine for the quantizer the rate control chose, on its latent
                # grid, then code the refined latent on that grid.
                step, factor = codec.quantizer(payload)
                latent = refine(self.autoencoder, self.pixels, latent, refine_steps, step, factor, seed)
                if factor != 1:
                    options = {**options, "factor": factor}
                payload = self._closest(codec, latent, codec.candidates(latent, max_payload, **options))
        except TargetSizeError as e:
            smallest = e.smallest + container.OVERHEAD
            raise TargetSizeError(
                f"a {width}×{height} image cannot be coded in {target_size} bytes with mode {mode!r}; "
                f"the smallest file is {smallest} bytes",
                smallest,
            ) from None
        flags = container.FLAG_ALPHA_COMPOSITED if self.loaded.had_alpha else 0
        header = container.Header(codec.mode_id, self.autoencoder.family.id, width, height, seed=seed, flags=flags)
        out = EncodedFile(container.pack(header, payload))
        out.notes, out.model, out.mode = list(self.loaded.notes), self.model, codec.name
        return out

    def _closest(self, codec, latent, payloads: list[bytes]) -> bytes:
        """The payload whose decoded image is closest to the original (one decoder pass each).

        The whole image is decoded: a central window alone picked the wrong
        latent grid on 2 of 7 Kodak images at 0.1 bpp.
        """
        if len(payloads) == 1:
            return payloads[0]
        return min(payloads, key=lambda payload: self.pixel_error(codec.decode(payload, latent.shape)))

    def pixel_error(self, latent: np.ndarray) -> float:
        """Pixel MSE of the decoded ``latent`` against the (padded) original."""
        decoded = self.autoencoder.decode(latent).astype(np.float32)
        return float(np.mean((decoded - self.pixels) ** 2))


def _check_target(target_size) -> None:
    if target_size is not None and (not isinstance(target_size, (int, np.integer)) or target_size < 1):
        raise InputError(f"target size must be a positive number of bytes, got {target_size!r}")


def decode_latent(data: bytes, max_pixels: int | None = None):
    """Validate ``data`` and return ``(header, latent)`` without touching any model."""
    header, payload = container.unpack(data, max_pixels)
    codec = latent_codecs.codec_by_id(header.mode_id)
    return header, codec.decode(payload, header.latent_shape)


def decode(
    data: bytes,
    model: str | None = None,
    denoise_steps: int | None = None,
    *,
    model_path=None,
    denoiser_path=None,
    max_pixels: int | None = None,
) -> Image.Image:
    """Decode .sdw bytes into an RGB PIL image of the original size.

    ``model`` picks the autoencoder (default: the device's default for the
    file's latent family); ``denoise_steps`` the number of UNet steps (default:
    4 for sd1 files on a GPU, else 0). Raises FormatError for an invalid file,
    InputError for a model or option that does not fit the file, and
    ModelNotAvailableError when weights cannot be loaded.
    """
    header, latent = decode_latent(data, max_pixels)
    family = header.family
    model = model or default_decoder(family)
    spec = model_spec(model)
    if spec.family != family.name:
        raise InputError(
            f"this file holds {family.name} latents ({family.description}); model {model!r} decodes "
            f"{spec.family} latents"
        )
    notes = []
    steps = denoise_steps
    if steps is None:
        steps = default_steps(family.name)
    elif not 0 <= int(steps) <= 50:
        raise InputError(f"denoise steps must be between 0 and 50, got {steps}")
    if steps and family.name != DENOISER_FAMILY:
        raise InputError(f"denoising needs an {DENOISER_FAMILY} file; this one holds {family.name} latents")
    if steps:
        try:
            latent = load_denoiser(denoiser_path)(latent, int(steps), seed=header.seed)
        except ModelNotAvailableError:
            if denoise_steps is not None:
                raise
            notes.append("the denoising UNet is not available; decoded without denoising")
    pixels = load_autoencoder(model, model_path).decode(latent)
    image = Image.fromarray(pixels[: header.height, : header.width], "RGB")
    image.info["sdweb_notes"] = notes
    return image


def read_info(data: bytes) -> dict:
    """The header and mode parameters of an .sdw file as a JSON-able dict; FormatError if invalid."""
    header, payload = container.unpack(data)
    codec = latent_codecs.codec_by_id(header.mode_id)
    info = header.as_dict()
    info.update(
        mode=codec.name,
        latent_shape=list(header.latent_shape),
        file_bytes=len(data),
        payload_bytes=len(payload),
        bpp=round(8 * len(data) / (header.width * header.height), 4),
        parameters=codec.describe(payload, header.latent_shape),
    )
    return info


def pad_to_grid(pixels: np.ndarray) -> np.ndarray:
    """Pad H×W×3 to multiples of the latent grid by repeating the edge pixels."""
    height, width = pixels.shape[:2]
    pad_h, pad_w = -height % DOWNSCALE, -width % DOWNSCALE
    if not (pad_h or pad_w):
        return pixels
    return np.pad(pixels, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
