"""sdweb web app: SD latent compression next to JPEG, WebP, AVIF and JPEG XL, in the browser and through an API.

Only UI wiring lives here: configuration, the handlers that events and the API endpoints (``/compress``,
``/decode``) call, the page layout and the launch. Every size, score, file and picture comes from the sdweb library;
the helpers that check inputs, write a run's files and lay results out are in ``webui/``, the page's HTML, CSS and
JS in ``webui/assets/``. Every handler is a plain function that tests call without a browser; errors a user can
cause become ``gr.Error`` sentences.

Run ``python app.py``; the environment variables are listed in the README ("Web app") and in ``Spacefile``.
"""

from __future__ import annotations

import os
from pathlib import Path

try:  # On a Hugging Face Space with ZeroGPU; imported before anything touches CUDA.
    import spaces
except ImportError:
    spaces = None

import gradio as gr

import sdweb
from sdweb import artefacts
from sdweb.compare import compare
from sdweb.latent import CODECS as SD_MODES
from sdweb.models import MODELS
from webui import settings, static, views
from webui.components import UploadImage
from webui.inputs import (MAX_TARGET_KB, check_image, image_size, library_error, parse_steps, sentence, target_bytes,
                          user_error, whole)
from webui.runs import file_stem, new_run_dir, write_run
from webui.status import ModelStatus, check_models, codec_choices, model_problem

# --- configuration ----------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent
EXAMPLES = [  # (file, label) in the order shown
    ("closeup_cat.png", "Cat, close-up"),
    ("portrait_astronaut.png", "Portrait"),
    ("landscape_autumn_mountains.jpg", "Landscape"),
    ("still_life_coffee.png", "Coffee"),
    ("text_printed_page.png", "Printed text"),
    ("texture_grass.png", "Grass texture"),
]
DEFAULT_TARGET_KB = 5.0
DENOISE_CHOICES = ["auto", "0", "1", "2", "4", "8", "16"]
# The latent coding mode the page and the API start with. `sdweb.encode` keeps
# Bühlmann's palette as its default; the app prefers the entropy mode, which
# matches the palette's quality on Kodak at effort 0 and, unlike it, reaches any size.
DEFAULT_MODE = "entropy"
ZERO_GPU = spaces is not None and os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true")


def _compare(image, target, codecs, **options):
    return compare(image, target, codecs, **options)


def _decode(data, model, steps):
    return sdweb.decode(data, model=model, denoise_steps=steps, max_pixels=settings.max_pixels())


if spaces is not None:  # a no-op unless the Space runs on ZeroGPU, where each call borrows a GPU
    _compare = spaces.GPU(duration=120)(_compare)
    _decode = spaces.GPU(duration=60)(_decode)


# --- handlers ---------------------------------------------------------------------------------------------------


def target_hint(image, target_kb) -> str:
    """What the target means for this image: bits per pixel and compression ratio."""
    return views.target_hint(image_size(image), target_kb)


def buhlmann_target(image) -> float:
    """The target in kB with Bühlmann's bits per pixel (about 5 kB at 512×512) for this image's size."""
    return views.buhlmann_kb(image_size(image))


def run_comparison(image, target_kb=DEFAULT_TARGET_KB, codecs=None, model=None, mode=DEFAULT_MODE,
                   denoise_steps="auto", seed=0, effort=0, progress=None):
    """Validate the inputs, run ``sdweb.compare.compare`` and write every file the page and the API hand out.

    Returns a ``webui.runs.Run``. ``progress(fraction, stage)`` is called between stages. Raises gr.Error for
    anything the user can fix.
    """
    check_image(image)
    target = target_bytes(target_kb)
    codecs = list(codecs if codecs is not None else [name for _, name in codec_choices()])
    if not codecs:
        raise user_error("Tick at least one codec to compare.")
    model = model or settings.startup_model()
    steps = parse_steps(denoise_steps)
    seed = whole(seed, "seed", 0, 2**32 - 1)
    effort = whole(effort, "effort", 0, 9)
    app_notes = []
    problem = model_problem(model) if "sd" in codecs else None  # a missing model skips SD, not the whole run
    if problem:
        codecs.remove("sd")
        app_notes.append(f"SD was skipped: {sentence(problem)}")
        if not codecs:
            raise user_error(f"The SD model is not available, so there is nothing to compare. {sentence(problem)} "
                             "Tick JPEG, WebP, AVIF or JPEG XL to compare those.")

    stages = 3 * len(codecs) + ("sd" in codecs) + 1
    done = [0]

    def say(stage: str) -> None:
        if progress is not None:
            progress(done[0] / stages, stage)
        done[0] += 1

    try:
        comparison = _compare(
            image, target, codecs, model=model, mode=mode, denoise_steps=steps, seed=seed,
            sd_options={"effort": effort} if effort > 0 else None, max_pixels=settings.max_pixels(),
            progress=None if ZERO_GPU else say,  # a callback cannot cross into the ZeroGPU worker
        )
    except sdweb.SdwebError as e:
        raise library_error(e, steps) from None
    say("writing files")
    return write_run(image, comparison, app_notes)


def compress_ui(image, target_kb, codecs, model, mode, denoise_steps, seed, effort, progress=gr.Progress()):
    """The Run button: a comparison laid out for the page."""
    run = run_comparison(image, target_kb, codecs, model, mode, denoise_steps, seed, effort,
                         progress=lambda fraction, stage: progress(fraction, desc=stage))
    first = run.results[0].codec  # SD when it ran: the honesty panel starts on it
    state = views.inspect_state(run)
    slider, diff, caption = inspect(first, state)
    downloads = [str(p) for p in run.encoded.values()] + [str(p) for p in run.flicker.values()] + [str(run.report_file)]
    return (
        views.flicker_value(run),
        views.notes_markdown(run),
        views.metrics_table(run.report),
        views.cards_html(run),
        gr.update(choices=[(r.label, r.codec) for r in run.results], value=first),
        slider,
        diff,
        caption,
        downloads,
        run.report,
        state,
    )


def inspect(codec, state):
    """Slider (original, decoded) and difference map for ``codec`` of the last run."""
    if not state or codec not in state.get("decoded", {}):
        raise user_error("Run a comparison first, then pick one of its codecs here.")
    if not Path(state["decoded"][codec]).is_file():
        raise user_error("These results have expired. Run the comparison again.")
    caption = views.diff_caption(state["labels"][codec])
    return (state["original"], state["decoded"][codec]), state["diff"][codec], caption


def compress(image: str, target_kb: float = DEFAULT_TARGET_KB, codecs: list[str] | None = None,
             model: str | None = None, mode: str = DEFAULT_MODE, denoise_steps: str = "auto", seed: int = 0,
             effort: int = 0, progress=gr.Progress()) -> tuple[dict, list[str], list[str]]:
    """Compress an image with SD and the classic codecs at the same file size, and score each result.

    Args:
        image: the image file (PNG, JPEG, WebP, …).
        target_kb: the SD file's target size in kB (1 kB = 1000 bytes); every other codec then aims at SD's actual size.
        codecs: any of "sd", "jpeg", "webp", "avif", "jxl" (default: all available).
        model: the SD autoencoder, e.g. "taesd" or "sd15" (default: sd15 on a GPU, taesd on a CPU).
        mode: the SD latent coding mode, e.g. "palette".
        denoise_steps: "auto" (4 on a GPU, 0 on a CPU) or a number of SD 1.5 UNet steps when decoding.
        seed: the seed stored in the .sdw file for the denoising decoder.
        effort: 0 to 9, encoder-side refinement of the SD latent (slower; 0 = off).

    Returns:
        The JSON report (sizes, bpp, compression ratio, PSNR, SSIM, MS-SSIM, SSIMULACRA 2, LPIPS, notes),
        the encoded files (.sdw, .jpg, .webp, .avif, .jxl) and the decoded images as PNG, in report order.
    """
    run = run_comparison(image, target_kb, codecs, model, mode, denoise_steps, seed, effort,
                         progress=lambda fraction, stage: progress(fraction, desc=stage))
    order = [row["codec"] for row in run.report["results"]]
    return run.report, [str(run.encoded[c]) for c in order], [str(run.decoded[c]) for c in order]


def decode(file: str, model: str = "auto", denoise_steps: str = "auto") -> tuple[str, dict]:
    """Decode an .sdw file back into an image.

    Args:
        file: the .sdw file.
        model: "auto" (the device's default for the file's latent family) or an autoencoder name such as "taesd".
        denoise_steps: "auto" (4 on a GPU for SD 1.x files, else 0) or a number of SD 1.5 UNet steps.

    Returns:
        The decoded image as PNG and the file's header (size, mode, latent family, seed, parameters).
    """
    if not file:
        raise user_error("Upload an .sdw file first.")
    data = Path(file).read_bytes()
    steps = parse_steps(denoise_steps)
    try:
        header = sdweb.info(data)
        image = _decode(data, None if model in (None, "", "auto") else model, steps)
    except sdweb.FormatError as e:
        raise user_error(f"This is not a valid .sdw file: {e}. Upload a file made by sdweb (this page's Compress "
                         "tab or `python -m sdweb encode`).") from None
    except sdweb.SdwebError as e:
        raise library_error(e, steps) from None
    out = new_run_dir() / f"{file_stem(file)}.decoded.png"
    out.write_bytes(artefacts.png_bytes(image))
    notes = image.info.get("sdweb_notes", [])
    if notes:
        header["decode_notes"] = notes
    return str(out), header


# --- the page ---------------------------------------------------------------------------------------------------


def build_demo(status: ModelStatus | None = None) -> gr.Blocks:
    """The whole page. ``status`` defaults to loading the startup model now (once per process)."""
    status = status or check_models()
    choices = codec_choices()
    model_choices = [(f"{name} — {spec.description}", name) for name, spec in MODELS.items()]

    with gr.Blocks(title="sdweb: Stable Diffusion image compression, compared",
                   delete_cache=(1800, 3600)) as demo:  # Gradio's copies of uploads/outputs go after an hour
        gr.Markdown(static.INTRO)
        gr.Markdown(status.markdown(), elem_id="status")
        with gr.Tab("Compress and compare"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=340):
                    image = UploadImage(label="Image", type="filepath", image_mode=None, height=300,
                                     sources=["upload", "clipboard"])
                    with gr.Row(equal_height=False):
                        target_kb = gr.Number(DEFAULT_TARGET_KB, label="Target size (kB)", minimum=0.1,
                                              maximum=MAX_TARGET_KB, step=0.5, scale=1, min_width=130)
                        with gr.Column(scale=2, min_width=200):
                            hint = gr.Markdown(target_hint(None, DEFAULT_TARGET_KB), elem_id="target-hint")
                            buhlmann = gr.Button("Bühlmann: about 5 kB at 512×512", size="sm", variant="secondary")
                    codecs = gr.CheckboxGroup(choices, value=[name for _, name in choices], label="Codecs")
                    with gr.Accordion("SD options", open=False):
                        model = gr.Dropdown(model_choices, value=status.model if status.model in MODELS else None,
                                            label="Autoencoder")
                        mode = gr.Dropdown(list(SD_MODES), value=DEFAULT_MODE, label="Latent coding mode")
                        with gr.Row():
                            denoise_steps = gr.Dropdown(DENOISE_CHOICES, value="auto", allow_custom_value=True,
                                                        label="Denoise steps",
                                                        info="SD 1.5 UNet steps when decoding; "
                                                             "auto = 4 on a GPU, 0 on a CPU")
                            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=2**32 - 1,
                                             info="noise of the denoising decoder")
                        effort = gr.Slider(0, 9, value=0, step=1, label="Effort",
                                           info="encoder-side refinement of the latent; slower, 0 = off")
                    run_btn = gr.Button("Run comparison", variant="primary", size="lg", elem_id="run-btn")
                    gr.Examples([[str(ROOT / "examples" / f)] for f, _ in EXAMPLES], inputs=[image],
                                example_labels=[label for _, label in EXAMPLES], label="Examples",
                                cache_examples=False, examples_per_page=len(EXAMPLES))
                    gr.HTML(static.ATTRIBUTION, elem_id="attribution", js_on_load=None)
                with gr.Column(scale=3, min_width=420):
                    flicker = gr.HTML(views.flicker_value(None), html_template=static.FLICKER_TEMPLATE,
                                      css_template=static.FLICKER_CSS, js_on_load=static.FLICKER_JS,
                                      elem_id="flicker", label="Flicker comparison")
                    notes = gr.Markdown()
            table = gr.Dataframe(views.empty_table(), label="Metrics (best value of each column in green; codecs over "
                                                            "the target size are not ranked)",
                                 interactive=False, wrap=True, elem_id="metrics")
            cards = gr.HTML("", css_template=static.CARDS_CSS, js_on_load=None, elem_id="cards")
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    pick = gr.Dropdown([], label="Side by side with the original: codec", interactive=True)
                    slider = gr.ImageSlider(label="Original | decoded (drag the handle)", type="filepath",
                                            format="png", max_height=640, interactive=False)
                with gr.Column(scale=2, elem_id="honesty"):
                    gr.Markdown(static.HONESTY)
                    diff_caption = gr.Markdown(views.diff_caption("SD"))
                    diff = gr.Image(label="Difference map", type="filepath", format="png", interactive=False,
                                    height=360)
            with gr.Accordion("All files and the JSON report", open=False):
                downloads = gr.File(label="Every encoded file, the flicker animations (lossless APNG) and the JSON "
                                          "report", file_count="multiple", interactive=False, height=240)
                report = gr.JSON(label="Report")
            state = gr.State({})

            # The API endpoint has its own hidden outputs so gradio_client gets plain values; it shares the
            # visible inputs (and so their defaults) with the Run button.
            with gr.Group(visible=False):
                api_btn = gr.Button("compress (API)", visible=False)
                api_report = gr.JSON(visible=False)
                api_files = gr.File(file_count="multiple", visible=False)
                api_decoded = gr.File(file_count="multiple", visible=False)

        with gr.Tab("Decode an .sdw file"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=300):
                    sdw = gr.File(label=".sdw file", file_types=[".sdw"], type="filepath")
                    with gr.Row():
                        decode_model = gr.Dropdown(["auto", *MODELS], value="auto", label="Autoencoder")
                        decode_steps = gr.Dropdown(DENOISE_CHOICES, value="auto", allow_custom_value=True,
                                                   label="Denoise steps")
                    decode_btn = gr.Button("Decode", variant="primary", elem_id="decode-btn")
                with gr.Column(scale=3):
                    decoded = gr.Image(label="Decoded", type="filepath", format="png", interactive=False)
                    header = gr.JSON(label="Header", open=True)

        inputs = [image, target_kb, codecs, model, mode, denoise_steps, seed, effort]
        image.change(target_hint, [image, target_kb], hint, api_visibility="private", queue=False)
        target_kb.change(target_hint, [image, target_kb], hint, api_visibility="private", queue=False)
        buhlmann.click(buhlmann_target, image, target_kb, api_visibility="private", queue=False)
        run_btn.click(
            compress_ui, inputs,
            [flicker, notes, table, cards, pick, slider, diff, diff_caption, downloads, report, state],
            api_visibility="private", concurrency_id="codec", show_progress_on=[flicker],
        )
        pick.input(inspect, [pick, state], [slider, diff, diff_caption], api_visibility="private")
        api_btn.click(compress, inputs, [api_report, api_files, api_decoded], api_name="compress",
                      concurrency_id="codec")
        decode_btn.click(decode, [sdw, decode_model, decode_steps], [decoded, header], api_name="decode",
                         concurrency_id="codec")
    return demo


# --- launch -----------------------------------------------------------------------------------------------------


def configure_queue(demo: gr.Blocks) -> gr.Blocks:
    """One queue for the page and the API: ``SDWEB_CONCURRENCY`` jobs at a time, ``SDWEB_QUEUE_SIZE`` waiting."""
    return demo.queue(default_concurrency_limit=settings.concurrency(), max_size=settings.queue_size())


def launch_options() -> dict:
    """Keyword arguments of ``launch`` from the environment (the server name and port are Gradio's own env vars)."""
    return dict(
        max_file_size=settings.max_file_size(),
        mcp_server=settings.mcp_server(),
        theme=gr.themes.Soft(primary_hue="indigo", secondary_hue="amber", neutral_hue="slate"),
        css=static.PAGE_CSS,
        footer_links=["api", "gradio", "settings"],
    )


def main() -> None:
    """Serve the app. GRADIO_SERVER_NAME / GRADIO_SERVER_PORT pick the address (default 127.0.0.1:7860)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = configure_queue(build_demo())
    demo.launch(**launch_options())


if __name__ == "__main__":
    main()
