/* texts: a tokens stream in memory (see texts.h). */
#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "texts.h"
#include "util.h"

static char *
header_str(struct rec_reader *rd, const msgpack_object *h, const char *key)
{
	const char *s;
	size_t n;

	if (rec_str(h, key, &s, &n) != 0)
		rec_fail(rd, "\"%s\": missing or not a str", key);
	return xstrndup(s, n);
}

void
texts_read(struct texts *t, const char *path)
{
	struct rec_reader rd;
	msgpack_object m;
	const msgpack_object *a;
	const char *id;
	size_t idn, na, bad, n, old;

	memset(t, 0, sizeof *t);
	t->path = path;
	rec_open(&rd, path);
	rec_header(&rd, "tokens", &m);
	t->model = header_str(&rd, &m, "model");
	t->vocab = header_str(&rd, &m, "vocab");
	if (rec_uint(&m, "max_len", &t->max_len) != 0)
		rec_fail(&rd, "\"max_len\": missing or not a uint");
	t->prompt_len = rec_opt_uint(&rd, &m, "prompt_len");
	t->off = xmalloc(sizeof *t->off);
	t->off[0] = 0;
	while (rec_next(&rd, &m) == REC_OK) {
		if (rec_str(&m, "id", &id, &idn) != 0)
			rec_fail(&rd, "\"id\": missing or not a str");
		if (rec_array(&m, "ids", &a, &na) != 0)
			rec_fail(&rd, "\"ids\": missing or not an array");
		if (t->n + 1 >= t->cap) {
			t->cap = t->cap ? 2 * t->cap : 1024;
			t->off = xrealloc(t->off, (t->cap + 1) * sizeof *t->off);
			t->idoff = xrealloc(t->idoff, t->cap * sizeof *t->idoff);
		}
		if (t->nids + na > t->idscap) {
			while (t->nids + na > t->idscap)
				t->idscap = t->idscap ? 2 * t->idscap : 65536;
			t->ids = xrealloc(t->ids, t->idscap * sizeof *t->ids);
		}
		if (rec_ids(rec_get(&m, "ids"), t->ids + t->nids, na,
		    UINT32_MAX, &n, &bad) != 0)
			rec_fail(&rd, "\"ids\"[%zu]: not a uint32", bad);
		if (t->pooln + idn + 1 > t->poolcap) {
			while (t->pooln + idn + 1 > t->poolcap)
				t->poolcap = t->poolcap ? 2 * t->poolcap : 65536;
			t->pool = xrealloc(t->pool, t->poolcap);
		}
		memcpy(t->pool + t->pooln, id, idn);
		t->pool[t->pooln + idn] = '\0';
		t->idoff[t->n] = t->pooln;
		t->pooln += idn + 1;
		t->nids += n;
		t->off[++t->n] = t->nids;
	}
	rec_close(&rd);
	/* the pool no longer moves: index it */
	mine_idmap_init(&t->map);
	for (size_t i = 0; i < t->n; i++) {
		const char *s = texts_id(t, i);
		if (mine_idmap_put(&t->map, s, strlen(s), i, &old) != 0)
			errx(EXIT_DATAERR, "%s: id \"%s\" appears twice "
			    "(records %zu and %zu)", path, s, old + 1, i + 1);
	}
}

void
texts_free(struct texts *t)
{
	free(t->model);
	free(t->vocab);
	free(t->off);
	free(t->idoff);
	free(t->ids);
	free(t->pool);
	mine_idmap_free(&t->map);
}

long
texts_find(const struct texts *t, const char *id)
{
	return mine_idmap_get(&t->map, id, strlen(id));
}
