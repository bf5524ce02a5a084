"""Shared fixtures: tiny random diffusers models saved to disk, and the real TAESD.

The tiny models are built once per session, ``save_pretrained`` into a temp
folder laid out as ``$SDWEB_MODEL_DIR/<name>`` and loaded back through
sdweb's own loading code, so the code paths of the full SD 1.5 VAE and UNet
(unavailable here) are exercised for real.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
# Tests never touch the network; the real TAESD family comes from ../shared/hf-cache.
os.environ["HF_HUB_OFFLINE"] = "1"
if "HF_HUB_CACHE" not in os.environ and (SHARED / "hf-cache").is_dir():
    os.environ["HF_HUB_CACHE"] = str(SHARED / "hf-cache")
os.environ.setdefault("SDWEB_DEVICE", "cpu")
# LPIPS weights are not available offline; an empty folder makes that explicit
# instead of letting torch.hub try the network.
os.environ.setdefault("SDWEB_LPIPS_DIR", str(Path(__file__).parent / "data" / "no-lpips-weights"))

KODAK = SHARED / "data" / "kodak"


def build_tiny_models(root: Path) -> None:
    """Save tiny random models under ``root/<registry name>`` (seeded, a few kB each)."""
    import torch
    from diffusers import AutoencoderKL, AutoencoderTiny, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    tiny = dict(
        encoder_block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1), num_decoder_blocks=(1, 1, 1, 1),
    )
    for name, channels in (("taesd", 4), ("taesdxl", 4), ("taesd3", 16), ("taef1", 16)):
        AutoencoderTiny(latent_channels=channels, **tiny).save_pretrained(root / name)
    AutoencoderKL(
        block_out_channels=(8, 8, 8, 8), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=1, norm_num_groups=4,
        latent_channels=4, scaling_factor=0.18215,
    ).save_pretrained(root / "sd15")

    denoiser = root / "sd15-unet"
    UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16, norm_num_groups=4, attention_head_dim=2,
    ).save_pretrained(denoiser / "unet")
    CLIPTextModel(
        CLIPTextConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, max_position_embeddings=77, bos_token_id=0, eos_token_id=1)
    ).save_pretrained(denoiser / "text_encoder")
    vocab_dir = root / "vocab"
    vocab_dir.mkdir()
    tokens = ["<|startoftext|>", "<|endoftext|>"] + [f"{c}</w>" for c in "abcdefghijklmnopqrstuvwxyz"]
    (vocab_dir / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (vocab_dir / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(vocab_dir / "vocab.json"), str(vocab_dir / "merges.txt")).save_pretrained(denoiser / "tokenizer")
    DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
                  set_alpha_to_one=False, steps_offset=1).save_pretrained(denoiser / "scheduler")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny-models")
    build_tiny_models(root)
    return root


@pytest.fixture
def tiny_models(tiny_model_dir, monkeypatch) -> Path:
    """Make every registry name resolve to its tiny random model for this test."""
    monkeypatch.setenv("SDWEB_MODEL_DIR", str(tiny_model_dir))
    return tiny_model_dir


def require_real_weights():
    """Load the real TAESD, or skip — except under CI, where missing weights fail the run."""
    from sdweb.errors import ModelNotAvailableError
    from sdweb.models import load_autoencoder

    try:
        return load_autoencoder("taesd")
    except ModelNotAvailableError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"real TAESD weights are required under CI: {e}")
        pytest.skip(f"real TAESD weights not available: {e}")


@pytest.fixture
def real_taesd(monkeypatch):
    monkeypatch.delenv("SDWEB_MODEL_DIR", raising=False)
    return require_real_weights()


@pytest.fixture(scope="session")
def kodak_dir() -> Path:
    if not (KODAK / "kodim01.png").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Kodak images are required under CI at {KODAK}")
        pytest.skip("Kodak images not available")
    return KODAK


def smooth_image(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A deterministic, natural-ish RGB test image: gradients plus a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / max(width - 1, 1), y / max(height - 1, 1), (x + y) / max(width + height - 2, 1)], axis=2)
    pixels = base * 200 + 30 + rng.normal(0, 6, size=(height, width, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)
