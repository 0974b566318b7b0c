"""rtswap: real-time streaming face swap.

>>> from rtswap import Swapper
>>> with Swapper("face.jpg") as swapper:
...     out = swapper.swap_image(image)   # HxWx3 uint8 RGB in and out
"""

import time

IMPORTED_S = time.monotonic()
"""When the package was first imported (before torch): the start of time-to-first-frame."""

from rtswap.config import SwapConfig  # noqa: E402
from rtswap.errors import InputError, MediaError, NoFaceError, OutputError, RtswapError  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "MediaError",
    "NoFaceError",
    "OutputError",
    "RtswapError",
    "SwapConfig",
    "Swapper",
    "__version__",
]


def __getattr__(name: str) -> object:
    # Swapper pulls in torch and mediapipe; keep `import rtswap` itself light.
    if name == "Swapper":
        from rtswap.swapper import Swapper

        return Swapper
    raise AttributeError(name)
