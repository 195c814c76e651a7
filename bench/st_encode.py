#!/usr/bin/env python3
"""st_encode.py MODEL_DIR FILE.jsonl THREADS: the Python reference for
bench/encode.sh.  Encodes the texts of a BEIR jsonl (title + " " + text)
with sentence-transformers (fp32 CPU, batch 32, its own length sorting) and
prints "sentences SECONDS" for the encode call alone."""
import json, sys, time

import torch
from sentence_transformers import SentenceTransformer

mdir, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
texts = []
for l in open(path):
    d = json.loads(l)
    t = d.get("title") or ""
    texts.append((t + " " + d["text"]).strip() if t else d["text"])
m = SentenceTransformer(mdir, device="cpu")
t0 = time.perf_counter()
m.encode(texts, batch_size=32, convert_to_numpy=True)
print(len(texts), time.perf_counter() - t0)
