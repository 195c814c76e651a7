#!/usr/bin/env bash
# tokenize vs Hugging Face's fast tokenizer (Rust, one thread) on the SciFact
# corpus: MB/s of document text (title + " " + text, UTF-8) per CPU-second
# (the host is shared: CPU time is steadier than wall time), medians of 3
# interleaved runs.  The Python side is timed on texts already in memory;
# tokenize's time includes reading and parsing the JSONL and writing msgpack.
. "$(dirname "$0")/common.bash"
C=$DATA/scifact/corpus.jsonl
mkdir -p bench/out
export TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1
"$PY" - "$M" "$C" <<'PYEOF' | tee bench/out/tokenize.txt
import json, resource, statistics, subprocess, sys, time
from transformers import AutoTokenizer
model, corpus = sys.argv[1], sys.argv[2]
tok = AutoTokenizer.from_pretrained(model)
tok.model_max_length = 10**9  # no warning for the untruncated pass
texts = []
for line in open(corpus, encoding='utf-8'):
    d = json.loads(line)
    texts.append((d['title'] + ' ' + d['text']).strip())
mb = sum(len(t.encode('utf-8')) for t in texts) / 1e6

def hf(trunc):
    t0 = time.process_time()
    for i in range(0, len(texts), 256):
        tok(texts[i:i + 256], truncation=trunc, max_length=256 if trunc else None)
    return time.process_time() - t0

rust = tok.backend_tokenizer    # the Rust Tokenizer itself, no Python wrapping
rust.no_padding()

def raw(trunc):
    if trunc:
        rust.enable_truncation(256)
    else:
        rust.no_truncation()
    t0 = time.process_time()
    for i in range(0, len(texts), 256):
        rust.encode_batch(texts[i:i + 256])
    return time.process_time() - t0

def c(n):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(['bin/tokenize', '-m', model, '-n', str(n), corpus],
                   stdout=subprocess.DEVNULL, check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)

res = {k: [] for k in ('hf256', 'raw256', 'c256', 'hffull', 'rawfull', 'cfull')}
for _ in range(3):
    res['hf256'].append(hf(True)); res['raw256'].append(raw(True))
    res['c256'].append(c(256))
    res['hffull'].append(hf(False)); res['rawfull'].append(raw(False))
    res['cfull'].append(c(100000))
med = {k: statistics.median(v) for k, v in res.items()}
print('corpus: SciFact, %d documents, %.2f MB of text' % (len(texts), mb))
print('MB of text per CPU-second, median of 3, one thread:')
for what, h, r, cc in (('truncated to 256 (the pipeline)', 'hf256', 'raw256', 'c256'),
                       ('whole texts (no truncation)', 'hffull', 'rawfull', 'cfull')):
    print(what + ':')
    print('  %-42s %8.1f' % ('BertTokenizerFast __call__', mb / med[h]))
    print('  %-42s %8.1f' % ('tokenizers encode_batch (Rust)', mb / med[r]))
    print('  %-42s %8.1f  %5.1fx Rust, %5.1fx __call__' % (
        'embtune tokenize', mb / med[cc], med[r] / med[cc], med[h] / med[cc]))
PYEOF
