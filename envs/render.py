"""Lazy offscreen rendering of MuJoCo scenes.

Renderers hold GL contexts, which neither pickle nor survive ``fork``; they are created
on first use, in the process that renders.  The GL backend is chosen here, at that first
use, not on import: ``MUJOCO_GL`` when the user set it, else ``egl`` (headless; Mesa
renders on the CPU where no GPU exists).  We drive MuJoCo's ``MjrContext`` directly
rather than ``mujoco.Renderer``, whose backend is fixed when ``mujoco`` is imported.

Shadows, reflections and the skybox are switched off: on Mesa's CPU rasteriser the
shadow pass alone costs ~25x the rest of a 64x64 frame, and none of them carries task
information for a fixed top-down camera.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import mujoco
import numpy as np

_OFF_FLAGS = (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION, mujoco.mjtRndFlag.mjRND_SKYBOX)


@dataclass(frozen=True)
class FreeCamera:
    """A camera that is not in the model: looks at ``lookat`` from ``distance`` (metres).

    ``elevation=-90`` looks straight down; ``azimuth=90`` puts +x to the right and +y up.
    """

    lookat: tuple[float, float, float] = (0.0, 0.0, 0.0)
    distance: float = 1.0
    azimuth: float = 90.0
    elevation: float = -90.0


def _make_gl_context(width: int, height: int):
    backend = os.environ.get("MUJOCO_GL", "").lower() or "egl"
    os.environ.setdefault("MUJOCO_GL", backend)
    if backend == "egl":
        from mujoco.egl import GLContext
    elif backend == "osmesa":
        from mujoco.osmesa import GLContext
    else:
        from mujoco.glfw import GLContext
    return GLContext(width, height)


def _camera(model: mujoco.MjModel, camera: str | int | FreeCamera) -> mujoco.MjvCamera:
    cam = mujoco.MjvCamera()
    if isinstance(camera, FreeCamera):
        cam.type = mujoco.mjtCamera.mjCAMERA_FREE
        cam.lookat[:] = camera.lookat
        cam.distance, cam.azimuth, cam.elevation = camera.distance, camera.azimuth, camera.elevation
        return cam
    cam_id = camera if isinstance(camera, int) else model.camera(camera).id
    if cam_id >= 0:
        cam.type, cam.fixedcamid = mujoco.mjtCamera.mjCAMERA_FIXED, cam_id
    else:
        mujoco.mjv_defaultFreeCamera(model, cam)
    return cam


class LazyRenderer:
    """Render ``(H, W, 3)`` uint8 frames of a model from one camera, lazily.

    ``camera`` is a camera name or id of the model (-1: MuJoCo's default free camera) or
    a :class:`FreeCamera`.
    """

    def __init__(self, model: mujoco.MjModel, height: int, width: int, camera: str | int | FreeCamera = -1):
        self.model = model
        self.height = height
        self.width = width
        self.camera = camera
        self._ctx = None

    def _setup(self) -> None:
        gl = _make_gl_context(self.width, self.height)
        gl.make_current()
        model = self.model
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, self.height)
        mjr = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, mjr)
        scene = mujoco.MjvScene(model, maxgeom=1000)
        for flag in _OFF_FLAGS:
            scene.flags[flag] = 0
        rect = mujoco.MjrRect(0, 0, self.width, self.height)
        self._ctx = (gl, mjr, _camera(model, self.camera), scene, mujoco.MjvOption(), rect)

    def render(self, data: mujoco.MjData) -> np.ndarray:
        """Return the camera image of ``data`` as uint8 ``(H, W, 3)``."""
        if self._ctx is None:
            self._setup()
        gl, mjr, cam, scene, opt, rect = self._ctx
        gl.make_current()
        mujoco.mjv_updateScene(self.model, data, opt, None, cam, mujoco.mjtCatBit.mjCAT_ALL, scene)
        mujoco.mjr_render(rect, scene, mjr)
        rgb = np.empty((self.height, self.width, 3), dtype=np.uint8)
        mujoco.mjr_readPixels(rgb, None, rect, mjr)
        return np.ascontiguousarray(rgb[::-1])

    def close(self) -> None:
        if self._ctx is not None:
            gl, mjr = self._ctx[0], self._ctx[1]
            mjr.free()
            gl.free()
            self._ctx = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_ctx"] = None
        return state
