/* libFuzzer: the judgment and run readers (lib/qrels): BEIR TSV or TREC
 * qrels; a hits stream or TREC run text.  The first byte picks which. */
#include "fuzz.h"
#include "qrels.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct qrels q;
	static struct run r;
	static int fd;
	char path[64];

	if (size < 1)
		return 0;
	fuzz_fd_base();
	fd = fuzz_memfd(data + 1, size - 1, path, sizeof path);
	FUZZ_TRY {
		if (data[0] & 1) {
			run_read(&r, path);
			if (r.start[r.nq] != r.nh)
				abort();
			for (size_t i = 0; i < r.nq; i++) {
				if (run_find(&r, r.qid[i]) != (long)i ||
				    r.start[i] > r.start[i + 1])
					abort();
				for (size_t j = r.start[i]; j < r.start[i + 1]; j++)
					fuzz_touch(r.h[j].doc, strlen(r.h[j].doc));
			}
			run_free(&r);
		} else {
			qrels_read(&q, path);
			if (q.start[q.nq] != q.nj)
				abort();
			for (size_t i = 0; i < q.nq; i++) {
				if (qrels_find(&q, q.qid[i]) != (long)i)
					abort();
				for (size_t j = q.start[i]; j < q.start[i + 1]; j++)
					if (qrels_rel(&q, i, q.j[j].doc) != q.j[j].rel)
						abort();
			}
			qrels_free(&q);
		}
	}
	if (fuzz_status != 0) {	/* free what the reader had built */
		if (data[0] & 1)
			run_free(&r);
		else
			qrels_free(&q);
	}
	close(fd);
	fuzz_fd_sweep();	/* and the file it had open */
	return 0;
}
