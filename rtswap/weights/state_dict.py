"""Checkpoint files read as data: safetensors, or what ``torch.save`` wrote, loaded with
``torch.load(weights_only=True)``, which refuses anything that would run code."""

from __future__ import annotations

import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from rtswap.errors import ModelLoadError, require_file

CONVERT_HINT = (
    "it is a pickled whole model, and loading it would run code named in the file. If you trust "
    "where it came from, convert it once: rtswap engines convert --trust-pickle {path}; or give an "
    "ONNX export of the same network"
)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file or of a state dict saved with ``torch.save`` (nested
    mappings flattened, see :func:`_flat`); a pickle that needs code, a truncated file or anything
    else is one line."""
    require_file(path, ModelLoadError)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(path)
        except Exception as exc:  # safetensors raises its own error types
            raise ModelLoadError(f"{path}: not a readable safetensors file ({exc})") from None
    _check_archive(path)
    try:
        with warnings.catch_warnings():  # its notes on the pickle's protocol: the outcome is said below
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelLoadError(f"{path}: {CONVERT_HINT.format(path=path)}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ModelLoadError(
            f"{path}: not a readable PyTorch checkpoint (truncated or another format: {exc})"
        ) from None
    tensors = _flat(data) if isinstance(data, Mapping) else {}
    if not tensors:
        raise ModelLoadError(f"{path}: not a state dict (a mapping of names to tensors)")
    return tensors


def _check_archive(path: Path) -> None:
    """A ``torch.save`` archive stores its tensors uncompressed, so they are as large as the file
    says: one whose entries are compressed could inflate a small file into gigabytes, and is
    refused before anything is read."""
    if not zipfile.is_zipfile(path):
        return
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
    declared = sum(entry.file_size for entry in entries)
    if any(entry.compress_type != zipfile.ZIP_STORED for entry in entries) or declared > path.stat().st_size:
        raise ModelLoadError(
            f"{path}: not a checkpoint torch.save wrote: it declares {declared / 2**20:.0f} MiB in "
            f"{path.stat().st_size / 2**20:.1f} MiB of compressed entries"
        )


def _flat(data: Mapping[str, object], prefix: str = "") -> dict[str, torch.Tensor]:
    """The tensors of nested mappings under dotted names (a file of several networks, such as
    ``{"e": encoder, "s": swapper}``, gives ``e.…`` and ``s.…``); other values are left out."""
    tensors: dict[str, torch.Tensor] = {}
    for key, value in data.items():
        if isinstance(value, torch.Tensor):
            tensors[prefix + str(key)] = value
        elif isinstance(value, Mapping):
            tensors.update(_flat(value, f"{prefix}{key}."))
    return tensors
