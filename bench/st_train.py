#!/usr/bin/env python3
"""st_train.py MODEL_DIR ROWS.jsonl THREADS BATCH MAXLEN OUT [fp32|bf16]: the Python
reference for bench/train.sh.  Trains with sentence-transformers'
SentenceTransformerTrainer (CPU, fp32): MultipleNegativesRankingLoss, one
epoch over the rows (anchor, positive, negative), NO_DUPLICATES batches,
lr 2e-5, warm-up 10%, weight decay 0.01 (train's default; the trainer's is
0), no evaluation, no checkpoints; bf16: bf16=True (autocast, fp32 master
weights).  Prints "examples SECONDS" for
trainer.train() alone."""
import json, logging, os, sys, time

import torch
from datasets import Dataset
from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                   SentenceTransformerTrainingArguments)
from sentence_transformers.base.sampler import BatchSamplers
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

logging.disable(logging.WARNING)
mdir, path, threads, batch, maxlen, out = sys.argv[1:7]
bf16 = len(sys.argv) > 7 and sys.argv[7] == "bf16"
torch.set_num_threads(int(threads))
rows = [json.loads(l) for l in open(path)]
ds = Dataset.from_dict({k: [r[k] for r in rows] for k in ("anchor", "positive", "negative")})
model = SentenceTransformer(mdir, device="cpu")
model.max_seq_length = int(maxlen)
args = SentenceTransformerTrainingArguments(
    output_dir=out, num_train_epochs=1, per_device_train_batch_size=int(batch),
    learning_rate=2e-5, warmup_steps=0.1, weight_decay=0.01, batch_sampler=BatchSamplers.NO_DUPLICATES,
    save_strategy="no", eval_strategy="no", logging_steps=1000, report_to="none",
    use_cpu=True, bf16=bf16, dataloader_num_workers=0, disable_tqdm=True, seed=42)
trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds,
                                     loss=MultipleNegativesRankingLoss(model))
t0 = time.perf_counter()
trainer.train()
print(len(rows), time.perf_counter() - t0)
