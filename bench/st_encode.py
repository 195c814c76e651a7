#!/usr/bin/env python3
"""st_encode.py MODEL_DIR FILE.jsonl THREADS [fp32|bf16]: the Python
reference for bench/encode.sh.  Encodes the texts of a BEIR jsonl (title +
" " + text) with sentence-transformers (CPU, batch 32, its own length
sorting; bf16: the weights loaded as torch.bfloat16, as its docs suggest)
and prints "sentences SECONDS" for the encode call alone."""
import json, sys, time

import torch
from sentence_transformers import SentenceTransformer

mdir, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
prec = sys.argv[4] if len(sys.argv) > 4 else "fp32"
torch.set_num_threads(threads)
texts = []
for l in open(path):
    d = json.loads(l)
    t = d.get("title") or ""
    texts.append((t + " " + d["text"]).strip() if t else d["text"])
kw = {"torch_dtype": torch.bfloat16} if prec == "bf16" else {}
m = SentenceTransformer(mdir, device="cpu", model_kwargs=kw)
t0 = time.perf_counter()
m.encode(texts, batch_size=32, convert_to_numpy=True)
print(len(texts), time.perf_counter() - t0)
