"""Geometry of the Push-T block and pusher (metres), shared by the env and its scripted pusher.

Diffusion Policy's / DINO-WM's Push-T on a 512 px workspace, scaled to a 1 m table
(1 px = 1/512 m).  The T's frame has its origin at the centre of mass and the bar
towards +y: a 4 x 1 bar at ``y in [3, 4]`` on a 1 x 3 stem at ``y in [0, 3]`` (units of
``UNIT`` = 30 px), whose area-weighted centroid is at ``y = 18.5 / 7``.
"""

from __future__ import annotations

import numpy as np

TABLE = 0.5                     # half side of the table (m)
UNIT = 30 / 512                 # the T's bar width (m)
PUSHER_RADIUS = 15 / 512        # (m)
MAX_SPEED = 0.5                 # pusher speed at |action| = 1 (m/s)
DT = 0.1                        # env step (s)
_CY = 18.5 / 7
BAR_CENTER = np.array([0.0, 3.5 - _CY]) * UNIT
STEM_CENTER = np.array([0.0, 1.5 - _CY]) * UNIT
BAR_HALF = np.array([2.0, 0.5]) * UNIT
STEM_HALF = np.array([0.5, 1.5]) * UNIT
# outline, counter-clockwise, in the T frame (m)
OUTLINE = (np.array([[-0.5, 0], [0.5, 0], [0.5, 3], [2, 3], [2, 4], [-2, 4], [-2, 3], [-0.5, 3]])
           - [0, _CY]) * UNIT
BOUND_RADIUS = float(np.linalg.norm(OUTLINE, axis=1).max())


def rotation(angle: float) -> np.ndarray:
    """2-D rotation matrix ``(2, 2)``."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def sample_face_point(rng: np.random.Generator, margin: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """A point on the T's outline and its outward normal, both ``(2,)`` in the T frame.

    Edges are drawn in proportion to their length; the point keeps ``margin`` (a fraction
    of the edge) away from the corners.
    """
    a, b = OUTLINE, np.roll(OUTLINE, -1, axis=0)
    lengths = np.linalg.norm(b - a, axis=1)
    i = rng.choice(len(a), p=lengths / lengths.sum())
    t = rng.uniform(margin, 1 - margin)
    edge = (b[i] - a[i]) / lengths[i]
    normal = np.array([edge[1], -edge[0]])  # outward for a counter-clockwise outline
    return a[i] + t * (b[i] - a[i]), normal
