"""A context model for integer latent symbols, exact in integer arithmetic.

Each symbol ``q[c, y, x]`` is predicted from already-coded neighbours: the
causal neighbours W, N, NW, NE, WW, NN of its own channel and, because
channels are coded one after the other, the co-located and four-neighbour
values of up to three previous channels. The prediction is an integer linear
combination (weights fitted per image by least squares and sent as small
integers), and the residual ``e = q − prediction`` is coded with adaptive
frequency tables chosen by the local activity (the residual magnitudes of the
causal neighbours).

Everything the decoder computes is integer arithmetic, so encoder and decoder
agree bit for bit on every machine. Symbols are processed in anti-diagonal
waves (``t = x + 2y``): every causal neighbour of a wave lies in an earlier
wave, so a whole wave is predicted and decoded with one vectorised step. The
channels run in a pipeline, each CHANNEL_LAG waves behind the one before (its
cross-channel features reach two waves ahead, E and S), so one step decodes a
wave of every channel at once: a 16-channel latent takes barely more steps
than a 4-channel one, and a one-row latent is not decoded one symbol a step.
"""

from __future__ import annotations

import functools

import numpy as np

#: Causal neighbours of the same channel, as (dy, dx); all lie in earlier waves.
SAME_OFFSETS = ((0, -1), (-1, 0), (-1, -1), (-1, 1), (0, -2), (-2, 0))
#: Neighbours of an already-coded channel (the whole channel is known).
CROSS_OFFSETS = ((0, 0), (0, 1), (1, 0), (0, -1), (-1, 0))
MAX_CROSS_CHANNELS = 3
PAD = 2
WEIGHT_SHIFT = 6  # weights are fixed point with 6 fractional bits
#: Activity thresholds: context k holds activities in [T[k], T[k+1]).
ACTIVITY_THRESHOLDS = np.array([0, 1, 2, 3, 4, 6, 8, 11, 15, 20, 28, 40, 56, 80])
CONTEXTS = 2 * len(ACTIVITY_THRESHOLDS)  # × rounding side
COUNT_INCREMENT = 64
CHANNEL_LAG = 3


def cross_channels(c: int) -> list[int]:
    """The previous channels channel ``c`` is predicted from (the nearest ones)."""
    return list(range(max(0, c - MAX_CROSS_CHANNELS), c))


def feature_count(c: int) -> int:
    """Number of prediction weights of channel ``c``, bias included."""
    return len(SAME_OFFSETS) + len(CROSS_OFFSETS) * len(cross_channels(c)) + 1


@functools.lru_cache(maxsize=8)
def waves(height: int, width: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Positions (ys, xs) of each anti-diagonal wave t = x + 2y, in coding order (cached; read-only)."""
    ys, xs = np.mgrid[0:height, 0:width]
    t = (xs + 2 * ys).ravel()
    order = np.argsort(t, kind="stable")
    bounds = np.searchsorted(t[order], np.arange(t.max() + 2))
    flat_y, flat_x = ys.ravel()[order], xs.ravel()[order]
    return tuple((flat_y[a:b], flat_x[a:b]) for a, b in zip(bounds[:-1], bounds[1:]) if b > a)


@functools.lru_cache(maxsize=8)
def schedule(channels: int, height: int, width: int) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
    """The coding order: per step, the (channel, y, x) arrays of the rows it codes (cached; read-only).

    Step s holds wave ``s − CHANNEL_LAG·c`` of every channel c that has one.
    """
    wave_list = waves(height, width)
    steps = []
    for s in range(len(wave_list) + CHANNEL_LAG * (channels - 1)):
        parts = [(c, wave_list[s - CHANNEL_LAG * c]) for c in range(channels)
                 if 0 <= s - CHANNEL_LAG * c < len(wave_list)]
        if not parts:
            continue  # a latent with fewer waves than the pipeline's lag
        steps.append((
            np.concatenate([np.full(len(ys), c, dtype=np.int64) for c, (ys, _) in parts]),
            np.concatenate([ys for _, (ys, _) in parts]),
            np.concatenate([xs for _, (_, xs) in parts]),
        ))
    return tuple(steps)


class Predictor:
    """All channels' prediction weights, laid out to predict rows of mixed channels in one step."""

    def __init__(self, weights: list[np.ndarray], padded_shape: tuple[int, int, int]):
        channels, padded_height, padded_width = padded_shape
        width = max(len(w) for w in weights) - 1
        self.padded_shape = padded_shape
        self.offsets = np.zeros((channels, width), dtype=np.int64)
        self.valid = np.zeros((channels, width), dtype=bool)
        self.weights = np.zeros((channels, width), dtype=np.int64)
        self.bias = np.array([w[-1] for w in weights], dtype=np.int64)
        for c, w in enumerate(weights):
            offsets = _feature_offsets(c, padded_height, padded_width)
            self.offsets[c, : len(offsets)] = offsets
            self.valid[c, : len(offsets)] = True
            self.weights[c, : len(offsets)] = w[:-1]

    def __call__(self, symbols_padded: np.ndarray, cs, ys, xs) -> tuple[np.ndarray, np.ndarray]:
        """Integer predictions round(features · weights / 2**WEIGHT_SHIFT) for rows of channels ``cs``
        at (ys, xs), and the side each was rounded from.

        The side (0: the exact prediction lies below the rounded one, 1: above)
        joins the context: at coarse steps, where most symbols are 0 or ±1, it
        saved about 5 % of the bits on Kodak.
        """
        base = _flat_positions(self.padded_shape, cs, ys, xs)
        # Missing features (a channel with fewer previous channels) read flat
        # index 0, a padding cell that is always zero.
        index = np.where(self.valid[cs], base[:, None] + self.offsets[cs], 0)
        gathered = np.take(symbols_padded.reshape(-1), index)
        acc = (gathered * self.weights[cs]).sum(axis=1) + self.bias[cs] + (1 << (WEIGHT_SHIFT - 1))
        rounded = acc >> WEIGHT_SHIFT
        return rounded, (acc - (rounded << WEIGHT_SHIFT)) >> (WEIGHT_SHIFT - 1)


def padded(shape: tuple[int, int, int]) -> np.ndarray:
    """A zero int64 array with a PAD border, for neighbour lookups without bounds checks."""
    channels, height, width = shape
    return np.zeros((channels, height + 2 * PAD, width + 2 * PAD), dtype=np.int64)


@functools.lru_cache(maxsize=64)
def _feature_offsets(c: int, padded_height: int, padded_width: int) -> np.ndarray:
    """Flat offsets, in a padded (C, H, W) array, of channel ``c``'s features from its own position."""
    plane = padded_height * padded_width
    offsets = [dy * padded_width + dx for dy, dx in SAME_OFFSETS]
    for k in cross_channels(c):
        offsets += [(k - c) * plane + dy * padded_width + dx for dy, dx in CROSS_OFFSETS]
    return np.array(offsets, dtype=np.int64)


def _flat_positions(padded_shape, c, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    _, padded_height, padded_width = padded_shape
    return (c * padded_height + ys + PAD) * padded_width + xs + PAD


def features(symbols_padded: np.ndarray, c: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(n, F) int64 feature matrix for channel ``c`` at positions (ys, xs), bias column last.

    One gather through precomputed flat offsets: decoding calls this once
    per wave, so it must cost little more than the symbols it reads.
    """
    base = _flat_positions(symbols_padded.shape, c, ys, xs)
    offsets = _feature_offsets(c, *symbols_padded.shape[1:])
    gathered = np.take(symbols_padded.reshape(-1), base[:, None] + offsets[None, :])
    return np.concatenate([gathered, np.ones((len(base), 1), dtype=np.int64)], axis=1)


def context_index(residuals_padded: np.ndarray, c, ys: np.ndarray, xs: np.ndarray, side: np.ndarray):
    """Context per position: the causal neighbours' residual magnitudes (bucketed) and the rounding side."""
    width = residuals_padded.shape[2]
    base = _flat_positions(residuals_padded.shape, c, ys, xs)
    # Gather first, then abs: the plane may be large, a wave is small.
    near = np.abs(np.take(residuals_padded.reshape(-1), base[:, None] + [-1, -width, -width - 1, -width + 1]))
    activity = 2 * (near[:, 0] + near[:, 1]) + near[:, 2] + near[:, 3]
    bucket = np.searchsorted(ACTIVITY_THRESHOLDS, activity, side="right") - 1
    return 2 * bucket + side


def fit_weights(symbols: np.ndarray, c: int) -> np.ndarray:
    """Least-squares prediction weights for channel ``c`` as fixed-point integers (encoder only)."""
    channels, height, width = symbols.shape
    grid = padded(symbols.shape)
    grid[:, PAD:-PAD, PAD:-PAD] = symbols
    ys, xs = np.mgrid[0:height, 0:width]
    ys, xs = ys.ravel(), xs.ravel()
    matrix = features(grid, c, ys, xs).astype(np.float64)
    target = symbols[c].ravel().astype(np.float64)
    solution, *_ = np.linalg.lstsq(matrix, target, rcond=None)
    scaled = np.round(solution * (1 << WEIGHT_SHIFT))
    limit = np.full(len(solution), 127.0)
    limit[-1] = 32767.0  # the bias may be large
    return np.clip(scaled, -limit - 1, limit).astype(np.int64)


def prior_counts(max_residual: int) -> np.ndarray:
    """Initial frequency tables (CONTEXTS × alphabet): wider for busier contexts.

    A rational, heavy-tailed shape computed with integer arithmetic only, so
    every machine builds the same tables.
    """
    e = np.arange(-max_residual, max_residual + 1, dtype=np.int64)
    scale = 1 + np.arange(CONTEXTS, dtype=np.int64)[:, None] // 2 * 2  # in quarter symbols
    return np.maximum(1, (64 * scale * scale) // (scale + 4 * np.abs(e)[None, :]) ** 2 * 8)


class AdaptiveTables:
    """Per-channel, per-context symbol counts, updated after every step (identically on both sides).

    All channels share one alphabet ``−M…M`` (M the largest of their
    residual bounds) so one step can code rows of several channels; symbols
    beyond a channel's own bound start with zero counts, which the coder turns
    into the smallest probability it can represent.
    """

    def __init__(self, max_residuals: list[int]):
        self.bounds = np.array(max_residuals, dtype=np.int64)
        self.offset = int(self.bounds.max())
        self.counts = np.zeros((len(max_residuals), CONTEXTS, 2 * self.offset + 1), dtype=np.int64)
        for c, bound in enumerate(max_residuals):
            self.counts[c, :, self.offset - bound : self.offset + bound + 1] = prior_counts(bound)

    def probabilities(self, cs: np.ndarray, contexts: np.ndarray) -> np.ndarray:
        return self.counts[cs, contexts].astype(np.float64)

    def update(self, cs: np.ndarray, contexts: np.ndarray, residuals: np.ndarray) -> None:
        np.add.at(self.counts, (cs, contexts, residuals + self.offset), COUNT_INCREMENT)
