"""What this machine can run: the codecs that are installed and whether the SD model loaded (said on the page)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sdweb.codecs import CLASSIC
from sdweb.denoise import DEFAULT_STEPS_GPU, load_denoiser
from sdweb.models import default_device, load_autoencoder

from .inputs import sentence
from .settings import model_retry_s, startup_model


def codec_choices() -> list[tuple[str, str]]:
    """(label, name) of every codec this machine can run, SD first."""
    return [("SD latent", "sd")] + [(c().label, name) for name, c in CLASSIC.items() if c().available()]


@dataclass
class ModelStatus:
    """What the page says about the SD model: which one, where, and whether it loaded."""

    model: str
    device: str
    ok: bool
    message: str  # how long loading took ("" if it was cached), or why the model is not available
    denoiser: str = ""

    def markdown(self) -> str:
        """The status line at the top of the page."""
        where = f"`{self.model}` on {self.device.upper()}"
        if self.ok:
            line = f"**SD model:** {where} — loaded{f' in {self.message}' if self.message else ''}."
        else:
            line = (f"**SD model:** {where} — **not available.** {sentence(self.message)} "
                    "JPEG, WebP, AVIF and JPEG XL keep working; SD is skipped until the model is provided.")
        return line + (f" **Denoising:** {self.denoiser}" if self.denoiser else "")


# Models that failed to load, with when and why: requests skip SD at once instead of retrying the Hub each time
# (which, with a flaky network, could stall every request). Retried after SDWEB_MODEL_RETRY seconds.
_model_failures: dict[str, tuple[float, str]] = {}


def model_problem(name: str) -> str | None:
    """None if the autoencoder ``name`` is loaded (loading it now, once), else why it is not available."""
    failed = _model_failures.get(name)
    if failed and time.monotonic() - failed[0] < model_retry_s():
        return failed[1]
    try:
        load_autoencoder(name)  # the library caches a loaded model for the whole process
    except Exception as e:  # noqa: BLE001 - ModelNotAvailableError, InputError, or anything diffusers throws
        _model_failures[name] = (time.monotonic(), str(e))
        return str(e)
    _model_failures.pop(name, None)
    return None


def check_models(model: str | None = None, preload_denoiser: bool | None = None) -> ModelStatus:
    """Load the SD autoencoder ``model`` (default: the startup model) once and describe the outcome; never raises.

    ``preload_denoiser`` (default: on a GPU, where decodes use it) loads the denoising UNet too.
    """
    name = model or startup_model()
    try:
        device = default_device()
    except Exception as e:  # noqa: BLE001 - e.g. a broken torch install: the page must still come up
        return ModelStatus(name, "cpu", False, f"torch is not usable here ({e})")
    start = time.perf_counter()
    problem = model_problem(name)
    if problem:
        return ModelStatus(name, device, False, problem)
    seconds = time.perf_counter() - start
    status = ModelStatus(name, device, True, f"{seconds:.1f} s" if seconds >= 0.1 else "")  # "" when already cached
    if preload_denoiser is None:
        preload_denoiser = device.startswith("cuda")
    if preload_denoiser:
        try:
            load_denoiser()
            status.denoiser = f"SD 1.5 UNet loaded, {DEFAULT_STEPS_GPU} steps by default."
        except Exception as e:  # noqa: BLE001
            status.denoiser = f"the SD 1.5 UNet is not available, so SD decodes without it ({sentence(str(e))})"
    else:
        status.denoiser = "off by default on a CPU (pick steps under SD options to use the SD 1.5 UNet)."
    return status
