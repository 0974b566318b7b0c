"""The one explicit way to convert SimSwap's pickled ArcFace.

Generator checkpoints are plain state dicts (:mod:`rtswap.weights.state_dict`). SimSwap's released ArcFace
(``arcface_checkpoint.tar``) is a pickled whole module: unpickling it runs code named in the
file, so it is refused by default. ``rtswap engines convert --trust-pickle FILE`` unpickles it
once, for a user who trusts the file, with stand-ins for SimSwap's own classes (nothing of
SimSwap's code is needed or imported), and keeps only the weights, as safetensors.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rtswap.errors import ModelLoadError, require_file


class _StandIn(nn.Module):
    """Takes the place of any class a pickled network names: unpickling restores an
    ``nn.Module``'s parameters and submodules into it, which is all a state dict needs."""


_PLAIN = {
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "object"),
    ("__builtin__", "set"),
    ("copyreg", "_reconstructor"),
    ("copy_reg", "_reconstructor"),
    ("_codecs", "encode"),
}
"""The few plain-Python callables a pickled network needs (containers, object reconstruction)."""
_LIBRARIES = {"torch", "collections", "builtins", "__builtin__", "copyreg", "copy_reg", "_codecs", "numpy"}


class _Unpickler(pickle.Unpickler):
    """Lets through only what a pickled PyTorch network is made of: PyTorch's modules,
    parameters, storages and tensor rebuilders, and :data:`_PLAIN`. Any other class of a library
    (``builtins.exec``, ``os.system`` through a reducer) is refused; a class of the network's own
    code becomes a stand-in."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PLAIN:
            return super().find_class(module, name)
        if module.split(".")[0] not in _LIBRARIES:
            return type(name, (_StandIn,), {})
        found = super().find_class(module, name) if module.split(".")[0] == "torch" else None
        if _network_part(module, name, found):
            return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a network's weights")


def _network_part(module: str, name: str, found: Any) -> bool:
    if isinstance(found, type):
        return issubclass(found, (nn.Module, nn.Parameter, torch.Size, torch.device)) or name.endswith(
            "Storage"
        )
    return module in ("torch._utils", "torch._tensor") and name.startswith("_rebuild_")


class _PickleModule:
    """What ``torch.load(pickle_module=...)`` uses: our unpickler, the rest of ``pickle``."""

    Unpickler = _Unpickler
    load = pickle.load
    __name__ = "rtswap-trusted-pickle"


def state_dict_from_pickle(path: Path) -> dict[str, torch.Tensor]:
    """The weights of a pickled whole network (unwrapping ``{'model': ...}`` and DataParallel's
    ``.module``). Runs the pickle, as far as :class:`_Unpickler` lets it: only for files the user
    has said they trust."""
    try:
        # torch types pickle_module as a module; a class with the same attributes serves
        data = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_PickleModule)  # type: ignore[arg-type]  # see above
    except pickle.UnpicklingError as exc:
        raise ModelLoadError(f"{path}: refused even with --trust-pickle: {exc}") from None
    except Exception as exc:  # a pickle of something else: its reducers fail on the stand-ins
        raise ModelLoadError(f"{path}: not a pickled network ({type(exc).__name__}: {exc})") from None
    if isinstance(data, dict) and "model" in data:
        data = data["model"]
    while hasattr(data, "module") and isinstance(data.module, nn.Module):
        data = data.module
    if not isinstance(data, nn.Module):
        raise ModelLoadError(f"{path}: holds no network (found {type(data).__name__})")
    return {k: v.detach().clone() for k, v in data.state_dict().items()}


def convert_arcface(path: Path, folder: Path) -> Path:
    """Unpickle SimSwap's ArcFace (trusted by the user), check its layout, and write its weights
    to ``folder/simswap_arcface.safetensors``."""
    from safetensors.torch import save_file

    from rtswap.engines.simswap.model import arcface_from_state_dict

    require_file(path, ModelLoadError)
    try:
        state = state_dict_from_pickle(path)
        arcface_from_state_dict(state)
    except (pickle.UnpicklingError, RuntimeError, KeyError, ValueError, EOFError) as exc:
        raise ModelLoadError(f"{path}: not SimSwap's pickled ArcFace ({str(exc).splitlines()[0]})") from None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "simswap_arcface.safetensors"
    tmp = folder / f".tmp-{target.name}"
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))
    tmp.replace(target)
    return target
