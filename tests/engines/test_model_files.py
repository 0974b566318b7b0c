"""Model files as data: ONNX weights kept in external data files are read only from the model's
own folder, in the sizes their tensors declare; checkpoints that would inflate are refused; cards
name files in the models folder only; an installed file is replaced only when asked."""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from rtswap.engines.models import add
from rtswap.errors import InputError, ModelLoadError
from rtswap.testing.replicas import write_arcface
from rtswap.weights import onnx_io
from rtswap.weights.cards import read_card
from rtswap.weights.state_dict import read_state_dict


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


def test_a_card_names_files_in_the_models_folder_only() -> None:
    card = 'engine = "onnx:x"\nrole = "swapper"\nlayout = "card"\nget = "here"\nfile = "{}"\n'
    for escape in ("../outside.onnx", "/etc/passwd", "sub/x.onnx", ".."):
        with pytest.raises(InputError, match="a file name in the models folder, not a path"):
            read_card(card.format(escape))
    assert read_card(card.format("x.onnx")).file == "x.onnx"


def test_an_installed_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    first, second = write_arcface(tmp_path / "a.onnx"), write_arcface(tmp_path / "b.onnx", seed=1)
    add(first, folder, "inswapper")
    with pytest.raises(InputError, match="already installed .*--force"):
        add(second, folder, "inswapper")
    assert (folder / "w600k_r50.onnx").read_bytes() == first.read_bytes()
    add(second, folder, "inswapper", force=True)
    assert (folder / "w600k_r50.onnx").read_bytes() == second.read_bytes()
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp")) == []


def test_a_checkpoint_that_would_inflate_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """torch.save stores tensors as they are; a small archive of compressed entries declaring
    hundreds of megabytes is not one, and is refused from its directory."""
    saved = tmp_path / "saved.pth"
    torch.save({"w": torch.zeros(1000)}, saved)
    assert read_state_dict(saved)["w"].shape == (1000,)
    bomb = tmp_path / "bomb.pth"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            target.writestr(entry.filename, source.read(entry))
        target.writestr("bomb/data/1", b"\\0" * (64 * 2**20))
    assert bomb.stat().st_size < 2**20
    with pytest.raises(ModelLoadError, match="not a checkpoint torch.save wrote"):
        read_state_dict(bomb)


def test_a_plain_pickle_is_refused_in_one_line_and_runs_nothing(tmp_path: Path) -> None:
    """Not torch.save's: pickle's own protocol 4 (torch warned of it on top of our one line)."""
    ran = tmp_path / "ran"
    pickled = tmp_path / "model.pth"
    pickled.write_bytes(pickle.dumps(Touch(str(ran)), protocol=4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning on the way is a second line
        with pytest.raises(ModelLoadError, match="pickled whole model"):
            read_state_dict(pickled)
    assert not ran.exists()


class Touch:
    """Unpickled, it would create ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def test_engines_add_takes_single_file_models_only(tmp_path: Path) -> None:
    """A model whose weights sit in files beside it would be installed without them: refused in
    one line that says how to make it one file."""
    path = _external(tmp_path / "downloads")
    with pytest.raises(InputError, match="keeps its weights in weights.bin beside it"):
        add(path, tmp_path / "models", "inswapper")
    assert not (tmp_path / "models" / "w600k_r50.onnx").exists()
