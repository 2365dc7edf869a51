"""mp4 videos of evaluation episodes: the real frame beside the goal (and the imagination).

Each video frame is a row of labelled square panels:

* ``real``: ``env.render()`` at the state the action was chosen in;
* ``goal``: the goal observation when it is an image, else ``env.unwrapped.render_goal()``
  when the env offers it (a grey panel otherwise);
* with a decoder probe and an agent whose ``imagines`` is True, ``imagined_latents() -> (H, D)`` (the latents
  its current plan is predicted to visit): ``imagined next`` (the first predicted latent of
  the plan) and ``imagined end`` (the last), both through ``decoder.decode(z (B, D)) ->
  uint8 (B, H, W, 3)``.

Videos are written with imageio (ffmpeg from imageio-ffmpeg), H.264, one file per episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.protocol import BaseAgent

LABEL_H = 16
GREY = 128


@dataclass
class VideoOptions:
    """Which episodes to render, where, and with what decoder."""

    episodes: tuple[int, ...] = ()
    """Episode indices to render."""
    out_dir: Path = field(default_factory=lambda: Path("videos"))
    """Directory of ``episode_<index>.mp4``."""
    decoder: Any = None
    """Optional decoder probe with ``decode(z (B, D)) -> uint8 (B, H, W, 3)``."""
    panel: int = 128
    """Side of each square panel in pixels (a multiple of 16 suits the encoder)."""
    fps: int = 10

    def recorder(self, index: int) -> EpisodeRecorder | None:
        """A recorder for episode ``index``, or None when it is not to be rendered."""
        if index not in self.episodes:
            return None
        return EpisodeRecorder(Path(self.out_dir) / f"episode_{index:04d}.mp4", self.decoder, self.panel, self.fps)


def resize_nearest(img: np.ndarray, size: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 -> ``(size, size, 3)`` by nearest-neighbour sampling."""
    rows = np.arange(size) * img.shape[0] // size
    cols = np.arange(size) * img.shape[1] // size
    return img[rows][:, cols]


def _label(text: str, width: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    strip = Image.new("RGB", (width, LABEL_H), (255, 255, 255))
    ImageDraw.Draw(strip).text((3, 2), text, fill=(0, 0, 0))
    return np.asarray(strip)


def compose(panels: list[tuple[str, np.ndarray | None]], size: int) -> np.ndarray:
    """Labelled panels side by side: ``(LABEL_H + size, len(panels) * size, 3)`` uint8."""
    columns = []
    for text, img in panels:
        body = np.full((size, size, 3), GREY, np.uint8) if img is None else resize_nearest(img, size)
        columns.append(np.concatenate([_label(text, size), body]))
    return np.concatenate(columns, axis=1)


def goal_image(env, info: dict) -> np.ndarray | None:
    """The goal as an image: the goal observation if it is one, else the env's ``render_goal()``."""
    goal = np.asarray(info["goal"])
    if goal.dtype == np.uint8 and goal.ndim == 3:
        return goal
    render_goal = getattr(env.unwrapped, "render_goal", None)
    return render_goal() if render_goal is not None else None


class EpisodeRecorder:
    """Collects the frames of one episode and writes them as an mp4."""

    def __init__(self, path: Path, decoder: Any = None, panel: int = 128, fps: int = 10):
        self.path, self.decoder, self.panel, self.fps = Path(path), decoder, panel, fps
        self.frames: list[np.ndarray] = []
        self._goal: np.ndarray | None = None
        self._imagine = False

    def start(self, env, info: dict, agent: BaseAgent) -> None:
        """Called after ``reset``: remember the goal image and whether the agent can show its imagination."""
        self._goal = goal_image(env, info)
        self._imagine = self.decoder is not None and agent.imagines

    def _imagined(self, agent: BaseAgent | None) -> list[tuple[str, np.ndarray | None]]:
        if not self._imagine:
            return []
        z = agent.imagined_latents() if agent is not None else None
        if z is None:
            return [("imagined next", None), ("imagined end", None)]
        images = np.asarray(self.decoder.decode(z[[0, -1]]))
        return [("imagined next", images[0]), ("imagined end", images[1])]

    def capture(self, env, agent: BaseAgent | None) -> None:
        """Append a frame of the current state (``agent`` None: the final frame, no plan)."""
        panels = [("real", env.render()), ("goal", self._goal), *self._imagined(agent)]
        self.frames.append(compose(panels, self.panel))

    def write(self) -> Path:
        """Write the mp4 (H.264) and return its path."""
        import imageio.v2 as imageio

        self.path.parent.mkdir(parents=True, exist_ok=True)
        imageio.mimwrite(self.path, self.frames, fps=self.fps, codec="libx264", macro_block_size=16)
        return self.path


def find_decoder_probe(ckpt_dir: str | Path, device: str = "cpu") -> Any:
    """The decoder probe saved next to a model checkpoint (``decoder_probe.safetensors``), or None.

    Loaded by ``worldmodel.decoder_probe.DecoderProbe.load(ckpt_dir, device)`` when that
    module exists; videos then show the imagined rollout.
    """
    try:
        from worldmodel.checkpoint import checkpoint_dir
        from worldmodel.decoder_probe import DecoderProbe
    except ImportError:
        return None
    if not (checkpoint_dir(ckpt_dir) / "decoder_probe.safetensors").exists():
        return None
    return DecoderProbe.load(ckpt_dir, device)
