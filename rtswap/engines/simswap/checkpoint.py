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

from rtswap.errors import ModelLoadError


class _StandIn(nn.Module):
    """Takes the place of any class a pickled network names: unpickling restores an
    ``nn.Module``'s parameters and submodules into it, which is all a state dict needs."""


_REAL = {"torch", "collections", "builtins", "__builtin__", "copyreg", "copy_reg", "_codecs", "numpy"}
"""Modules whose classes a pickled PyTorch network legitimately refers to; any other class (the
network's own) becomes a stand-in."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] in _REAL:
            return super().find_class(module, name)
        return type(name, (_StandIn,), {})


class _PickleModule:
    """What ``torch.load(pickle_module=...)`` uses: our unpickler, the rest of ``pickle``."""

    Unpickler = _Unpickler
    load = pickle.load
    __name__ = "rtswap-trusted-pickle"


def state_dict_from_pickle(path: Path) -> dict[str, torch.Tensor]:
    """The weights of a pickled whole network (unwrapping ``{'model': ...}`` and DataParallel's
    ``.module``). Runs the pickle: only for files the user has said they trust."""
    # torch types pickle_module as a module; a class with the same attributes serves
    data = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_PickleModule)  # type: ignore[arg-type]  # see above
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

    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file")
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
