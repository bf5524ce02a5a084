"""webui.inputs and webui.settings: what a user sent becomes library arguments or a sentence saying what to change."""

import math

import pytest

import app_server  # noqa: F401, I001 - sets gradio's env (no analytics, no proxy) before gradio is imported

import gradio as gr
import sdweb
from webui import inputs, settings


@pytest.mark.parametrize("kb, expected", [(5, 5000), ("2.5", 2500), (0.0001, 1), (inputs.MAX_TARGET_KB, 5_000_000)])
def test_target_in_bytes(kb, expected):
    assert inputs.target_bytes(kb) == expected


@pytest.mark.parametrize("kb", [0, -1, math.nan, math.inf, inputs.MAX_TARGET_KB + 1, None, "five"])
def test_target_out_of_range(kb):
    with pytest.raises(gr.Error):
        inputs.target_bytes(kb)


def test_steps_and_whole_numbers():
    assert inputs.parse_steps("auto") is None and inputs.parse_steps("") is None and inputs.parse_steps("4") == 4
    assert inputs.whole(None, "seed", 0, 9) == 0 and inputs.whole("7", "seed", 0, 9) == 7
    with pytest.raises(gr.Error, match="seed must be from 0 to 9; you entered 10"):
        inputs.whole(10, "seed", 0, 9)


def test_messages_are_sentences_and_plain_text():
    assert inputs.sentence(" model 'x' is missing ") == "Model 'x' is missing."
    assert inputs.sentence("Done!") == "Done!"
    assert "&lt;b&gt;" in str(inputs.user_error("bad file <b>.png"))
    missing = sdweb.ModelNotAvailableError("the UNet is not available")
    assert "Set denoise steps to auto" in str(inputs.library_error(missing, 4))
    assert "Set denoise steps" not in str(inputs.library_error(missing, 0))


def test_a_junk_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("SDWEB_RUN_TTL", "1h")
    with pytest.raises(ValueError, match="SDWEB_RUN_TTL must be a number"):
        settings.run_ttl_s()
    monkeypatch.setenv("SDWEB_RUN_TTL", "")
    assert settings.run_ttl_s() == 3600
    monkeypatch.setenv("SDWEB_APP_MAX_PIXELS", "2e6")
    assert settings.max_pixels() == 2_000_000


def test_upload_image_renders_as_a_plain_image_and_turns_bad_uploads_into_gr_errors(tmp_path):
    import gradio as gr
    import pytest

    from webui.components import UploadImage

    component = UploadImage(type="filepath", image_mode=None)
    assert component.get_block_name() == "image"
    bad = tmp_path / "x.png"
    bad.write_bytes(b"plain text, not an image")
    with pytest.raises(gr.Error, match="not an image we can read"):
        component.preprocess({"path": str(bad), "meta": {"_type": "gradio.FileData"}})
