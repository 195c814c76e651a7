"""faiss IndexFlatIP reference for bench/topk.sh:
    faiss_topk.py CORPUS.npy QUERIES.npy K THREADS [TOPK_RUN.trec]
Prints "faiss_search_s S" and "faiss_search_cpu_s S" (wall and CPU seconds,
all threads, of the search alone) and "faiss_total_s S" (load, add and
search); with a topk TREC run, also the fraction of faiss's hits
that topk returned ("agree F")."""
import sys, time
t0 = time.perf_counter()
import numpy as np
import faiss

cpath, qpath, k, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
faiss.omp_set_num_threads(threads)
x = np.load(cpath)
q = np.load(qpath)
index = faiss.IndexFlatIP(x.shape[1])
index.add(x)
t1, c1 = time.perf_counter(), time.process_time()
D, I = index.search(q, k)
t2, c2 = time.perf_counter(), time.process_time()
print(f"faiss_search_s {t2 - t1:.3f}")
print(f"faiss_search_cpu_s {c2 - c1:.3f}")
print(f"faiss_total_s {t2 - t0:.3f}")
if len(sys.argv) > 5:
    got = {}
    for line in open(sys.argv[5]):
        qid, _, d, _, _, _ = line.split()
        got.setdefault(int(qid[1:]), set()).add(int(d[1:]))
    same = sum(len(set(I[i]) & got.get(i, set())) for i in range(len(q)))
    print(f"agree {same / I.size:.6f}")
