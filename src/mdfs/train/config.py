"""The settings of one training run, written to RUN_DIR/train_config.json for the workers."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class TrainConfig:
    run_dir: str
    data_dir: str
    tokenizer_dir: str
    model: dict = field(default_factory=dict)  # GPTConfig fields
    tp: int = 1
    pp: int = 1
    dp: int = 1
    steps: int = 100
    batch_size: int = 8  # sequences per step, over all data-parallel ranks
    micro_batches: int = 0  # pipeline micro-batches; 0 = 2 x pp
    schedule: str = "1f1b"
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = -1  # -1 = 10 % of steps
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    seed: int = 1234
    device: str = "auto"  # auto, cpu, cuda
    dtype: str = "auto"  # auto (bf16 on GPU, fp32 on CPU), bf16, fp32
    peak_tflops: float = 0.0  # 0 = from the device table in flops.py
    # Held-out sets ({name, path, tokens, chars, ...} from heldout.prepare_heldout), scored
    # every eval_interval steps (0 = a tenth of the run) and after the last.
    heldout: list[dict] = field(default_factory=list)
    eval_interval: int = 0
    checkpoint_interval: int = 0  # steps between resumable checkpoints; 0 = a tenth of the run

    @property
    def world_size(self) -> int:
        return self.tp * self.pp * self.dp

    @property
    def n_micro_batches(self) -> int:
        if self.pp == 1:
            return 1
        return self.micro_batches or 2 * self.pp

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        data = json.loads(Path(path).read_text())
        data["betas"] = tuple(data["betas"])
        return cls(**data)
