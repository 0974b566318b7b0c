"""The levels of per-frame work the governor (:mod:`rtswap.pipeline.governor`) steps between, read
by the steps that do the work."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Level:
    """One step of per-frame work. Each level does no more work than the one before."""

    name: str
    max_crop: int | None = None
    """Cap on the aligned crop's side (engines whose crop size is free)."""
    detect_slower: int = 1
    """The detector's sweep of the frame, and the look for hands, are spread over this many
    times more frames."""
    blend_levels_fewer: int = 0
    """Pyramid levels left out of the multi-band blend."""
    swap_every: int = 1
    """Run the engine on every n-th frame; in between, the last swap is re-pasted on the faces'
    new positions."""
    restore_every: int = 1
    """Run the face restorer (``--enhancer``) on every n-th frame; in between, what it changed
    last is re-applied to the face's new swap (the crop is aligned, so it moves with the face);
    0: not at all."""


SHED_RESTORER = (
    Level("full"),
    Level("restorer every 2nd frame", restore_every=2),
    Level("restorer off", restore_every=0),
)
"""With a face restorer, the governor sheds it first: it costs more than everything else a frame
does (a neural network per face), and the swap stays at full quality without it."""

LEVELS = (
    Level("full"),
    Level("crop 192", max_crop=192),
    Level("crop 128", max_crop=128),
    Level("crop 128, detect less", max_crop=128, detect_slower=2),
    Level("crop 128, detect less, lighter blend", max_crop=128, detect_slower=2, blend_levels_fewer=1),
    Level(
        "crop 128, detect less, lighter blend, swap every 2nd frame",
        max_crop=128,
        detect_slower=2,
        blend_levels_fewer=1,
        swap_every=2,
    ),
)


def levels(restorer: bool) -> tuple[Level, ...]:
    """The levels the governor steps between: with a ``restorer``, it is shed first."""
    if not restorer:
        return LEVELS
    return (
        *SHED_RESTORER,
        *(replace(level, name=f"restorer off, {level.name}", restore_every=0) for level in LEVELS[1:]),
    )
