"""Scale-degree profile (pitch classes relative to the key found by Krumhansl-Schmuckler) of a
style's train pieces (first 600 tokens) against 120 samples of the shipped model, in major and minor.

    python main/docs/results/key-profile.py chorale jsb      # run from /work
"""
import numpy as np, sys, torch; torch.set_num_threads(1)
from tunegan.checkpoint import load_checkpoint
from tunegan.data.dataset import TokenCache
from tunegan.data.labels import mode_and_key
from tunegan.generation import GenerationOptions, sample_pieces
style, corpus = sys.argv[1], sys.argv[2]
ck=load_checkpoint("default"); tok=ck.tokenizer; tp=tok.token_pitches()
def prof(toks):
    k=mode_and_key(tok.decode(np.asarray(toks,np.int64))); p=tp[toks]; p=p[p>=0]
    return k.mode, np.bincount((p-k.tonic)%12, minlength=12)
c=TokenCache("cache/mix4-remi-dd"); sd=c.split("train"); labs=c.piece_labels("train")
R={"major":np.zeros(12),"minor":np.zeros(12)}; G={"major":np.zeros(12),"minor":np.zeros(12)}
for i,l in enumerate(labs):
    if l["corpus"]==corpus:
        m,h=prof(sd.piece(i)[:600]); R[m]+=h
for prime,new,op in sample_pieces(ck, GenerationOptions(length=512, style=(style,)), [600000+i for i in range(120)]):
    m,h=prof(np.concatenate([prime[1:],new])); G[m]+=h
names="1 b2 2 b3 3 4 #4 5 b6 6 b7 7".split()
for m in ("major","minor"):
    r=R[m]/R[m].sum(); g=G[m]/G[m].sum()
    print(m, "n notes", int(R[m].sum()), int(G[m].sum()))
    print("  ".join(f"{n}:{a:.3f}/{b:.3f}" for n,a,b in zip(names,r,g)))
