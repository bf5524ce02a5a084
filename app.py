"""sdweb web app: compress an image with the SD latent codec and decode .sdw files.

Only UI wiring lives here; the codec is the sdweb library.
"""

from __future__ import annotations

import os
import tempfile

import gradio as gr

import sdweb


def compress(image, target_kb: float):
    """Encode ``image`` to at most ``target_kb`` kB and decode it back."""
    if image is None:
        raise gr.Error("Upload an image first.")
    try:
        data = sdweb.encode(image, target_size=int(target_kb * 1000))
        decoded = sdweb.decode(data)
    except sdweb.SdwebError as e:
        raise gr.Error(str(e)) from None
    fd, path = tempfile.mkstemp(suffix=".sdw")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return decoded, path, f"{len(data)} bytes ({data.mode} mode, {data.model})"


def decode_file(path):
    """Decode an uploaded .sdw file."""
    if not path:
        raise gr.Error("Upload an .sdw file first.")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return sdweb.decode(data), sdweb.info(data)
    except sdweb.SdwebError as e:
        raise gr.Error(str(e)) from None


def build() -> gr.Blocks:
    with gr.Blocks(title="sdweb") as demo:
        gr.Markdown("# sdweb — Stable Diffusion latent-space image compression")
        with gr.Tab("Compress"):
            image = gr.Image(type="pil", label="Image")
            target = gr.Slider(1, 50, value=5, step=0.5, label="Target size (kB)")
            run = gr.Button("Compress", variant="primary")
            out = gr.Image(type="pil", format="png", label="Decoded")
            file = gr.File(label=".sdw file")
            size = gr.Textbox(label="Size")
            run.click(compress, [image, target], [out, file, size], api_name="compress")
        with gr.Tab("Decode"):
            upload = gr.File(label=".sdw file", file_types=[".sdw"])
            go = gr.Button("Decode")
            decoded = gr.Image(type="pil", format="png", label="Decoded")
            header = gr.JSON(label="Header")
            go.click(decode_file, [upload], [decoded, header], api_name="decode")
    return demo


if __name__ == "__main__":
    build().queue(default_concurrency_limit=1).launch()
