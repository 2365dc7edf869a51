"""Shortest-path (geodesic) distances in a 2-D world with box obstacles, on a grid.

Used where the straight-line distance to the goal is a bad cost because walls stand in
between (mazes).  The free space (points farther than ``radius`` from every box) is
sampled on a grid of spacing ``resolution``; the distance to the goal is propagated over
the grid with 16-neighbour moves (straight, diagonal and knight moves, whose path lengths
exceed the true Euclidean length by at most 2.7 %), and read at any point by bilinear
interpolation.  Pure numpy: the propagation is a vectorised Bellman-Ford sweep.
"""

from __future__ import annotations

import numpy as np

_MOVES = [(dx, dy) for dx in (-2, -1, 0, 1, 2) for dy in (-2, -1, 0, 1, 2)
          if (dx, dy) != (0, 0) and np.gcd(abs(dx), abs(dy)) == 1]


class GridGeodesic:
    """Geodesic distance fields among axis-aligned boxes ``(K, 4)`` = ``x0, y0, x1, y1``.

    ``bounds`` is ``(x0, y0, x1, y1)`` of the region covered by the grid.
    """

    def __init__(self, boxes: np.ndarray, bounds: tuple[float, float, float, float], radius: float,
                 resolution: float = 0.05):
        self.origin = np.array(bounds[:2], dtype=np.float64)
        self.resolution = resolution
        nx = int(np.ceil((bounds[2] - bounds[0]) / resolution)) + 1
        ny = int(np.ceil((bounds[3] - bounds[1]) / resolution)) + 1
        xs = self.origin[0] + resolution * np.arange(nx)
        ys = self.origin[1] + resolution * np.arange(ny)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")                     # (nx, ny)
        self.points = np.stack([gx, gy], axis=-1)                       # (nx, ny, 2)
        self.free = self.clearance(self.points, np.asarray(boxes, dtype=np.float64)) > radius

    @staticmethod
    def clearance(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Distance of points ``(..., 2)`` to the nearest box -> ``(...)`` (``inf`` without boxes)."""
        if len(boxes) == 0:
            return np.full(points.shape[:-1], np.inf)
        p = points[..., None, :]                                        # (..., 1, 2)
        lo, hi = boxes[:, :2], boxes[:, 2:]
        d = np.maximum(np.maximum(lo - p, p - hi), 0.0)                 # (..., K, 2)
        return np.linalg.norm(d, axis=-1).min(axis=-1)

    def field(self, goal: np.ndarray) -> np.ndarray:
        """Distance from every grid node to ``goal (2,)`` through free space ``(nx, ny)``.

        Nodes with no free path are ``inf``.  The goal's own cell seeds the propagation.
        """
        nx, ny = self.free.shape
        dist = np.full((nx, ny), np.inf)
        i0 = np.clip(np.floor((np.asarray(goal) - self.origin) / self.resolution).astype(int), 0, [nx - 2, ny - 2])
        for di in (0, 1):
            for dj in (0, 1):
                i, j = i0[0] + di, i0[1] + dj
                if self.free[i, j]:
                    dist[i, j] = np.linalg.norm(self.points[i, j] - goal)
        while True:
            new = dist.copy()
            for dx, dy in _MOVES:
                step = self.resolution * np.hypot(dx, dy)
                src = dist[max(0, -dx):nx - max(0, dx), max(0, -dy):ny - max(0, dy)]
                dst = new[max(0, dx):nx - max(0, -dx), max(0, dy):ny - max(0, -dy)]
                np.minimum(dst, src + step, out=dst)
            new[~self.free] = np.inf
            if np.array_equal(new, dist):
                return dist
            dist = new

    def query(self, field: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Bilinear interpolation of ``field`` at points ``(..., 2)`` -> ``(...)``.

        Corners that are not free are ignored (weights renormalised), so points near walls
        read the free neighbours; a point with no free corner reads ``inf``.
        """
        nx, ny = field.shape
        u = (np.asarray(points, dtype=np.float64) - self.origin) / self.resolution
        i = np.clip(np.floor(u).astype(int), 0, [nx - 2, ny - 2])
        f = np.clip(u - i, 0.0, 1.0)
        total, weight = 0.0, 0.0
        for di in (0, 1):
            for dj in (0, 1):
                w = (f[..., 0] if di else 1 - f[..., 0]) * (f[..., 1] if dj else 1 - f[..., 1])
                v = field[i[..., 0] + di, i[..., 1] + dj]
                ok = np.isfinite(v)
                total = total + np.where(ok, w * np.where(ok, v, 0.0), 0.0)
                weight = weight + np.where(ok, w, 0.0)
        return np.where(weight > 1e-9, total / np.maximum(weight, 1e-9), np.inf)
