"""Validation NLL of the average of several checkpoints' generator weights (stochastic weight averaging
after the fact), on cache/mix4-remi-dd as the trainer measures it (20 validation batches).

    python main/docs/results/average-weights.py OUT CKPT [CKPT ...]     # run from /work
"""
import pathlib
import shutil
import sys

import torch
torch.set_num_threads(1)
from safetensors.torch import load_file, save_file
from tunegan.config import TrainConfig
from tunegan.data.dataset import TokenCache
from tunegan.training.trainer import Trainer
srcs = sys.argv[2:]
out = pathlib.Path(sys.argv[1])
sds = [load_file(str(pathlib.Path(s) / "model.safetensors")) for s in srcs]
avg = {k: (sum(sd[k].float() for sd in sds) / len(sds)).to(sds[0][k].dtype) for k in sds[0]}
if out.exists(): shutil.rmtree(out)
shutil.copytree(srcs[0], out)
save_file(avg, str(out / "model.safetensors"))
tc = TrainConfig(epochs=1, batch_size=32, seq_len=256, seed=9, threads=1, device="cpu", init_from=str(out), lr=1e-4, crops=6400,
                 conditional=True, attributes=True, corpus_balance=0.5, mood_balance=0, max_transpose=3, velocity_shift=2,
                 start_share=0.1, val_batches=20)
t = Trainer(tc, TokenCache("cache/mix4-remi-dd"), pathlib.Path("/tmp/swa-run"), quiet=True)
print(srcs, "val NLL", t.validate())
