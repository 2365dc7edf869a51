"""Exact resume, what may change on resume (``train.steps``), refusal of pickled training states, and
stopping on a non-finite loss."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import yaml

import worldmodel.losses
import worldmodel.train
from worldmodel.checkpoint import CheckpointError, checkpoint_dir, has_checkpoint, load_model
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.train import DivergenceError, Trainer
from worldmodel.train_state import TRAIN_STATE, load_train_state

REPO = Path(__file__).resolve().parents[1]


def configs(reg: str) -> tuple[ModelConfig, TrainConfig]:
    mcfg = ModelConfig(regularizer=reg, latent_dim=4, hidden_dim=16, frameskip=2)
    tcfg = TrainConfig(steps=8, batch_size=16, pred_steps=2, eval_every=4, log_every=2, checkpoint_every=100)
    return mcfg, tcfg


def flat_state(trainer: Trainer) -> dict[str, torch.Tensor]:
    """Every tensor that defines the continuation: weights, regulariser, optimiser moments, generator."""
    out = {f"model.{k}": v for k, v in trainer.model.state_dict().items()}
    out.update({f"reg.{k}": v for k, v in trainer.reg.state_dict().items()})
    for i, s in trainer.opt.state_dict()["state"].items():
        out.update({f"opt.{i}.{k}": v for k, v in s.items() if torch.is_tensor(v)})
    out["gen"] = trainer.gen.get_state()
    return out


def straight_and_resumed(data, tmp_path: Path, reg: str) -> tuple[dict, dict]:
    mcfg, tcfg = configs(reg)
    straight = Trainer(mcfg, tcfg, data, tmp_path / "a", progress=False)
    straight.fit()
    first = Trainer(mcfg, tcfg, data, tmp_path / "b", progress=False)
    first.fit(stop_after=4)
    torch.manual_seed(999)  # disturb every global RNG between the two halves
    torch.randn(10)
    resumed = Trainer(mcfg, tcfg, data, tmp_path / "b", progress=False, resume=True)
    assert resumed.step_count == 4
    resumed.fit()
    return flat_state(straight), flat_state(resumed)


@pytest.mark.parametrize("reg", ["vicreg", "sigreg", "ema", "vae"])
def test_resume_is_bit_identical(tiny_data, tmp_path, reg):
    a, b = straight_and_resumed(tiny_data, tmp_path, reg)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_resume_without_the_rng_state_would_differ(tiny_data, tmp_path, monkeypatch):
    """The control: the VAE samples from the global RNG, so skipping its restore breaks equality."""
    monkeypatch.setattr(worldmodel.train, "set_rng_state", lambda state: None)
    a, b = straight_and_resumed(tiny_data, tmp_path, "vae")
    assert not torch.equal(a["model.encoder.net.0.weight"], b["model.encoder.net.0.weight"])


def test_resume_refuses_a_different_config(tiny_data, tmp_path):
    mcfg, tcfg = configs("vicreg")
    Trainer(mcfg, tcfg, tiny_data, tmp_path, progress=False).fit(stop_after=2)
    other = TrainConfig(**{**tcfg.__dict__, "lr": 0.5})
    with pytest.raises(CheckpointError, match=r"train_state.pt: config differs .* train.lr"):
        Trainer(mcfg, other, tiny_data, tmp_path, progress=False, resume=True)
    with pytest.raises(CheckpointError, match="no training state"):
        Trainer(mcfg, tcfg, tiny_data, tmp_path / "empty", progress=False, resume=True)


def test_resume_of_a_checkpoint_older_than_a_config_key_takes_its_default(tiny_data, tmp_path):
    """A key added to the config after a checkpoint was written had its default's behaviour then: the
    checkpoint resumes with the default and is refused with another value."""
    from worldmodel.train_state import save_train_state

    mcfg, tcfg = configs("vicreg")
    Trainer(mcfg, tcfg, tiny_data, tmp_path, progress=False).fit(stop_after=2)
    unit = checkpoint_dir(tmp_path / "checkpoints")
    state = load_train_state(unit)
    del state["model_cfg"]["recon_fg_weight"], state["train_cfg"]["weight_decay"]  # as if written before they existed
    save_train_state(unit, state)
    assert Trainer(mcfg, tcfg, tiny_data, tmp_path, progress=False, resume=True).step_count == 2
    other = TrainConfig(**{**tcfg.__dict__, "weight_decay": 0.5})
    with pytest.raises(CheckpointError, match=r"config differs .* train.weight_decay"):
        Trainer(mcfg, other, tiny_data, tmp_path, progress=False, resume=True)


def _with_steps(tcfg: TrainConfig, steps: int) -> TrainConfig:
    return TrainConfig(**{**tcfg.__dict__, "steps": steps})


def test_resume_of_an_unfinished_run_refuses_another_train_steps(tiny_data, tmp_path):
    """The lr schedule depends on train.steps: changing it mid-run would make the result depend on
    where the run stopped, so it is refused, naming both values and the step."""
    mcfg, tcfg = configs("vicreg")
    Trainer(mcfg, tcfg, tiny_data, tmp_path, progress=False).fit(stop_after=4)
    for steps in (6, 12):
        with pytest.raises(CheckpointError, match=rf"train.steps={steps} differs from the checkpoint's 8, which "
                                                  rf"stopped at step 4.*resume with train.steps=8"):
            Trainer(mcfg, _with_steps(tcfg, steps), tiny_data, tmp_path, progress=False, resume=True)
    assert Trainer(mcfg, tcfg, tiny_data, tmp_path, progress=False, resume=True).step_count == 4


def test_a_finished_run_can_be_extended_the_same_way_whatever_the_interruptions(tiny_data, tmp_path):
    """Extending: 8 steps, then train.steps=12, is one trajectory whether the first 8 were interrupted or not."""
    mcfg, tcfg = configs("vicreg")
    Trainer(mcfg, tcfg, tiny_data, tmp_path / "a", progress=False).fit()
    Trainer(mcfg, tcfg, tiny_data, tmp_path / "b", progress=False).fit(stop_after=3)
    Trainer(mcfg, tcfg, tiny_data, tmp_path / "b", progress=False, resume=True).fit()
    ends = []
    for run in ("a", "b"):
        longer = Trainer(mcfg, _with_steps(tcfg, 12), tiny_data, tmp_path / run, progress=False, resume=True)
        assert longer.step_count == 8
        longer.fit()
        ends.append(flat_state(longer))
    assert all(torch.equal(ends[0][k], ends[1][k]) for k in ends[0])
    with pytest.raises(CheckpointError, match=r"train.steps=10 is below the checkpoint's step 12"):
        Trainer(mcfg, _with_steps(tcfg, 10), tiny_data, tmp_path / "a", progress=False, resume=True)


class _Payload:
    """Unpickling this creates the file ``path`` (a stand-in for arbitrary code)."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickled_training_state_is_refused_and_its_payload_never_runs(tiny_data, tmp_path):
    mcfg, tcfg = configs("vicreg")
    Trainer(mcfg, tcfg, tiny_data, tmp_path, progress=False).fit(stop_after=2)
    state_file = checkpoint_dir(tmp_path / "checkpoints") / TRAIN_STATE
    sentinel = tmp_path / "pwned"
    torch.save({"step": 2, "payload": _Payload(sentinel)}, state_file)
    with pytest.raises(CheckpointError, match=re.escape(str(state_file))):
        Trainer(mcfg, tcfg, tiny_data, tmp_path, progress=False, resume=True)
    assert not sentinel.exists()
    # the control: an unsafe load of the same bytes does run the payload
    with pytest.raises(CheckpointError, match="blocked global io.open"):
        load_train_state(tmp_path / "checkpoints")
    assert not sentinel.exists()
    torch.load(state_file, weights_only=False)
    assert sentinel.exists()


def test_every_torch_load_in_the_library_is_weights_only():
    calls = []
    for path in (REPO / "worldmodel").rglob("*.py"):
        calls += [(path, line) for line in path.read_text().splitlines() if re.search(r"(?<![\w.])torch\.load\(", line)]
    assert calls, "the training state is read with torch.load"
    for path, line in calls:
        assert "weights_only=True" in line, f"{path}: {line.strip()}"


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny_data, tmp_path, monkeypatch):
    mcfg, tcfg = configs("vicreg")
    tcfg = TrainConfig(**{**tcfg.__dict__, "checkpoint_every": 3})
    reference = Trainer(mcfg, tcfg, tiny_data, None, progress=False)
    reference.fit(stop_after=3)
    real = worldmodel.losses.jepa_loss

    def poisoned(model, reg, batch, mode="autoregressive", step=0, encode_dtype=None):
        loss, metrics, aux = real(model, reg, batch, mode, step, encode_dtype)
        return (loss * float("nan") if step >= 5 else loss), metrics, aux

    monkeypatch.setattr(worldmodel.losses, "jepa_loss", poisoned)
    trainer = Trainer(mcfg, tcfg, tiny_data, tmp_path, progress=False)
    with pytest.raises(DivergenceError, match=r"non-finite loss \(nan\) at step 5.*last good checkpoint \(step 3\)"):
        trainer.fit()
    ckpt = tmp_path / "checkpoints"
    assert yaml.safe_load((checkpoint_dir(ckpt) / "config.yaml").read_text())["step"] == 3
    assert load_train_state(ckpt)["step"] == 3
    kept = load_model(ckpt)
    for key, value in reference.model.state_dict().items():
        assert torch.equal(kept.state_dict()[key], value), key


def test_non_finite_gradient_also_stops(tiny_data, tmp_path):
    mcfg, tcfg = configs("vicreg")
    trainer = Trainer(mcfg, tcfg, tiny_data, tmp_path, progress=False)
    trainer.model.encoder.net[0].weight.register_hook(lambda g: g * float("inf"))
    with pytest.raises(DivergenceError, match="non-finite gradient norm"):
        trainer.fit()
    assert not has_checkpoint(tmp_path / "checkpoints")
