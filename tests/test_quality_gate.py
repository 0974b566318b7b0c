"""The quality gate: the default swap may not get worse on our faces than it is at the commit that
wrote these figures, by judges that know nothing of the engine (``rtswap.testing.judges``: dlib's
identity descriptor and 68 points, head pose from a fresh face-mesh run, the target's light).

Per pair: d(swap, source) (dlib's distance to the source's face; lower is more of the source) may
grow by 0.02 at most, the 2D pitch difference by 0.5°, the mouth's opening difference by 0.01; the
correlation of the swap's low-frequency light with the target's may drop by 0.02, and its darkest
jaw or chin patch may not be more than 5 levels darker than today's, today's taken as at most 10
levels lighter than the target's own (a source's shadow pasted as a smudge, as Grace Hopper's
hair's under her ear was on demo frames 30 and 45 until the commit that added them: 0.1 and -1.6
levels; lighter than the target's is no fault); and no pixel outside the face may change. Identity,
mouth and pose are each the mean of five readings, the swap's and four copies' with a level of grain
(``rtswap.testing.judges``): one reading moved as far as these limits for noise no one can see.
Quality is deterministic on the CPU, so these are assertions, not timings. The first seven pairs
have glasses on one side (Grace Hopper wears them; dlib moves 0.36-0.51 for glasses alone), so
d(swap, source) says less there than on a pair without: the astronaut is our only face without
glasses. The last three swap between lighter and darker skin (the astronaut and her darker-skinned
variant, ``rtswap.testing.skin``): one person, so there d(swap, source) is how much of the source
photo's tones the swap keeps (0.40 between the two photos), not identity. When a change
makes a figure better, write the new figure here in the same commit (the gate then holds the better
one).

Needs the ``[quality]`` extra, which the README's test command installs; without it the gate
fails rather than skips, so that it cannot silently go away.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from rtswap.capture.synthetic_heads import SyntheticClip
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.swapper import Swapper
from rtswap.testing.judges import Judge, light, measure


class Today(NamedTuple):
    d_swap_source: float
    pitch_2d: float
    mouth: float
    light_corr: float
    dark_jaw: float


TODAY = {  # the best each figure has been on the CPU (a8c328b's swap, and the commits since); identity,
    # pitch and mouth as read since the judges average over copies with grain (measured at ac25e90)
    "Grace Hopper -> astronaut": Today(0.432, 0.43, 0.0035, 0.959, 23.5),
    # the 2D pitch, 1.38 at best until the source's teeth left its texture (a light line between
    # closed lips, which dlib read as a mouth ajar: 0.042 against the target's); with them out the
    # mouth reads 0.010 and the 2D pitch 2.24, the pose by eye unchanged (docs/quality.md)
    # d: 0.575 once clipped pixels were left out; 0.593 since the astronaut's thin holes at her
    # temples are filled (3562f71), which moves the swap by a level's rounding on a few thousand
    # pixels, and dlib by 0.014 for that alone; 0.567 since her chin's shadow is left out too
    "astronaut -> Grace Hopper": Today(0.567, 2.24, 0.0097, 0.774, 4.5),
    "Grace Hopper -> demo frame 0": Today(0.431, 0.68, 0.0007, 0.958, 28.8),
    # the 2D pitch on frames 30, 45 and 60: 2.08, 2.51 and 0.77 at best while Grace Hopper's shadow
    # under her chin was pasted along the target's (a grey band, which the face mesh read as the
    # chin's edge, 0.7-6 px above the target's); with it left out of her texture the mesh finds the
    # swap's chin 0.7-1.4 px nearer the target's, and the fit reads 2.84, 3.01 and 1.35, the pose
    # unchanged (the warp's mesh is the target's; only the band's pixels differ; docs/quality.md);
    # 2.26, 2.53 and 1.12 since changes are pasted bicubically (the demo's crops magnify 1.06x)
    "Grace Hopper -> demo frame 30": Today(0.475, 2.26, 0.0268, 0.957, 19.1),
    # the 2D pitch on frames 45 and 119 and on the darker astronaut: 1.95, 1.29 and 1.31 at best,
    # 2.10, 1.51 and 1.66 at 04358c7, while the gap of Grace Hopper's frames' top bar showed the
    # target's dark brows (and the camera match, reading the swap as sharper, blurred the target's
    # eyes back into the swap's); with her own pale brows there (the bar's place filled) the face
    # mesh reads 2.51 (3.01 with her chin's shadow out, above), 2.02 and 1.95, the pose by eye
    # unchanged, and d 0.015-0.074 nearer her on all her pairs (docs/quality.md)
    # the mouth on frame 45: 0.0095 at best, 0.0224 since changes are pasted bicubically, the mouth by
    # eye unchanged; one reading's luck: over five more draws of invisible noise (±0.7 levels) the
    # mouth reads 0.0110 against 0.0163 before, the same draws (docs/quality.md)
    "Grace Hopper -> demo frame 45": Today(0.467, 2.53, 0.0224, 0.964, 16.0),
    "Grace Hopper -> demo frame 60": Today(0.411, 1.12, 0.0016, 0.952, 18.2),
    "Grace Hopper -> demo frame 119": Today(0.442, 2.02, 0.0036, 0.973, 25.9),
    # measured at the commit that added them
    "Grace Hopper -> darker astronaut": Today(0.491, 1.92, 0.0252, 0.956, 19.1),
    "astronaut -> darker astronaut": Today(0.376, 0.84, 0.0091, 1.000, 1.5),
    "darker astronaut -> astronaut": Today(0.382, 1.59, 0.0033, 1.000, -2.7),  # mouth: bicubic paste
}


_LIGHTER = 10.0
"""A darkest jaw patch lighter than the target's by more than this is held to this (lighter is
no fault; a change towards the target's own is not a smudge)."""


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge()


@pytest.mark.parametrize("pair", list(TODAY))
def test_the_swap_is_no_worse_than_today(
    pair: str,
    judge: Judge,
    analyzer: FaceAnalyzer,
    astro: np.ndarray,
    grace: np.ndarray,
    darker_astro: np.ndarray,
    grace_swapper: Swapper,
    astro_swapper: Swapper,
    darker_astro_swapper: Swapper,
) -> None:
    source_name, target_name = pair.split(" -> ")
    faces = {"Grace Hopper": grace, "astronaut": astro, "darker astronaut": darker_astro}
    swapper = {"Grace Hopper": grace_swapper, "astronaut": astro_swapper}.get(
        source_name, darker_astro_swapper
    )
    if target_name.startswith("demo frame"):
        target = SyntheticClip().frame(int(target_name.split()[-1]))
    else:
        target = faces[target_name]
    source = faces[source_name]
    row = measure(pair, judge, analyzer, source, target, swapper.swap_image(target))
    today = TODAY[pair]
    assert row.d_swap_source <= today.d_swap_source + 0.02
    assert row.pitch_diff_2d <= today.pitch_2d + 0.5
    assert row.mouth_diff <= today.mouth + 0.01
    assert row.light_corr >= today.light_corr - 0.02
    assert row.dark_jaw >= min(today.dark_jaw, _LIGHTER) - 5.0  # a smudge
    assert row.outside_max == 0


def test_the_light_judges_see_a_smudge_and_light_from_the_other_side(
    astro: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    landmarks = analyzer.analyze(astro)[0].landmarks
    assert light(astro, astro, landmarks) == pytest.approx((1.0, 0.0))
    rows, columns = np.mgrid[: astro.shape[0], : astro.shape[1]]
    chin = landmarks[152, :2] + (25, -15)  # beside the chin's tip
    blob = np.exp(-((columns - chin[0]) ** 2 + (rows - chin[1]) ** 2) / (2 * 10.0**2))
    smudged = (astro * (1 - 0.5 * blob)[..., None]).round().astype(np.uint8)
    assert light(astro, smudged, landmarks)[1] < -20  # (-50)
    ramp = np.linspace(0.7, 1.3, astro.shape[1])[None, :, None]
    from_left, from_right = ((astro * r).clip(0, 255).astype(np.uint8) for r in (ramp, ramp[:, ::-1]))
    assert light(from_left, from_right, landmarks)[0] < 0.98  # (0.96)
