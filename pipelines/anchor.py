"""anchor.py: the beir.mk recipe done with sentence-transformers in Python,
as the reference that embtune's fine-tuned numbers are held against.

    .venv/bin/python pipelines/anchor.py --data ../shared/data/acord \
        --model models/all-MiniLM-L6-v2 --out out/acord/anchor \
        --examples out/acord/train.mp --tokens out/acord/queries.tok,out/acord/corpus.tok \
        [--epochs 1 --batch 32 --lr 2e-5 --warmup 0.1 --weight-decay 0.01 --seed 12]
        [--mini-batch 32]   (CachedMNRL, as train --loss cmnrl)
        [--no-base]         (skip the base model's run)

With --examples, it trains on exactly the rows that embtune's mine-negatives
wrote (the stream of token ids is mapped back to the texts they came from,
through the token streams of --tokens), so both sides train on the same data.
Without it, it mines them itself with mine_hard_negatives on the (query,
positive) pairs of the train qrels (relevance >= --level), corpus = every
document, model = the base model (--num, --range-max, --relative-margin,
--margin, --format).

Writes OUT/base.run and OUT/tuned.run (TREC runs, top --k per query over
every query) and OUT/model/ (the tuned model); score them with
`score -q DATA/qrels/test.tsv -l LEVEL OUT/tuned.run`, the same metric code
that scores embtune's runs.  Training: MultipleNegativesRankingLoss (or the
cached one), one run of SentenceTransformerTrainer with the NO_DUPLICATES
batch sampler, linear warm-up and decay; then every query and document is
encoded with the tuned model and searched exactly.
Documents are "title text", as BEIR joins them and as tokenize(1) does.
Test queries never reach mining or training."""
import argparse
import json
import os
import sys
import time

import msgpack
import torch
from datasets import Dataset
from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                   SentenceTransformerTrainingArguments, losses)
try:
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers
except ImportError:  # sentence-transformers < 6
    from sentence_transformers.training_args import BatchSamplers
from sentence_transformers.util import mine_hard_negatives


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) != 3 or p[0] == "query-id":
                continue
            rows.append((p[0], p[1], int(p[2])))
    return rows


def read_stream(path):
    """The records of an embtune stream (its header checked and dropped)."""
    with open(path, "rb") as f:
        u = msgpack.Unpacker(f, raw=False)
        head = next(u)
        if not isinstance(head, dict) or "kind" not in head:
            sys.exit("anchor.py: %s: not an embtune stream" % path)
        for r in u:
            yield r


def embtune_rows(examples, sources):
    """The rows of an examples stream as texts: each token-id list is looked
    up among the records of the token streams in `sources`, (path, texts by
    id) pairs, whose ids name the text."""
    by_ids = {}
    for path, text in sources:
        for r in read_stream(path):
            by_ids.setdefault(tuple(r["ids"]), text[r["id"]])
    rows = []
    for r in read_stream(examples):
        try:
            rows.append([by_ids[tuple(t)] for t in r["texts"]])
        except KeyError:
            sys.exit("anchor.py: %s: a text is in none of the token streams"
                     % examples)
    return rows


def columns(rows):
    """A Dataset of (anchor, positive, negative...) rows of texts."""
    cols = ["anchor", "positive"] + ["negative_%d" % i for i in
                                     range(1, len(rows[0]) - 1)]
    if len(cols) == 3:
        cols[2] = "negative"
    return Dataset.from_dict({c: [r[i] for r in rows]
                              for i, c in enumerate(cols)})


def fit(model, data, loss, out, epochs, batch, lr, warmup, weight_decay, seed,
        sampler=BatchSamplers.NO_DUPLICATES):
    """One run of SentenceTransformerTrainer: AdamW, linear warm-up and
    decay, gradients clipped to norm 1, as train(1) does; on the model's
    device.  Returns the trainer."""
    args = SentenceTransformerTrainingArguments(
        output_dir=os.path.join(out, "checkpoints"),
        num_train_epochs=epochs, per_device_train_batch_size=batch,
        learning_rate=lr, warmup_ratio=warmup, weight_decay=weight_decay,
        max_grad_norm=1.0, lr_scheduler_type="linear", seed=seed,
        batch_sampler=sampler, save_strategy="no", logging_steps=1,
        report_to=[], use_cpu=model.device.type == "cpu",
        dataloader_drop_last=False)
    trainer = SentenceTransformerTrainer(model=model, args=args,
                                         train_dataset=data, loss=loss)
    trainer.train()
    return trainer


def write_run(path, model, qids, qtexts, dids, dtexts, k, bs):
    q = model.encode(qtexts, batch_size=bs, normalize_embeddings=True,
                     convert_to_tensor=True)
    d = model.encode(dtexts, batch_size=bs, normalize_embeddings=True,
                     convert_to_tensor=True)
    s = q @ d.T
    top = torch.topk(s, k=min(k, len(dids)), dim=1)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for i, qid in enumerate(qids):
            for r, (v, j) in enumerate(zip(top.values[i].tolist(),
                                           top.indices[i].tolist())):
                f.write("%s Q0 %s %d %.7f anchor\n" % (qid, dids[j], r + 1, v))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--level", type=int, default=1)
    ap.add_argument("--train-qrels")
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--num", type=int, default=1)
    ap.add_argument("--range-max", type=int, default=50)
    ap.add_argument("--relative-margin", type=float, default=None)
    ap.add_argument("--margin", type=float, default=None)
    ap.add_argument("--format", choices=["triplet", "ntuple"], default="triplet")
    ap.add_argument("--epochs", type=float, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--mini-batch", type=int, default=0,
                    help="CachedMultipleNegativesRankingLoss with this mini-batch "
                    "(train --loss cmnrl); 0: MultipleNegativesRankingLoss")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu",
                    help="torch device (cpu, cuda)")
    ap.add_argument("--no-base", action="store_true",
                    help="skip the base run")
    ap.add_argument("--examples",
                    help="train on this examples stream of mine-negatives "
                    "instead of mining")
    ap.add_argument("--tokens",
                    help="with --examples: QUERIES.tok,CORPUS.tok, the token "
                    "streams its texts come from")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()

    corpus = read_jsonl(os.path.join(a.data, "corpus.jsonl"))
    queries = read_jsonl(os.path.join(a.data, "queries.jsonl"))
    dids = [d["_id"] for d in corpus]
    dtexts = [d.get("title", "") + " " + d["text"] for d in corpus]
    dtext = dict(zip(dids, dtexts))
    qids = [q["_id"] for q in queries]
    qtext = {q["_id"]: q["text"] for q in queries}
    qrels = read_qrels(a.train_qrels or os.path.join(a.data, "qrels", "train.tsv"))
    pairs = [(qtext[q], dtext[d]) for q, d, r in qrels if r >= a.level]

    model = SentenceTransformer(a.model, device=a.device)
    model.max_seq_length = a.max_len
    if not a.no_base:
        write_run(os.path.join(a.out, "base.run"), model, qids,
                  [qtext[q] for q in qids], dids, dtexts, a.k, 64)
        print("anchor: base run %.0fs" % (time.time() - t0), file=sys.stderr)

    if a.examples:
        if not a.tokens:
            sys.exit("anchor.py: --examples needs --tokens")
        qtok, ctok = a.tokens.split(",")
        mined = columns(embtune_rows(a.examples,
                                     [(qtok, qtext), (ctok, dtext)]))
    else:
        ds = Dataset.from_dict({"anchor": [p[0] for p in pairs],
                                "positive": [p[1] for p in pairs]})
        mined = mine_hard_negatives(
            ds, model, corpus=dtexts, num_negatives=a.num,
            range_max=a.range_max, relative_margin=a.relative_margin,
            absolute_margin=a.margin, sampling_strategy="top",
            output_format="n-tuple" if a.format == "ntuple" else "triplet",
            batch_size=64, verbose=True,
            cache_folder=os.path.join(a.out, "cache"))
    print("anchor: %d training rows, %.0fs" % (len(mined), time.time() - t0),
          file=sys.stderr)

    trainer = fit(model, mined,
                  losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=a.mini_batch)
                  if a.mini_batch else losses.MultipleNegativesRankingLoss(model),
                  a.out, a.epochs, a.batch, a.lr, a.warmup, a.weight_decay, a.seed)
    with open(os.path.join(a.out, "train-log.tsv"), "w") as f:
        f.write("step\tloss\n")
        for e in trainer.state.log_history:
            if "loss" in e:
                f.write("%d\t%.6g\n" % (e["step"], e["loss"]))
    model.save(os.path.join(a.out, "model"))
    print("anchor: trained, %.0fs" % (time.time() - t0), file=sys.stderr)

    write_run(os.path.join(a.out, "tuned.run"), model, qids,
              [qtext[q] for q in qids], dids, dtexts, a.k, 64)
    print("anchor: done, %.0fs" % (time.time() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()
