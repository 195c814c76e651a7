#!/usr/bin/env python3
"""emb_close.py GOT.mp REF.safetensors TENSOR [ATOL] [MINCOS] [ROWS]
Compare an embeddings stream with reference vectors (row i = record i; with
ROWS, the stream holds the reference's first ROWS rows):
every component within ATOL (default 1e-5) and cosine >= MINCOS (default
0.99999).  Prints the worst figures; exit 1 on any mismatch."""
import sys

import msgpack
import numpy as np
from safetensors.numpy import load_file

got_path, ref_path, name = sys.argv[1:4]
atol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5
mincos = float(sys.argv[5]) if len(sys.argv) > 5 else 0.99999
ref = load_file(ref_path)[name]
if len(sys.argv) > 6:
    ref = ref[:int(sys.argv[6])]
with open(got_path, "rb") as f:
    it = msgpack.Unpacker(f, raw=False)
    hdr = next(it)
    vecs = [np.frombuffer(r["vec"], dtype="<f4") for r in it]
if hdr.get("kind") != "embeddings" or hdr.get("dim") != ref.shape[1]:
    sys.exit("bad header %r for reference %s" % (hdr, ref.shape))
if len(vecs) != ref.shape[0]:
    sys.exit("%d records, reference has %d" % (len(vecs), ref.shape[0]))
got = np.stack(vecs)
d = np.abs(got - ref).max(axis=1)
cos = (got * ref).sum(1) / np.maximum(
    np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1), 1e-30)
print("n %d max|d| %.3g (record %d) min cos %.9f" % (len(vecs), d.max(), d.argmax(), cos.min()))
sys.exit(0 if d.max() <= atol and cos.min() >= mincos else 1)
