"""Determinism: the same image encodes to the same bytes, the same file decodes to the same pixels (CPU).

Twice in one process with the tiny random models (both modes, encoder refinement, the denoising decoder),
and with the real TAESD on a small crop, in this process and in a fresh one (a different process must not
change a byte: no hash-seeded or thread-dependent choice may leak into the file).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import sdweb
from conftest import smooth_image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _twice(function):
    return function(), function()


@pytest.mark.parametrize("mode, options", [("palette", {}), ("entropy", {}), ("palette", {"colors": 7}),
                                           ("entropy", {"step": 0.4})])
def test_tiny_models_encode_and_decode_identically(tiny_models, mode, options):
    image = smooth_image(32, 40, seed=5)
    first, second = _twice(lambda: sdweb.encode(image, target_size=None if options else 700, model="taesd",
                                                mode=mode, **options))
    assert bytes(first) == bytes(second)
    a, b = _twice(lambda: np.asarray(sdweb.decode(first, model="taesd")))
    np.testing.assert_array_equal(a, b)


def test_refinement_is_deterministic(tiny_models):
    image = smooth_image(32, 40, seed=6)
    first, second = _twice(lambda: sdweb.encode(image, target_size=800, model="taesd", effort=1, seed=3))
    assert bytes(first) == bytes(second)


def test_denoising_decode_is_deterministic(tiny_models):
    data = sdweb.encode(smooth_image(32, 40, seed=7), target_size=800, model="taesd", seed=11)
    a, b = _twice(lambda: np.asarray(sdweb.decode(data, model="taesd", denoise_steps=2)))
    np.testing.assert_array_equal(a, b)


def test_sixteen_channel_family_is_deterministic(tiny_models):
    image = smooth_image(24, 32, seed=8)
    for mode in ("palette", "entropy"):
        first, second = _twice(lambda: sdweb.encode(image, model="taesd3", mode=mode))
        assert bytes(first) == bytes(second)
        a, b = _twice(lambda: np.asarray(sdweb.decode(first, model="taesd3")))
        np.testing.assert_array_equal(a, b)


_REAL = """
import hashlib, json, sys
import numpy as np
from PIL import Image
import sdweb
image = Image.open(sys.argv[1])
out = {}
for mode, knob in (("palette", {"colors": 48}), ("entropy", {"step": 0.3})):
    data = sdweb.encode(image, model="taesd", mode=mode, **knob)
    pixels = np.asarray(sdweb.decode(data, model="taesd"))
    out[mode] = [hashlib.sha256(data).hexdigest(), hashlib.sha256(pixels.tobytes()).hexdigest()]
print(json.dumps(out))
"""


def test_real_taesd_is_deterministic_within_and_across_processes(real_taesd, tmp_path):
    from app_server import ROOT as APP_ROOT

    crop = tmp_path / "crop.png"
    with Image.open(APP_ROOT / "examples" / "closeup_cat.png") as image:
        image.crop((160, 80, 288, 176)).save(crop)  # 128×96: quick on two CPU cores
    here = {}
    # Fixed knobs (one encoder pass each); the rate control's determinism is tested with the tiny models.
    for mode, knob in (("palette", {"colors": 48}), ("entropy", {"step": 0.3})):
        first, second = _twice(lambda: sdweb.encode(crop, model="taesd", mode=mode, **knob))
        assert bytes(first) == bytes(second), mode
        a, b = _twice(lambda: np.asarray(sdweb.decode(first, model="taesd")))
        np.testing.assert_array_equal(a, b)
        here[mode] = [hashlib.sha256(first).hexdigest(), hashlib.sha256(a.tobytes()).hexdigest()]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, *sys.path]), PYTHONHASHSEED="12345")
    env.pop("SDWEB_MODEL_DIR", None)
    result = subprocess.run([sys.executable, "-c", _REAL, str(crop)], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == here
