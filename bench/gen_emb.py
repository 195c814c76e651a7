"""Write a random embeddings stream (embtune(7)) for the benchmarks:
    gen_emb.py N DIM SEED PREFIX > out.emb
N unit-length Gaussian vectors of DIM float32, ids PREFIX0, PREFIX1, ...
Also writes the same matrix as out.npy beside it when NPY=path is set."""
import os, struct, sys
import msgpack
import numpy as np

n, dim, seed, prefix = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(seed)
out = sys.stdout.buffer
out.write(msgpack.packb({"kind": "embeddings", "v": 1, "producer": "gen_emb", "model": "random",
                         "dim": dim, "normalized": True}))
npy = os.environ.get("NPY")
full = np.lib.format.open_memmap(npy, "w+", np.float32, (n, dim)) if npy else None
head = b"\x82\xa2id"
vec = b"\xa3vec\xc5" + struct.pack(">H", 4 * dim)
for s in range(0, n, 65536):
    x = rng.standard_normal((min(65536, n - s), dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    if full is not None:
        full[s:s + len(x)] = x
    xb = x.astype("<f4").tobytes()
    parts = []
    for i in range(len(x)):
        parts.append(head + msgpack.packb(f"{prefix}{s + i}") + vec + xb[4 * dim * i:4 * dim * (i + 1)])
    out.write(b"".join(parts))
if full is not None:
    full.flush()
