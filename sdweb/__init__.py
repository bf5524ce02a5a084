"""sdweb: a lossy image codec in the latent space of Stable Diffusion.

Public API::

    data = sdweb.encode(image, target_size=5000)   # .sdw bytes
    image = sdweb.decode(data)                      # PIL.Image
    sdweb.info(data)                                # header as a dict

Errors a user can cause are :class:`FormatError` (invalid .sdw data),
:class:`InputError` (bad image or option; :class:`TargetSizeError` when a
target is below the smallest file) and :class:`ModelNotAvailableError`.
"""

from .errors import FormatError, InputError, ModelNotAvailableError, SdwebError, TargetSizeError
from .sdcodec import EncodedFile, decode, encode, read_info as info

__version__ = "0.1.0"

__all__ = [
    "EncodedFile",
    "FormatError",
    "InputError",
    "ModelNotAvailableError",
    "SdwebError",
    "TargetSizeError",
    "decode",
    "encode",
    "info",
]
