import numpy as np
import pytest

from sdweb.errors import FormatError, InputError, TargetSizeError
from sdweb.latent import codec_by_id, codec_by_name, context
from sdweb.latent.entropy import DEADZONE, downscale, quantize, step_index, step_size, upscale

entropy = codec_by_name("entropy")


def latent(channels=4, height=20, width=28, seed=0):
    """Smooth, correlated channels, like a real latent."""
    rng = np.random.default_rng(seed)
    base = np.cumsum(np.cumsum(rng.normal(0, 0.15, (1, height, width)), axis=1), axis=2)
    mix = rng.normal(0, 1, (channels, 1, 1))
    return (base * mix + rng.normal(0, 0.2, (channels, height, width))).astype(np.float32)


@pytest.mark.parametrize("channels", [4, 16])
@pytest.mark.parametrize("step", [0.1, 0.4, 1.5])
def test_round_trip_is_exactly_the_quantized_latent(channels, step):
    z = latent(channels)
    payload = entropy.encode(z, step=step)
    out = entropy.decode(payload, z.shape)
    expected = quantize(z, step_size(step_index(step))) * step_size(step_index(step))
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert entropy.describe(payload, z.shape)["step"] == pytest.approx(step_size(step_index(step)), abs=1e-5)


def test_coarser_steps_make_smaller_files():
    z = latent()
    sizes = [len(entropy.encode(z, step=s)) for s in (0.1, 0.3, 0.9, 2.5)]
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("limit", [100, 400, 1500])
def test_rate_control_picks_the_finest_step_that_fits(limit):
    z = latent()
    payload = entropy.encode(z, max_bytes=limit)
    assert len(payload) <= limit
    index, factor = payload[1], payload[2]
    if index > 0:
        finer = entropy._encode_at(downscale(z, factor), index - 1, factor)
        assert finer is None or len(finer) > limit


def test_low_rates_may_code_a_coarser_latent_grid():
    z = latent(height=24, width=32)
    tiny_budget = entropy.encode(z, max_bytes=120)
    assert entropy.describe(tiny_budget, z.shape)["factor"] in (2, 4)
    out = entropy.decode(tiny_budget, z.shape)
    assert out.shape == z.shape
    f = entropy.describe(tiny_budget, z.shape)["factor"]
    np.testing.assert_array_equal(out[:, :f, :f], np.full((4, f, f), 1.0) * out[:, :1, :1])


def test_downscale_then_upscale_keeps_block_means():
    z = latent(height=7, width=9)
    low = downscale(z, 2)
    assert low.shape == (4, 4, 5)
    np.testing.assert_allclose(low[:, 0, 0], z[:, :2, :2].mean(axis=(1, 2)), rtol=1e-6)
    big = upscale(low, 2, (7, 9))
    assert big.shape == z.shape
    np.testing.assert_array_equal(downscale(big, 2), low)


def test_target_below_the_smallest_payload():
    with pytest.raises(TargetSizeError) as info:
        entropy.encode(latent(), max_bytes=5)
    assert info.value.smallest > 5


def test_context_model_beats_a_memoryless_code():
    """On smooth latents prediction must pay: fewer bits than the zeroth-order entropy."""
    z = latent(height=32, width=48)
    step = 0.2
    q = quantize(z, step_size(step_index(step)))
    zeroth = 0.0
    for c in range(q.shape[0]):
        _, counts = np.unique(q[c], return_counts=True)
        zeroth += -(counts * np.log2(counts / counts.sum())).sum()
    assert 8 * len(entropy.encode(z, step=step)) < 0.8 * zeroth


def test_coder_overhead_is_below_two_percent():
    z = latent(height=32, width=48)
    bits = entropy.coding_cost(entropy.encode(z, step=0.3), z.shape)
    assert 0 < bits["model_bits"] <= bits["coded_bits"] <= 1.02 * bits["model_bits"] + 64


def test_prediction_is_exact_integer_arithmetic():
    rng = np.random.default_rng(3)
    symbols = rng.integers(-20, 21, size=(2, 5, 6))
    weights = [rng.integers(-128, 128, size=context.feature_count(c)) for c in range(2)]
    grid = context.padded(symbols.shape)
    grid[:, context.PAD:-context.PAD, context.PAD:-context.PAD] = symbols
    cs, ys, xs = np.indices(symbols.shape).reshape(3, -1)
    rounded, side = context.Predictor(weights, grid.shape)(grid, cs, ys, xs)
    for c in range(2):
        at = cs == c
        exact = context.features(grid, c, ys[at], xs[at]) @ weights[c] / 64  # float, exact for these sizes
        assert np.array_equal(rounded[at], np.floor(exact + 0.5))
        assert np.array_equal(side[at], (exact >= rounded[at]).astype(int))


def test_waves_cover_every_position_once_after_its_causal_neighbours():
    seen = np.full((5, 7), -1)
    for t, (ys, xs) in enumerate(context.waves(5, 7)):
        for y, x in zip(ys, xs):
            for dy, dx in context.SAME_OFFSETS:
                if 0 <= y + dy < 5 and 0 <= x + dx < 7:
                    assert 0 <= seen[y + dy, x + dx] < t
            seen[y, x] = t
    assert (seen >= 0).all()


def test_bad_options_and_garbage():
    with pytest.raises(InputError):
        entropy.encode(latent(), step=-1)
    z = latent()
    payload = entropy.encode(z, step=0.5)
    with pytest.raises(FormatError):
        entropy.decode(payload[:-3], z.shape)
    with pytest.raises(FormatError):
        entropy.decode(b"\x09" + payload[1:], z.shape)
    assert codec_by_id(2) is entropy


def test_corrupted_stream_gives_format_error_or_a_bounded_latent():
    z = latent()
    payload = bytearray(entropy.encode(z, step=0.3))
    rng = np.random.default_rng(3)
    for _ in range(50):
        broken = bytearray(payload)
        broken[int(rng.integers(2, len(broken)))] ^= 1 << int(rng.integers(0, 8))
        try:
            out = entropy.decode(bytes(broken), z.shape)
        except FormatError:
            continue
        assert out.shape == z.shape and np.all(np.abs(out) <= 64)


def test_dead_zone_rounds_towards_zero_near_midpoints():
    step = 0.5
    values = np.array([0.0, 0.24, 0.26, 0.26 + DEADZONE * step, -0.28, -0.3 - DEADZONE * step, 0.74, 0.81])
    assert quantize(values, step).tolist() == [0, 0, 0, 1, 0, -1, 1, 2]


@pytest.mark.parametrize("shape", [(4, 1, 1), (16, 1, 9), (4, 9, 1), (16, 3, 2)])
def test_tiny_and_thin_latents_round_trip(shape):
    z = np.random.default_rng(2).normal(0, 1, shape).astype(np.float32)
    payload = entropy.encode(z, step=0.25)
    step = step_size(step_index(0.25))
    np.testing.assert_allclose(entropy.decode(payload, shape), quantize(z, step) * step, atol=1e-5)


def test_schedule_codes_every_symbol_once_after_what_it_reads():
    channels, height, width = 5, 4, 6
    done = np.full((channels, height, width), -1)
    for step, (cs, ys, xs) in enumerate(context.schedule(channels, height, width)):
        for c, y, x in zip(cs, ys, xs):
            for dy, dx in context.SAME_OFFSETS:
                if 0 <= y + dy < height and 0 <= x + dx < width:
                    assert 0 <= done[c, y + dy, x + dx] < step
            for k in context.cross_channels(c):
                for dy, dx in context.CROSS_OFFSETS:
                    if 0 <= y + dy < height and 0 <= x + dx < width:
                        assert 0 <= done[k, y + dy, x + dx] < step
            done[c, y, x] = step
    assert (done >= 0).all()
