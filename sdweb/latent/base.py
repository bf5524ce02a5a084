"""The interface every latent codec implements.

A latent codec turns a float latent of shape (C, H, W) into a self-describing
payload and back. It knows nothing of images, models or the container: the
container stores which codec ran (``mode_id``) and the latent shape, and hands
the payload back to the same codec on decode (as in CompressAI's
``latent_codecs``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class LatentCodec(ABC):
    """One way of coding a latent. Subclasses set ``name`` and ``mode_id``."""

    name: str
    mode_id: int
    #: Knob names accepted by :meth:`encode` (used to reject unknown options clearly).
    options: tuple[str, ...] = ()

    @abstractmethod
    def encode(self, latent: np.ndarray, max_bytes: int | None = None, **options) -> bytes:
        """Code ``latent`` (float32, C×H×W); with ``max_bytes`` return the best payload that fits.

        Raises TargetSizeError (with the smallest achievable payload size) when
        nothing fits, InputError for a bad option.
        """

    @abstractmethod
    def decode(self, payload: bytes, shape: tuple[int, int, int]) -> np.ndarray:
        """Return the float32 latent of ``shape`` coded in ``payload``; FormatError if invalid."""

    @abstractmethod
    def describe(self, payload: bytes, shape: tuple[int, int, int]) -> dict:
        """The payload's parameters as a JSON-able dict (for ``sdweb info``)."""

    def candidates(self, latent: np.ndarray, max_bytes: int | None = None, **options) -> list[bytes]:
        """Payloads worth comparing by decoded pixels, best guess first (default: just :meth:`encode`).

        A mode whose own latent-space judgement is unreliable across its
        choices (the entropy mode's latent grids) offers several; the SD
        encoder decodes each and keeps the closest to the image.
        """
        return [self.encode(latent, max_bytes, **options)]

    def quantizer(self, payload: bytes) -> tuple[float | None, int]:
        """(uniform step or None, latent downscale factor) of a payload; refinement optimises for them."""
        return None, 1

    def check_options(self, options: dict) -> None:
        from ..errors import InputError

        unknown = sorted(set(options) - set(self.options))
        if unknown:
            allowed = ", ".join(self.options) or "none"
            raise InputError(f"unknown option(s) for mode {self.name!r}: {', '.join(unknown)} (allowed: {allowed})")
