"""The "Stable Diffusion" part of decoding: a few UNet steps on the dequantized latent.

Bühlmann's decoder treats quantization error as diffusion noise: it runs an
img2img-style pass at low strength (≈ 0.04, i.e. the last 4 of 100 DDIM
steps) with empty-prompt conditioning and no guidance, then hands the result
to the VAE. Noise comes from a seed stored in the file, so a decode is
deterministic. Only the SD 1.x family has a denoiser here (the SD 1.5 UNet).
"""

from __future__ import annotations

import threading

import numpy as np

from .errors import InputError, ModelNotAvailableError
from .models import default_device, describe_unavailable, model_source, quiet_loading

HUB_ID = "stable-diffusion-v1-5/stable-diffusion-v1-5"
NAME = "sd15-unet"  # the folder name looked up under $SDWEB_MODEL_DIR
FAMILY = "sd1"
DEFAULT_STEPS_GPU = 4
DEFAULT_STRENGTH = 0.04
MAX_STEPS = 50


def default_steps(family: str, device: str | None = None) -> int:
    """Denoise by default only where it is affordable and available: sd1 on a GPU."""
    device = device or default_device()
    return DEFAULT_STEPS_GPU if family == FAMILY and device.startswith("cuda") else 0


class Denoiser:
    """SD 1.5 UNet + empty-prompt embedding + DDIM schedule, ready to refine latents."""

    def __init__(self, unet, text_encoder, tokenizer, scheduler, device: str):
        import torch

        self.unet, self.scheduler, self.device = unet, scheduler, device
        self.dtype = next(unet.parameters()).dtype
        length = min(tokenizer.model_max_length, text_encoder.config.max_position_embeddings)
        tokens = tokenizer([""], padding="max_length", max_length=length, truncation=True, return_tensors="pt")
        tokens = tokens.input_ids.to(device)
        with torch.inference_mode():
            self.empty_prompt = text_encoder(tokens)[0].to(self.dtype)
        # The UNet halves the latent grid once per down block; pad to a multiple of that.
        self.multiple = 2 ** (len(unet.config.block_out_channels) - 1)
        self._lock = threading.Lock()  # the scheduler holds per-call state

    def __call__(self, latent: np.ndarray, steps: int, seed: int = 0, strength: float = DEFAULT_STRENGTH) -> np.ndarray:
        """Run ``steps`` UNet calls on a canonical sd1 latent (4×h×w) and return the result."""
        import torch

        if steps <= 0:
            return latent
        if not 0 < strength < 1:
            raise InputError(f"denoise strength must be between 0 and 1, got {strength}")
        _, h, w = latent.shape
        pad_h, pad_w = -h % self.multiple, -w % self.multiple
        x = torch.from_numpy(np.ascontiguousarray(latent))[None]
        x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        generator = torch.Generator("cpu").manual_seed(int(seed))
        noise = torch.randn(x.shape, generator=generator)
        with self._lock, torch.inference_mode():
            self.scheduler.set_timesteps(max(steps, round(steps / strength)))
            timesteps = self.scheduler.timesteps[-steps:]
            x = self.scheduler.add_noise(x, noise, timesteps[:1]).to(self.device, self.dtype)
            for t in timesteps:
                eps = self.unet(x, t, encoder_hidden_states=self.empty_prompt).sample
                x = self.scheduler.step(eps, t, x).prev_sample
        return x[0, :, :h, :w].float().cpu().numpy()


_cache: dict[tuple, Denoiser] = {}
_lock = threading.Lock()


def load_denoiser(model_path=None, device: str | None = None) -> Denoiser:
    """Load (once per process) the SD 1.5 UNet, text encoder, tokenizer and scheduler.

    Sources, in order: ``model_path``, ``$SDWEB_MODEL_DIR/sd15-unet``, the hub
    id. Raises ModelNotAvailableError with one line on how to provide it.
    """
    device = device or default_device()
    source = model_source(NAME, model_path)
    key = (str(source), device)
    with _lock:
        if key not in _cache:
            _cache[key] = _load(source, device)
        return _cache[key]


def _load(source, device: str) -> Denoiser:
    import torch
    from diffusers import DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    where = str(source) if source else HUB_ID
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    try:
        with quiet_loading():
            unet = UNet2DConditionModel.from_pretrained(where, subfolder="unet", torch_dtype=dtype)
            text_encoder = CLIPTextModel.from_pretrained(where, subfolder="text_encoder", torch_dtype=dtype)
            tokenizer = CLIPTokenizer.from_pretrained(where, subfolder="tokenizer")
            scheduler = DDIMScheduler.from_pretrained(where, subfolder="scheduler")
    except Exception as e:  # noqa: BLE001 - hub, diffusers and transformers raise many types
        raise describe_unavailable(NAME, where, e) from None
    if unet.config.in_channels != 4:
        raise ModelNotAvailableError(f"denoiser from {where} takes {unet.config.in_channels} channels, sd1 needs 4")
    unet = unet.to(device).eval().requires_grad_(False)
    text_encoder = text_encoder.to(device).eval().requires_grad_(False)
    return Denoiser(unet, text_encoder, tokenizer, scheduler, device)


def reset_cache() -> None:
    """Forget loaded denoisers (tests use this to load a different tiny model)."""
    with _lock:
        _cache.clear()


__all__ = ["Denoiser", "default_steps", "load_denoiser"]
