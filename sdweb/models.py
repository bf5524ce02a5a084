"""Autoencoders: the registry, loading through diffusers, device choice, caching.

A model is a row of ``MODELS`` (name → hub id, diffusers class, latent
family). Weights come, in this order, from an explicit local folder
(``model_path=`` / ``--model-path``), from ``$SDWEB_MODEL_DIR/<name>``, or by
hub id through the normal Hugging Face cache (so ``HF_HUB_CACHE`` and
``HF_HUB_OFFLINE`` work). Each model loads once per process.

:class:`Autoencoder` speaks the family's canonical latent space: latents are
``(vae_latent - shift_factor) * scaling_factor`` from the model's config,
which is what TAESD produces directly and what the diffusion UNet consumes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError, ModelNotAvailableError
from .families import Family, family_by_name


@dataclass(frozen=True)
class ModelSpec:
    """One loadable autoencoder."""

    name: str
    hub_id: str
    model_class: str  # a diffusers class name
    family: str
    description: str
    subfolder: str | None = None


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("taesd", "madebyollin/taesd", "AutoencoderTiny", "sd1", "Tiny AutoEncoder, SD 1.x latents (CPU default)"),
        ModelSpec("sd15", "stabilityai/sd-vae-ft-mse", "AutoencoderKL", "sd1", "Stable Diffusion 1.5 VAE (GPU default)"),
        ModelSpec("taesdxl", "madebyollin/taesdxl", "AutoencoderTiny", "sdxl", "Tiny AutoEncoder, SDXL latents"),
        ModelSpec("taesd3", "madebyollin/taesd3", "AutoencoderTiny", "sd3", "Tiny AutoEncoder, SD3 latents (16 channels)"),
        ModelSpec("taef1", "madebyollin/taef1", "AutoencoderTiny", "flux", "Tiny AutoEncoder, FLUX.1 latents (16 channels)"),
    )
}

#: ``model="auto"``: pick the latent space per image (see sdcodec.encode_auto).
AUTO = "auto"


def auto_models() -> tuple[str, ...]:
    """The models ``auto`` chooses between: the device's SD 1.x default and TAESD3 (16 channels)."""
    return (default_model(), "taesd3")


#: Which autoencoder decodes a family's files when the caller names none.
DEFAULT_DECODERS = {"sd1": ("sd15", "taesd"), "sdxl": ("taesdxl",), "sd3": ("taesd3",), "flux": ("taef1",)}


def model_spec(name: str) -> ModelSpec:
    """The registry row for ``name``; InputError listing the choices if unknown."""
    try:
        return MODELS[name]
    except KeyError:
        raise InputError(f"unknown model {name!r} (choose from: {', '.join(MODELS)})") from None


def default_device() -> str:
    """``SDWEB_DEVICE`` if set, else ``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    return os.environ.get("SDWEB_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")


def default_model() -> str:
    """The full SD 1.5 VAE on a GPU, TAESD on a CPU (where the big VAE is slow)."""
    return "sd15" if default_device().startswith("cuda") else "taesd"


def default_decoder(family: Family) -> str:
    """The autoencoder to decode a file of ``family`` with: the device's default if it fits."""
    candidates = DEFAULT_DECODERS[family.name]
    preferred = default_model()
    return preferred if preferred in candidates else candidates[-1]


def model_source(name: str, model_path: str | os.PathLike | None = None, env_var: str = "SDWEB_MODEL_DIR"):
    """Where ``name``'s weights come from: a local folder (Path) or the hub id (str)."""
    if model_path is not None:
        path = Path(model_path)
        if not path.is_dir():
            raise ModelNotAvailableError(f"model path {path} is not a folder")
        return path
    root = os.environ.get(env_var)
    if root and (Path(root) / name).is_dir():
        return Path(root) / name
    return None


def describe_unavailable(name: str, hub_id: str, error: Exception) -> ModelNotAvailableError:
    """One actionable line for a model whose weights could not be had."""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160].rstrip(". ")
    return ModelNotAvailableError(
        f"model {name!r} ({hub_id}) is not available: {reason}. Provide it through network access "
        f"to the Hugging Face Hub, a hub cache in HF_HUB_CACHE, or a local copy in "
        f"$SDWEB_MODEL_DIR/{name} or --model-path"
    )


@contextlib.contextmanager
def quiet_loading():
    """Silence the hub's and diffusers' chatter (offline notices, deprecations) while loading."""
    import warnings

    from diffusers.utils import logging as diffusers_logging
    from huggingface_hub.utils import logging as hub_logging

    levels = diffusers_logging.get_verbosity(), hub_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    hub_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        diffusers_logging.set_verbosity(levels[0])
        hub_logging.set_verbosity(levels[1])


class Autoencoder:
    """A loaded VAE that maps RGB pixels to canonical family latents and back."""

    def __init__(self, spec: ModelSpec, module, device: str):
        import torch

        self.spec = spec
        self.module = module
        self.device = device
        self.dtype = next(module.parameters()).dtype
        self.scale = float(getattr(module.config, "scaling_factor", 1.0) or 1.0)
        self.shift = float(getattr(module.config, "shift_factor", 0.0) or 0.0)
        self.family: Family = family_by_name(spec.family)
        self._torch = torch

    def _is_kl(self) -> bool:
        return hasattr(self.module, "quant_conv") or self.spec.model_class == "AutoencoderKL"

    def encode_tensor(self, pixels):
        """(N,3,H,W) tensor in [0, 1] → canonical latents (N,C,H/8,W/8)."""
        x = (pixels * 2 - 1).to(self.device, self.dtype).contiguous(memory_format=self._torch.channels_last)
        out = self.module.encode(x)
        raw = out.latent_dist.mode() if hasattr(out, "latent_dist") else out.latents
        return (raw.float() - self.shift) * self.scale

    def decode_tensor(self, latents):
        """Canonical latents (N,C,h,w) → (N,3,8h,8w) tensor in [0, 1]; differentiable."""
        raw = latents / self.scale + self.shift
        raw = raw.to(self.device, self.dtype).contiguous(memory_format=self._torch.channels_last)
        y = self.module.decode(raw).sample.float()
        return ((y + 1) / 2).clamp(0, 1)

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """H×W×3 uint8 (sides multiples of 8) → float32 latent C×H/8×W/8."""
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.array(pixels, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255
            return np.ascontiguousarray(self.encode_tensor(x)[0].cpu().numpy(), dtype=np.float32)

    def decode(self, latent: np.ndarray) -> np.ndarray:
        """Float latent C×h×w → H×W×3 uint8 (8h × 8w)."""
        torch = self._torch
        with torch.inference_mode():
            y = self.decode_tensor(torch.from_numpy(np.array(latent, dtype=np.float32))[None])
            return (y[0] * 255).round().byte().permute(1, 2, 0).cpu().numpy()


_cache: dict[tuple, Autoencoder] = {}
_lock = threading.Lock()


def load_autoencoder(name: str, model_path=None, device: str | None = None) -> Autoencoder:
    """Load (once per process) the autoencoder ``name`` and return it.

    Raises InputError for an unknown name and ModelNotAvailableError, with one
    line saying how to provide the weights, when they cannot be loaded.
    """
    spec = model_spec(name)
    device = device or default_device()
    source = model_source(name, model_path)
    key = (name, str(source), device)
    with _lock:
        if key not in _cache:
            _cache[key] = _load(spec, source, device)
        return _cache[key]


def _load(spec: ModelSpec, source, device: str) -> Autoencoder:
    import diffusers
    import torch

    model_class = getattr(diffusers, spec.model_class)
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    kwargs = {"torch_dtype": dtype, "low_cpu_mem_usage": False}
    if source is None and spec.subfolder:
        kwargs["subfolder"] = spec.subfolder
    try:
        with quiet_loading():
            module = model_class.from_pretrained(str(source) if source else spec.hub_id, **kwargs)
    except Exception as e:  # noqa: BLE001 - huggingface_hub and diffusers raise many types
        raise describe_unavailable(spec.name, str(source or spec.hub_id), e) from None
    channels = getattr(module.config, "latent_channels", None)
    family = family_by_name(spec.family)
    if channels != family.channels:
        raise ModelNotAvailableError(
            f"model {spec.name!r} from {source or spec.hub_id} has {channels} latent channels, "
            f"its family {family.name} needs {family.channels}"
        )
    module = module.to(device).eval().requires_grad_(False)
    if device == "cpu":
        # channels_last makes the TAESD convolutions about 1.6× faster on CPU.
        module = module.to(memory_format=torch.channels_last)
    return Autoencoder(spec, module, device)
