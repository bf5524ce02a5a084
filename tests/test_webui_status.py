"""webui.status: the model status line, and failed model loads remembered instead of retried per request."""

import app_server  # noqa: F401, I001 - sets gradio's env (no analytics, no proxy) before gradio is imported

import sdweb
from webui import status


def test_model_status_when_loaded(tiny_models):
    loaded = status.check_models("taesd", preload_denoiser=False)
    assert loaded.ok and "`taesd` on CPU — loaded" in loaded.markdown()
    assert "off by default on a CPU" in loaded.markdown()


def test_a_failed_model_is_remembered_until_the_retry_interval(monkeypatch):
    def unavailable(name, *args, **kwargs):
        raise sdweb.ModelNotAvailableError(f"model {name!r} is not available: offline")

    monkeypatch.setattr(status, "load_autoencoder", unavailable)
    monkeypatch.setattr(status, "_model_failures", {})
    missing = status.check_models("taesd", preload_denoiser=False)
    assert not missing.ok and "not available" in missing.markdown() and "keep working" in missing.markdown()
    calls = []
    monkeypatch.setattr(status, "load_autoencoder", lambda name: calls.append(name))
    assert status.model_problem("taesd") and not calls  # a failure is remembered, not retried per request …
    monkeypatch.setenv("SDWEB_MODEL_RETRY", "0")
    assert status.model_problem("taesd") is None and calls == ["taesd"]  # … until the retry interval has passed


def test_codec_choices_start_with_sd():
    choices = status.codec_choices()
    assert choices[0] == ("SD latent", "sd") and ("JPEG", "jpeg") in choices

