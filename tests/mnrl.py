"""mnrl.py: for tests that hold train's first losses against encode's
vectors: read embtune streams, write an examples stream of token rows, and
the MNRL loss (scale 20, cosine) of a batch of rows, as train computes it."""
import msgpack
import numpy as np


def load(path):
    """(header, records) of an embtune stream."""
    with open(path, "rb") as f:
        it = msgpack.Unpacker(f, raw=False)
        return next(it), list(it)


def vectors(path):
    """{id: vector as float64} of an embeddings stream."""
    return {r["id"]: np.frombuffer(r["vec"], dtype="<f4").astype(np.float64)
            for r in load(path)[1]}


def write_examples(path, tok, rows, **extra):
    """rows (tuples of tokens records) as an examples stream whose header
    takes the model and vocab of the tokens header tok, and extra keys."""
    with open(path, "wb") as f:
        f.write(msgpack.packb(dict({"kind": "examples", "v": 1,
            "producer": "test", "model": tok["model"], "vocab": tok["vocab"],
            "max_len": tok["max_len"],
            "columns": max(len(r) for r in rows)}, **extra)))
        for r in rows:
            f.write(msgpack.packb({"texts": [t["ids"] for t in r]}))


def mnrl(rows, vq, vc):
    """MNRL of one batch of rows (anchor, positive, negatives...): anchors'
    vectors from vq, the other texts' from vc, by id."""
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    a = np.stack([vq[r[0]["id"]] for r in rows])
    c = np.stack([vc[r[k]["id"]] for k in range(1, len(rows[0]))
                  for r in rows])
    s = 20 * unit(a) @ unit(c).T
    return float(np.mean([np.log(np.exp(x).sum()) - x[i]
                          for i, x in enumerate(s)]))
