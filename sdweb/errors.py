"""The exceptions sdweb raises on purpose.

Every error a user can cause (a bad file, a bad image, a bad option, a model
that is not available) is one of these, with a one-line message in the user's
terms. Anything else escaping the library is a bug.
"""


class SdwebError(Exception):
    """Base class of every error sdweb raises on purpose."""


class FormatError(SdwebError, ValueError):
    """Data is not a valid .sdw file: truncated, corrupted, foreign or unsupported."""


class InputError(SdwebError, ValueError):
    """An input image or an option cannot be used (unreadable, too large, out of range)."""


class TargetSizeError(InputError):
    """No file of the requested mode fits the target size.

    ``smallest`` is the size in bytes of the smallest file the mode can make
    for this image, so callers can say what *is* achievable.
    """

    def __init__(self, message: str, smallest: int):
        super().__init__(message)
        self.smallest = smallest


class ModelNotAvailableError(SdwebError, RuntimeError):
    """A model's weights cannot be loaded (no network, not cached, no local copy)."""
