"""Run the torchrun test's command N times on a tiny corpus and count the failures (stderr kept in
/tmp/dist_fail_I.txt).

    python main/docs/results/torchrun-loop.py 12      # run from /work/main
"""
import subprocess, sys, tempfile, pathlib
sys.path.insert(0, "tests")
import conftest
from tunegan.data.prepare import prepare
from tunegan.data.sources import MidiFolder
from tunegan.tokenizers import get_tokenizer
tmp = pathlib.Path(tempfile.mkdtemp())
conftest.write_corpus(tmp / "midi")
prepare([MidiFolder(str(tmp / "midi"))], get_tokenizer("pitch"), tmp / "cache", workers=1, labels=False)
fails = 0
for i in range(int(sys.argv[1])):
    out = tmp / f"run{i}"
    cmd = [sys.exec_prefix + "/bin/torchrun", "--standalone", "--nproc_per_node=2", "-m", "tunegan.cli", "train", "-d", str(tmp / "cache"),
           "-o", str(out), "--mode", "gan", "--epochs", "2", "--batch-size", "4", "--seq-len", "16",
           "--set", "pretrain_epochs=1", "--set", "steps_per_epoch=3", "--set", "adv_prefix=4", "--set", "adv_len=8",
           "--gen", "embed_dim=8", "--gen", "hidden_size=16", "--disc", "channels=4", "--disc", "kernel_size=3"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={"TUNEGAN_THREADS": "1", "PATH": sys.exec_prefix + "/bin"})
    print(i, r.returncode, flush=True)
    if r.returncode:
        fails += 1
        pathlib.Path(f"/tmp/dist_fail_{i}.txt").write_text(r.stdout + "\n=====\n" + r.stderr)
print("fails", fails)
