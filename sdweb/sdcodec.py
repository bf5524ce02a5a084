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
from .models import default_decoder, default_model, load_autoencoder, model_spec


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
    seed: int = 0,
    max_pixels: int | None = None,
    model_path=None,
    **options,
) -> EncodedFile:
    """Encode ``image`` (PIL image, path, bytes or array) into .sdw bytes.

    ``target_size`` (bytes, header included) asks for the best file that fits;
    ``model`` picks the autoencoder (default: ``sd15`` on a GPU, ``taesd`` on
    CPU); ``mode`` the latent codec; ``seed`` the noise of a denoising decode;
    other keyword options go to the mode (palette: ``colors``, ``dithering``).
    Raises InputError (bad image or option), TargetSizeError (target below the
    smallest possible file, with its size) or ModelNotAvailableError.
    """
    model = model or default_model()
    spec = model_spec(model)
    codec = latent_codecs.codec_by_name(mode)
    codec.check_options(options)
    if target_size is not None and (not isinstance(target_size, (int, np.integer)) or target_size < 1):
        raise InputError(f"target size must be a positive number of bytes, got {target_size!r}")
    loaded = load_image(image, max_pixels)
    width, height = loaded.size
    if max(width, height) > container.MAX_SIDE:
        raise InputError(f"image sides must be at most {container.MAX_SIDE} pixels, got {width}×{height}")
    autoencoder = load_autoencoder(model, model_path)
    latent = autoencoder.encode(pad_to_grid(np.asarray(loaded.image)))
    max_payload = None if target_size is None else max(0, int(target_size) - container.OVERHEAD)
    try:
        payload = codec.encode(latent, max_payload, **options)
    except TargetSizeError as e:
        smallest = e.smallest + container.OVERHEAD
        raise TargetSizeError(
            f"a {width}×{height} image cannot be coded in {target_size} bytes with mode {mode!r}; "
            f"the smallest file is {smallest} bytes",
            smallest,
        ) from None
    flags = container.FLAG_ALPHA_COMPOSITED if loaded.had_alpha else 0
    header = container.Header(codec.mode_id, autoencoder.family.id, width, height, seed=seed, flags=flags)
    out = EncodedFile(container.pack(header, payload))
    out.notes, out.model, out.mode = list(loaded.notes), spec.name, codec.name
    return out


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
