"""ONNX files as data: weights kept in external data files are read only from the model's own
folder, in the sizes their tensors declare."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest

from rtswap.errors import ModelLoadError
from rtswap.testing.replicas import write_arcface
from rtswap.weights import onnx_io


def _external(folder: Path) -> Path:
    """An ArcFace-shaped file whose weights sit in ``weights.bin`` beside it."""
    folder.mkdir()
    inline = write_arcface(folder / "inline.onnx")
    model = onnx.load(str(inline))
    path = folder / "arcface.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, location="weights.bin", size_threshold=0)
    inline.unlink()
    return path


def test_external_weights_beside_the_model_load_as_inline_ones(tmp_path: Path) -> None:
    path = _external(tmp_path / "models")
    expected = onnx_io.initializers(onnx.load(str(write_arcface(tmp_path / "plain.onnx"))))
    loaded = onnx_io.initializers(onnx_io.load(path))
    assert loaded.keys() == expected.keys()
    assert all(np.array_equal(loaded[name], expected[name]) for name in expected)


def test_external_data_through_a_link_or_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    path = _external(tmp_path / "models")
    weights = path.with_name("weights.bin")
    secret = tmp_path / "elsewhere.bin"
    secret.write_bytes(weights.read_bytes())
    weights.unlink()
    os.symlink(secret, weights)  # the same bytes, through a link out of the folder
    with pytest.raises(ModelLoadError, match="not a file beside the model"):
        onnx_io.load(path)
    weights.unlink()
    weights.write_bytes(secret.read_bytes()[:100])  # cut short
    with pytest.raises(ModelLoadError, match="declare"):
        onnx_io.load(path)
