/* libFuzzer: the msgpack stream reader (lib/rec) and its accessors. */
#include "fuzz.h"
#include "rec.h"

static void
walk(const msgpack_object *o, int depth)
{
	rec_typename(o);
	switch (o->type) {
	case MSGPACK_OBJECT_STR: fuzz_touch(o->via.str.ptr, o->via.str.size); break;
	case MSGPACK_OBJECT_BIN: fuzz_touch(o->via.bin.ptr, o->via.bin.size); break;
	case MSGPACK_OBJECT_EXT: fuzz_touch(o->via.ext.ptr, o->via.ext.size); break;
	case MSGPACK_OBJECT_ARRAY:
		for (uint32_t i = 0; i < o->via.array.size; i++)
			walk(&o->via.array.ptr[i], depth + 1);
		break;
	case MSGPACK_OBJECT_MAP:
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			walk(&o->via.map.ptr[i].key, depth + 1);
			walk(&o->via.map.ptr[i].val, depth + 1);
		}
		break;
	default:
		return;
	}
	if (depth > REC_MAXDEPTH)	/* a container this deep */
		abort();	/* rec lets no deeper record through */
}

/* the accessors the tools use, on the keys of every stream kind */
static void
use_keys(const msgpack_object *m)
{
	static const char *keys[] = { "kind", "v", "producer", "model",
	    "vocab", "max_len", "dim", "k", "id", "ids", "vec", "qid",
	    "hits", "texts", "label", "columns", NULL };
	uint32_t ids[64];

	for (const char **k = keys; *k != NULL; k++) {
		const char *s;
		size_t n, bad;
		uint64_t u;
		double d;
		const msgpack_object *a;

		if (rec_str(m, *k, &s, &n) == 0)
			fuzz_touch(s, n);
		if (rec_bin(m, *k, &s, &n) == 0)
			fuzz_touch(s, n);
		rec_uint(m, *k, &u);
		rec_num(m, *k, &d);
		if (rec_array(m, *k, &a, &n) == 0) {
			const msgpack_object *arr = rec_get(m, *k);
			if (rec_ids(arr, ids, 64, 30522, &n, &bad) == 0)
				for (size_t i = 0; i < n; i++)
					if (ids[i] >= 30522)
						abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rec_reader rd;
	static msgpack_object m;
	static int fd;
	char path[64];

	fd = fuzz_memfd(data, size, path, sizeof path);
	rec_open(&rd, NULL);
	rd.fd = fd;
	rd.name = "fuzz";
	FUZZ_TRY {
		rec_header(&rd, NULL, &m);
		use_keys(&m);
		while (rec_next(&rd, &m) == REC_OK) {
			if (rd.end > rd.nread || rd.end - rd.off > REC_MAXSIZE)
				abort();
			walk(&m, 1);
			use_keys(&m);
		}
	}
	rec_close(&rd);	/* closes fd */
	return 0;
}
