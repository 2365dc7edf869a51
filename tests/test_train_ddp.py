"""DDP: two CPU ranks (gloo, FileStore) train like one process on the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import safetensors.torch
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from hypothesis import given, settings
from hypothesis import strategies as st

from worldmodel.checkpoint import checkpoint_dir
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.data import WindowSampler
from worldmodel.train import Trainer

REGS = ("sigreg", "vicreg", "barlow", "infonce")
TRAIN = TrainConfig(steps=6, batch_size=16, pred_steps=2, eval_every=6, log_every=2, lr=3e-3)


def model_cfg(reg: str) -> ModelConfig:
    return ModelConfig(regularizer=reg, latent_dim=4, hidden_dim=16, frameskip=2)


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone().contiguous() for k, v in trainer.model.state_dict().items()}


def _worker(rank: int, world: int, store: str, data, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", store=dist.FileStore(store, world), rank=rank, world_size=world)
    try:
        for reg in REGS:
            trainer = Trainer(model_cfg(reg), TRAIN, data, None, progress=False)
            trainer.fit()
            safetensors.torch.save_file(_weights(trainer), f"{out}/{reg}_rank{rank}.safetensors")
        # the control: SIGReg with rank-local characteristic functions (no all-reduce) is not the same
        import worldmodel.regularizers.sigreg as sigreg

        sigreg.all_reduce_mean = lambda x: x
        trainer = Trainer(model_cfg("sigreg"), TRAIN, data, None, progress=False)
        trainer.fit()
        safetensors.torch.save_file(_weights(trainer), f"{out}/local_rank{rank}.safetensors")
    finally:
        dist.destroy_process_group()


def test_two_ranks_equal_one_process_on_the_global_batch(tiny_data, tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / "store"), tiny_data, str(tmp_path)), nprocs=2, join=True)
    load = safetensors.torch.load_file
    for reg in REGS:
        single = Trainer(model_cfg(reg), TRAIN, tiny_data, None, progress=False)
        single.fit()
        r0, r1 = load(tmp_path / f"{reg}_rank0.safetensors"), load(tmp_path / f"{reg}_rank1.safetensors")
        for key, value in _weights(single).items():
            assert torch.equal(r0[key], r1[key]), f"{reg}: ranks differ in {key}"
            torch.testing.assert_close(r0[key], value, rtol=0, atol=1e-6, msg=f"{reg}: {key} differs from 1 process")
    local = load(tmp_path / "local_rank0.safetensors")
    single = Trainer(model_cfg("sigreg"), TRAIN, tiny_data, None, progress=False)
    single.fit()
    worst = max(float((local[k] - v).abs().max()) for k, v in _weights(single).items())
    assert worst > 1e-4, "rank-local SIGReg statistics should not reproduce the global-batch run"


@settings(max_examples=15, deadline=None)
@given(world=st.sampled_from([1, 2, 3, 4]), per_rank=st.integers(1, 6), seed=st.integers(0, 1000))
def test_rank_shares_concatenate_to_the_single_process_batch(tiny_data, world, per_rank, seed):
    sampler = WindowSampler(tiny_data, steps=2, frameskip=2)
    full = sampler.sample(world * per_rank, torch.Generator().manual_seed(seed))
    shares = [sampler.sample(world * per_rank, torch.Generator().manual_seed(seed), r, world) for r in range(world)]
    for key, value in full.items():
        assert torch.equal(torch.cat([s[key] for s in shares]), value)


def test_batch_must_split_evenly(tiny_data):
    with pytest.raises(ValueError, match="batch_size: 5 is not divisible by the 2 ranks"):
        WindowSampler(tiny_data, steps=2, frameskip=2).sample(5, torch.Generator(), 0, 2)


@pytest.mark.slow
def test_torchrun_launches_wm_train(tmp_path, tiny_overrides):
    """``torchrun --standalone --nproc-per-node 2 -m wm.cli train`` (a free port, gloo on CPU)."""
    run = tmp_path / "run"
    sets = [x for o in tiny_overrides for x in ("--set", o)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "wm.cli", "collect", "--out", str(run), "--quiet", *sets],
                   check=True, cwd=repo, env=env)
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "wm.cli", "train", "--out", str(run), "--quiet", *sets,
                          "--set", "model.regularizer=sigreg"],
                         cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("trained in") == 1  # rank 0 alone reports
    assert (checkpoint_dir(run / "checkpoints") / "model.safetensors").exists()
