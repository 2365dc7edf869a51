"""The whole loop on an accelerator, when the machine has one (skipped on CPU-only machines).

The device is only ever a parameter (``train.device``, ``eval.device``): these tests run
``wm run`` with both set to the machine's accelerator and check that the checkpoint it
writes loads back on the CPU (checkpoints are device-independent).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from wm.cli import main
from worldmodel.checkpoint import load_model

REPO = Path(__file__).parent.parent
ACCEL = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else None
needs_accel = pytest.mark.skipif(ACCEL is None, reason="no accelerator on this machine")


@needs_accel
@pytest.mark.parametrize("config", ["tworoom_state", "tworoom_pixels"])
def test_run_on_accelerator(tmp_path, tiny_overrides, config):
    run = tmp_path / "run"
    dev = ACCEL.type
    sets = [*tiny_overrides, f"train.device={dev}", f"eval.device={dev}", "train.probe_steps=5",
            "model.channels=4", "eval.agents=[mpc]"]
    args = ["run", "--config", str(REPO / "configs" / f"{config}.yaml"), "--out", str(run), "--quiet"]
    assert main(args + [x for s in sets for x in ("--set", s)]) == 0
    result = json.loads(next((run / "eval").glob("mpc*/results.json")).read_text())
    assert result["episodes"] == 2 and all(e["steps"] > 0 for e in result["per_episode"])
    model = load_model(run / "checkpoints", "cpu")
    assert next(model.parameters()).device.type == "cpu"
