"""Latent families: the latent spaces a file can be stored in.

A file stores latents in its family's canonical space (the space the family's
diffusion model works in, i.e. VAE latents × scaling factor), so any
autoencoder of that family can decode it: TAESD and the full SD 1.5 VAE both
read ``sd1`` files.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import FormatError, InputError

#: Pixels per latent cell along each axis, for every family here.
DOWNSCALE = 8


@dataclass(frozen=True)
class Family:
    id: int
    name: str
    channels: int
    description: str


FAMILIES = {
    f.name: f
    for f in (
        Family(1, "sd1", 4, "Stable Diffusion 1.x/2.x"),
        Family(2, "sdxl", 4, "Stable Diffusion XL"),
        Family(3, "sd3", 16, "Stable Diffusion 3"),
        Family(4, "flux", 16, "FLUX.1"),
    )
}
_BY_ID = {f.id: f for f in FAMILIES.values()}


def family_by_name(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise InputError(f"unknown latent family {name!r} (choose from: {', '.join(FAMILIES)})") from None


def family_by_id(family_id: int) -> Family:
    try:
        return _BY_ID[family_id]
    except KeyError:
        raise FormatError(f"unknown latent family id {family_id}") from None


def latent_size(width: int, height: int) -> tuple[int, int]:
    """(height, width) of the latent grid for an image, after padding to the grid."""
    return -(-height // DOWNSCALE), -(-width // DOWNSCALE)
