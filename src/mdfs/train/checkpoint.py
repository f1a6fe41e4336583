"""Periodic training checkpoints, and resuming from the last one after a crash or kill -9.

The state is the model's and the optimizer's, saved with PyTorch distributed checkpoint
(DCP): every rank writes its own shards (FSDP2 and tensor-parallel DTensors, pipeline
stages' own layers) in parallel, and any layout of the same run reads them back. Nothing
else needs saving: the batch of step s and its learning rate are functions of s and the
config, and the model has no dropout, so a resumed run repeats an uninterrupted one's
losses exactly on CPU.

RUN_DIR/resume/step-N/ holds a checkpoint taken after N steps; RUN_DIR/resume/latest names
the newest complete one. It is written (atomically, by rank 0) only after every rank has
finished saving, so a run killed mid-save resumes from the previous checkpoint.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

LATEST = "latest"


def resume_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "resume"


def latest_step(run_dir: str | Path) -> int:
    """Steps done by the newest complete checkpoint; 0 when there is none."""
    marker = resume_dir(run_dir) / LATEST
    return int(marker.read_text()) if marker.is_file() else 0


def save(run_dir: str | Path, step: int, model: torch.nn.Module, optimizer) -> None:
    """Collective: every rank saves its shards, then rank 0 marks the checkpoint complete."""
    folder = resume_dir(run_dir)
    model_state, optimizer_state = get_state_dict(model, optimizer)
    dcp.save(
        {"model": model_state, "optimizer": optimizer_state}, checkpoint_id=folder / f"step-{step}"
    )
    dist.barrier()
    if dist.get_rank() == 0:
        previous = latest_step(run_dir)
        temporary = folder / f"{LATEST}.tmp"
        temporary.write_text(str(step))
        os.replace(temporary, folder / LATEST)
        if previous and previous != step:
            shutil.rmtree(folder / f"step-{previous}", ignore_errors=True)
    dist.barrier()


def load(run_dir: str | Path, model: torch.nn.Module, optimizer) -> int:
    """Collective: restore the newest checkpoint into model and optimizer; its step count."""
    step = latest_step(run_dir)
    if step:
        model_state, optimizer_state = get_state_dict(model, optimizer)
        state = {"model": model_state, "optimizer": optimizer_state}
        dcp.load(state, checkpoint_id=resume_dir(run_dir) / f"step-{step}")
        set_state_dict(
            model,
            optimizer,
            model_state_dict=state["model"],
            optim_state_dict=state["optimizer"],
        )
    return step
