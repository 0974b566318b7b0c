"""Whatever comes through the front door (an uploaded image, a library caller's array, a model
card, a cache manifest, an offer, a form, a token) gets a value or one clear error of rtswap's,
never another exception."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtswap.config import SwapConfig
from rtswap.errors import InputError
from rtswap.identity.cache import IdentityCache, StaleEntryError
from rtswap.media.image import decode_image
from rtswap.swapper import Swapper
from rtswap.weights.cards import read_card

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
PNG = b"\x89PNG\r\n\x1a\n"


@FUZZ
@given(st.binary(max_size=300).map(lambda tail: PNG + tail) | st.binary(max_size=300))
def test_any_bytes_are_an_image_or_one_line(data: bytes) -> None:
    try:
        image = decode_image(data, "upload")
    except InputError:
        return
    assert image.ndim == 3 and image.shape[2] == 3


CARD_KEYS = st.sampled_from(["engine", "role", "file", "layout", "get", "format", "sha256", "swapper"])


@FUZZ
@given(st.dictionaries(CARD_KEYS, JSON, max_size=8) | st.text(max_size=200))
def test_any_card_is_a_card_or_one_line(content: dict[str, object] | str) -> None:
    text = content if isinstance(content, str) else _toml(content)
    try:
        card = read_card(text)
    except InputError:
        return
    assert all(isinstance(v, str) for v in (card.engine, card.role, card.file, card.layout, card.get))


@FUZZ
@given(JSON)
def test_any_manifest_is_a_manifest_or_an_entry_to_rebuild(tmp_path: Path, content: object) -> None:
    cache = IdentityCache(tmp_path)
    entry = cache.entry("fuzz")
    entry.mkdir(parents=True, exist_ok=True)
    (entry / "manifest.json").write_text(json.dumps(content))
    try:
        cache.read_manifest(entry)
    except StaleEntryError:
        pass


def _toml(table: dict[str, object]) -> str:
    """A TOML rendering of simple values (what cannot be rendered is left out)."""
    lines = []
    for key, value in table.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        elif isinstance(value, (int, float, str)):
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines)


@pytest.fixture()
def server_checks() -> object:
    return pytest.importorskip("rtswap.serve.requests")


@FUZZ
@given(body=JSON, header=st.text(max_size=40), face=JSON, session=JSON)
def test_any_request_is_served_or_refused_with_a_status(
    server_checks: object, body: object, header: str, face: object, session: object
) -> None:
    from rtswap.serve.requests import ApiError, check_token, offer_of, source_of

    for check in (
        lambda: offer_of(body),
        lambda: check_token(header, "t0k3n"),
        lambda: source_of(session, b"x", face),
    ):
        try:
            check()
        except ApiError as error:
            assert 400 <= error.status < 500 and error.message


ARRAYS_THAT_ARE_NOT_RGB = [
    np.zeros((64, 64), np.uint8),
    np.zeros((64, 64, 4), np.uint8),
    np.zeros((64, 64, 3), np.float64),
    np.zeros((0, 0, 3), np.uint8),
    [[0, 0, 0]],
]


@pytest.mark.parametrize("image", ARRAYS_THAT_ARE_NOT_RGB, ids=["grey", "rgba", "float", "empty", "list"])
def test_a_library_callers_image_that_is_not_rgb_is_named(image: object, grace_swapper: Swapper) -> None:
    with pytest.raises(InputError, match="image: expected an HxWx3 uint8 RGB array, got"):
        grace_swapper.swap_image(image)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"precision": "fp8"}, "precision 'fp8': choose fp32, fp16, bf16"),
        ({"backend": "trt"}, "backend 'trt': choose auto, eager"),
        ({"enhancer_blend": 5.0}, "enhancer_blend 5.0: must be from 0 to 1"),
    ],
    ids=["precision", "backend", "blend"],
)
def test_a_library_callers_config_is_checked_as_the_command_line_is(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        SwapConfig(**fields)  # type: ignore[arg-type]


def test_a_swapper_without_a_source_is_refused() -> None:
    with pytest.raises(InputError, match="no source face"):
        Swapper([], SwapConfig(device="cpu"))


def test_a_source_array_that_is_not_rgb_is_named_before_anything_is_prepared() -> None:
    with pytest.raises(
        InputError, match=r"source image: expected an HxWx3 uint8 RGB array, got uint8 \(64, 64\)"
    ):
        Swapper(np.zeros((64, 64), np.uint8), SwapConfig(device="cpu"))
