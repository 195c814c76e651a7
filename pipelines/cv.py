"""cv.py: choose a fine-tuning recipe by cross-validation over the train
queries, with sentence-transformers, without looking at the test split.

    .venv/bin/python pipelines/cv.py --data ../shared/data/acord \
        --model models/all-MiniLM-L6-v2 --out out/cv [--level 2] \
        [--folds 5] [--device cuda] [--recipes judged,demo,...] [--test] \
        [--judged-only]

Each recipe builds its training rows from the judgments of the train
queries (qrels/train.tsv) and the base model's ranking of the whole corpus.
For each of --folds folds of the train queries it trains on the other folds
and measures NDCG@10 (pytrec_eval) on the held-out fold's queries, against
the base model on the same queries; the mean change over all train queries,
with a paired sign-flip permutation p, is the recipe's CV score.  With
--judged-only each query ranks only the documents judged for it (trec_eval
-J, pytrec_eval's judged_docs_only_flag; score -J), as ACORD's owners score.  With
--test it also trains on all train queries and scores the test split, the
figure to report for the recipe the CV chose.  One JSON line per result in
OUT/cv.jsonl, and on stderr.  Row kinds (the recipes below):
  rank    (query, positive, the best-ranked non-positive after skipping
          rmin), as mine-negatives -n 1 --range-min RMIN
  judged  (query, positive, n documents judged below --level for the query,
          best-ranked first, the query's positives taking turns through
          them), as mine-negatives --judged
  pairs   (query, positive): in-batch negatives only
  cosent  (query, document, relevance / 4) for every document rated >= 1,
          and (query, document, 0) for the zeros best-ranked judged 0:
          CoSENTLoss on the grades
MNRL rows use the NO_DUPLICATES batch sampler, as train(1); CoSENT rows a
plain shuffled one.  A recipe's loss (default mnrl) may be cmnrl
(CachedMultipleNegativesRankingLoss) or cgist (CachedGISTEmbedLoss, the base
model frozen as the guide, as train --loss cgist), mini-batches of 32.  Training: batch 32, warm-up 10%, weight decay 0.01,
seed 12, lr and epochs per recipe."""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import pytrec_eval
import torch
from sentence_transformers import SentenceTransformer, losses

from anchor import BatchSamplers, Dataset, columns, fit, read_jsonl, read_qrels

RECIPES = {
    "judged": dict(rows="judged"),
    "judged-n3": dict(rows="judged", n=3),
    "judged-l3": dict(rows="judged", level=3),
    "judged-lr1": dict(rows="judged", lr=1e-5),
    "judged-lr5": dict(rows="judged", lr=5e-5),
    "judged-e2": dict(rows="judged", epochs=2),
    "judged-e3": dict(rows="judged", epochs=3),
    "judged-e5": dict(rows="judged", epochs=5),
    "judged-n3-e3": dict(rows="judged", n=3, epochs=3),
    "judged-n3-cmnrl": dict(rows="judged", n=3, loss="cmnrl"),
    "judged-n3-cgist": dict(rows="judged", n=3, loss="cgist"),
    "judged-l3-e3": dict(rows="judged", level=3, epochs=3),
    "judged-lr1-e3": dict(rows="judged", lr=1e-5, epochs=3),
    "demo": dict(rows="rank", rmin=10, rmax=50),
    "demo-e3": dict(rows="rank", rmin=10, rmax=50, epochs=3),
    "pairs": dict(rows="pairs"),
    "pairs-e3": dict(rows="pairs", epochs=3),
    "cosent": dict(rows="cosent", zeros=5),
    "cosent-e3": dict(rows="cosent", zeros=5, epochs=3),
    "cosent-lr5": dict(rows="cosent", zeros=5, lr=5e-5),
    "cosent-z20": dict(rows="cosent", zeros=20),
}


def encode(model, texts):
    with torch.no_grad():
        return model.encode(texts, batch_size=128, normalize_embeddings=True,
                            convert_to_tensor=True).float()


class Data:
    def __init__(self, root, model, level, judged_only=False):
        corpus = read_jsonl(os.path.join(root, "corpus.jsonl"))
        self.dids = [d["_id"] for d in corpus]
        self.dtext = {d["_id"]: d.get("title", "") + " " + d["text"]
                      for d in corpus}
        self.qtext = {q["_id"]: q["text"]
                      for q in read_jsonl(os.path.join(root, "queries.jsonl"))}
        self.qrels = {}
        for split in ("train", "test"):
            qr = {}
            for q, d, r in read_qrels(os.path.join(root, "qrels",
                                                   split + ".tsv")):
                qr.setdefault(q, {})[d] = r
            self.qrels[split] = qr
        self.level = level
        self.judged_only = judged_only
        self.guide = None       # the frozen base model of a GIST loss
        self.D = encode(model, [self.dtext[d] for d in self.dids])
        qs = sorted(self.qrels["train"])      # the queries rows come from
        S = (encode(model, [self.qtext[q] for q in qs]) @ self.D.T).cpu()
        self.rank = {q: [self.dids[j] for j in
                         torch.argsort(S[i], descending=True, stable=True)]
                     for i, q in enumerate(qs)}

    def ndcg(self, model, qids, split, D=None):
        """NDCG@10 of each query, its top 100 over the whole corpus, or
        (judged_only) the ranking of its judged documents."""
        D = encode(model, [self.dtext[d] for d in self.dids]) if D is None else D
        Q = encode(model, [self.qtext[q] for q in qids])
        qr = {q: self.qrels[split][q] for q in qids}
        S = Q @ D.T
        if self.judged_only:
            col = {d: j for j, d in enumerate(self.dids)}
            run = {q: {d: float(S[i, col[d]]) for d in qr[q] if d in col}
                   for i, q in enumerate(qids)}
        else:
            top = torch.topk(S, 100, dim=1)
            run = {q: {self.dids[j]: float(v) for v, j in
                       zip(top.values[i].tolist(), top.indices[i].tolist())}
                   for i, q in enumerate(qids)}
        ev = pytrec_eval.RelevanceEvaluator(
            qr, {"ndcg_cut.10"}, relevance_level=self.level,
            judged_docs_only_flag=self.judged_only)
        return {q: m["ndcg_cut_10"] for q, m in ev.evaluate(run).items()}

    def rows(self, rc, qids):
        """Training rows (texts) of recipe rc for the train queries qids."""
        L = rc.get("level", self.level)
        out = []
        for q in qids:
            rel = self.qrels["train"][q]
            pos = sorted(d for d, r in rel.items() if r >= L)
            qt, dt = self.qtext[q], self.dtext
            if rc["rows"] == "pairs":
                out += [(qt, dt[d]) for d in pos]
            elif rc["rows"] == "cosent":
                zeros = [d for d in self.rank[q] if rel.get(d) == 0]
                out += [(qt, dt[d], r / 4) for d, r in sorted(rel.items())
                        if r >= 1]
                out += [(qt, dt[d], 0.0) for d in zeros[:rc["zeros"]]]
            elif rc["rows"] == "rank":
                cand = [d for d in self.rank[q] if rel.get(d, 0) < L]
                cand = cand[rc["rmin"]:rc["rmax"]]
                out += [(qt, dt[d], dt[cand[0]]) for d in pos if cand]
            else:           # judged: rated 1.. below L first, then zeros
                n = rc.get("n", 1)
                cand = [d for d in self.rank[q] if 1 <= rel.get(d, -1) < L]
                cand = cand or [d for d in self.rank[q]
                                if 0 <= rel.get(d, -1) < L]
                out += [(qt, dt[d]) + tuple(dt[cand[(i * n + k) % len(cand)]]
                                            for k in range(n))
                        for i, d in enumerate(pos) if cand]
        return out

    def train(self, a, rc, qids):
        model = SentenceTransformer(a.model, device=a.device)
        rows = self.rows(rc, qids)
        if rc["rows"] == "cosent":
            data = Dataset.from_dict({"sentence1": [r[0] for r in rows],
                                      "sentence2": [r[1] for r in rows],
                                      "score": [r[2] for r in rows]})
            loss, sampler = losses.CoSENTLoss(model), BatchSamplers.BATCH_SAMPLER
        else:
            data = columns(rows)
            kind = rc.get("loss", "mnrl")
            if kind == "cgist":
                if self.guide is None:
                    self.guide = SentenceTransformer(a.model, device=a.device)
                loss = losses.CachedGISTEmbedLoss(model, self.guide,
                                                  mini_batch_size=32)
            elif kind == "cmnrl":
                loss = losses.CachedMultipleNegativesRankingLoss(
                    model, mini_batch_size=32)
            else:
                loss = losses.MultipleNegativesRankingLoss(model)
            sampler = BatchSamplers.NO_DUPLICATES
        tr = fit(model, data, loss, a.out, rc.get("epochs", 1), 32,
                 rc.get("lr", 2e-5), 0.1, 0.01, 12, sampler)
        return model, tr.state.global_step, len(rows)


def permutation_p(d, n=10000, seed=1):
    """Two-sided paired sign-flip permutation test of mean(d) = 0."""
    d = np.asarray(d)
    s = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n, len(d)))
    return float((np.sum(np.abs((s * d).mean(1)) >= abs(d.mean()) - 1e-12)
                  + 1) / (n + 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--level", type=int, default=2)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available()
                    else "cpu")
    ap.add_argument("--recipes", default=",".join(RECIPES))
    ap.add_argument("--test", action="store_true")
    ap.add_argument("--judged-only", action="store_true")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()

    log = open(os.path.join(a.out, "cv.jsonl"), "a")

    def say(**k):
        k["seconds"] = round(time.time() - t0)
        for f in (log, sys.stderr):
            print(json.dumps(k), file=f, flush=True)

    base = SentenceTransformer(a.model, device=a.device)
    data = Data(a.data, base, a.level, a.judged_only)
    trq, teq = sorted(data.qrels["train"]), sorted(data.qrels["test"])
    b_train = data.ndcg(base, trq, "train", data.D)
    b_test = data.ndcg(base, teq, "test", data.D)
    say(what="base", train=np.mean(list(b_train.values())),
        test=np.mean(list(b_test.values())))
    shuffled = trq[:]
    random.Random(0).shuffle(shuffled)
    folds = [shuffled[i::a.folds] for i in range(a.folds)]

    for name in a.recipes.split(","):
        rc = RECIPES[name]
        d = []
        for k, fold in enumerate(folds):
            rest = [q for f in folds if f is not fold for q in f]
            model, _, _ = data.train(a, rc, rest)
            t = data.ndcg(model, fold, "train")
            d += [t[q] - b_train[q] for q in fold]
        say(what="cv", recipe=name, delta=float(np.mean(d)),
            p=permutation_p(d), queries=len(d))
        if a.test:
            model, steps, n = data.train(a, rc, trq)
            t = data.ndcg(model, teq, "test")
            d = [t[q] - b_test[q] for q in teq]
            say(what="test", recipe=name, tuned=float(np.mean(list(t.values()))),
                delta=float(np.mean(d)), p=permutation_p(d), steps=steps,
                rows=n)


if __name__ == "__main__":
    sys.exit(main())
