/* rec: msgpack record streams, read from read(2) in constant memory and
 * written one whole record at a time.  See rec.h and embtune(7). */
#include "rec.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READSZ (64 * 1024)

void
rec_open(struct rec_reader *rd, const char *path)
{
	memset(rd, 0, sizeof *rd);
	if (path == NULL || strcmp(path, "-") == 0) {
		rd->fd = STDIN_FILENO;
		rd->name = "stdin";
	} else {
		if ((rd->fd = open(path, O_RDONLY)) == -1)
			err(EXIT_NOINPUT, "%s", path);
		rd->name = path;
	}
	if (!msgpack_unpacker_init(&rd->up, READSZ))
		errx(EXIT_SOFTWARE, "%s: cannot allocate the unpacker", rd->name);
	msgpack_unpacked_init(&rd->res);
	rd->nrec = (size_t)-1;	/* the header will be record 0 */
}

void
rec_close(struct rec_reader *rd)
{
	msgpack_unpacked_destroy(&rd->res);
	msgpack_unpacker_destroy(&rd->up);
	if (rd->fd != STDIN_FILENO)
		close(rd->fd);
}

void
rec_fail(const struct rec_reader *rd, const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	size_t n = rd->nrec + 1;	/* number of the record being read */

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (rd->in_rec)
		n = rd->nrec;
	if (n == 0)
		errx(EXIT_DATAERR, "%s: header (byte %llu): %s", rd->name,
		    (unsigned long long)rd->off, msg);
	errx(EXIT_DATAERR, "%s: record %zu (byte %llu): %s", rd->name, n,
	    (unsigned long long)rd->off, msg);
}

static void
fill(struct rec_reader *rd)
{
	ssize_t n;

	if (!msgpack_unpacker_reserve_buffer(&rd->up, READSZ))
		errx(EXIT_SOFTWARE, "%s: out of memory", rd->name);
	do
		n = read(rd->fd, msgpack_unpacker_buffer(&rd->up), READSZ);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		err(EXIT_IOERR, "%s", rd->name);
	if (n == 0)
		rd->eof = 1;
	msgpack_unpacker_buffer_consumed(&rd->up, (size_t)n);
	rd->nread += (uint64_t)n;
}

static uint64_t
be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

/* size of a fixed-size scalar with first byte c, 0 for anything else */
static size_t
scalar_size(unsigned c)
{
	if (c <= 0x7f || c >= 0xe0)
		return 1;
	switch (c) {
	case 0xc0: case 0xc2: case 0xc3: return 1;
	case 0xcc: case 0xd0: return 2;
	case 0xcd: case 0xd1: case 0xd4: return 3;
	case 0xd5: return 4;
	case 0xca: case 0xce: case 0xd2: return 5;
	case 0xd6: return 6;
	case 0xcb: case 0xcf: case 0xd3: return 9;
	case 0xd7: return 10;
	case 0xd8: return 18;
	}
	return 0;
}

/* Walk the msgpack headers of the next record in the unpacker's buffer,
 * from where the last call stopped: 1 when the record is whole (its size
 * in rd->spos), 0 when more bytes are needed.  Refuses (exit 65) what could
 * make the unpacker allocate for elements that are not there. */
static int
scan(struct rec_reader *rd)
{
	const unsigned char *b = (const unsigned char *)rd->up.buffer + rd->up.off;
	size_t avail = rd->up.used - rd->up.off;

	for (;;) {
		size_t pos = rd->spos, hl = 1;
		uint64_t len = 0, n = 0;	/* payload bytes; elements */
		const char *what = NULL;	/* the container, or the value */
		unsigned c;

		if (rd->sdepth > 0) {	/* a run of scalars (token ids) */
			uint32_t r = rd->srem[rd->sdepth - 1], r0 = r;
			size_t k;

			while (r > 0 && pos < avail &&
			    (k = scalar_size(b[pos])) != 0 && pos + k <= avail) {
				pos += k;
				r--;
			}
			rd->srem[rd->sdepth - 1] = r;
			rd->sneed -= r0 - r;
			rd->spos = pos;
			if (pos + rd->sneed > REC_MAXSIZE)
				rec_fail(rd, "the record would exceed %u MiB",
				    REC_MAXSIZE >> 20);
		}
		while (rd->sdepth > 0 && rd->srem[rd->sdepth - 1] == 0)
			rd->sdepth--;
		if (rd->sdepth == 0 && rd->sroot)
			return pos <= avail;
		if (pos >= avail)
			return 0;
		c = b[pos];
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
			hl = 1;
		else if (c >= 0x80 && c <= 0x8f)
			n = 2 * (uint64_t)(c & 0x0f), what = "map";
		else if (c >= 0x90 && c <= 0x9f)
			n = c & 0x0f, what = "array";
		else if (c >= 0xa0 && c <= 0xbf)
			len = c & 0x1f, what = "str";
		else if (c == 0xc1)
			rec_fail(rd, "malformed msgpack");
		else {
			/* c4..df: header bytes after c, and how to read them */
			static const struct { unsigned char hl, lb; char k; } t[] = {
				{1, 1, 's'}, {2, 2, 's'}, {4, 4, 's'},	/* bin 8/16/32 */
				{2, 1, 's'}, {3, 2, 's'}, {5, 4, 's'},	/* ext 8/16/32 */
				{4, 0, 0}, {8, 0, 0},			/* float */
				{1, 0, 0}, {2, 0, 0}, {4, 0, 0}, {8, 0, 0},	/* uint */
				{1, 0, 0}, {2, 0, 0}, {4, 0, 0}, {8, 0, 0},	/* int */
				{2, 0, 0}, {3, 0, 0}, {5, 0, 0}, {9, 0, 0},	/* fixext */
				{17, 0, 0},
				{1, 1, 's'}, {2, 2, 's'}, {4, 4, 's'},	/* str 8/16/32 */
				{2, 2, 'a'}, {4, 4, 'a'},		/* array 16/32 */
				{2, 2, 'm'}, {4, 4, 'm'},		/* map 16/32 */
			};
			int i = (int)c - 0xc4;

			hl = 1 + (size_t)t[i].hl;
			if (pos + hl > avail)
				return 0;
			if (t[i].k == 's') {
				len = be(b + pos + 1, t[i].lb);
				what = c <= 0xc6 ? "bin" : c <= 0xc9 ? "ext" : "str";
			}
			else if (t[i].k == 'a')
				n = be(b + pos + 1, t[i].lb), what = "array";
			else if (t[i].k == 'm')
				n = 2 * be(b + pos + 1, t[i].lb), what = "map";
		}
		if (pos + hl > avail)
			return 0;
		/* every element still to come takes a byte at least */
		if (pos + hl + len + rd->sneed + n > REC_MAXSIZE) {
			if (n == 0)
				rec_fail(rd, "%s of %llu bytes: the record would "
				    "exceed %u MiB", what ? what : "value",
				    (unsigned long long)len, REC_MAXSIZE >> 20);
			rec_fail(rd, "%s of %llu elements: the record would "
			    "exceed %u MiB", what, (unsigned long long)
			    (*what == 'm' ? n / 2 : n), REC_MAXSIZE >> 20);
		}
		rd->spos = pos + hl + (size_t)len;
		if (rd->sdepth > 0) {
			rd->srem[rd->sdepth - 1]--;
			rd->sneed--;
		} else
			rd->sroot = 1;
		if (n > 0) {
			if (rd->sdepth == REC_MAXDEPTH)
				rec_fail(rd, "nested deeper than %d levels",
				    REC_MAXDEPTH);
			rd->srem[rd->sdepth++] = (uint32_t)n;
			rd->sneed += n;
		}
	}
}

int
rec_next(struct rec_reader *rd, msgpack_object *m)
{
	rd->in_rec = 0;
	rd->off = rd->end;
	rd->spos = 0;
	rd->sneed = 0;
	rd->sdepth = rd->sroot = 0;
	for (;;) {
		size_t sz = 0;

		if (!scan(rd)) {
			if (rd->eof) {
				if (rd->nread > rd->end)
					rec_fail(rd, "truncated record");
				return REC_EOF;
			}
			fill(rd);
			continue;
		}
		switch (msgpack_unpacker_next_with_size(&rd->up, &rd->res, &sz)) {
		case MSGPACK_UNPACK_SUCCESS:
			rd->nrec++;
			rd->in_rec = 1;
			rd->end = rd->off + sz;
			if (rd->res.data.type != MSGPACK_OBJECT_MAP)
				rec_fail(rd, "expected a map, got %s",
				    rec_typename(&rd->res.data));
			*m = rd->res.data;
			return REC_OK;
		case MSGPACK_UNPACK_NOMEM_ERROR:
			errx(EXIT_SOFTWARE, "%s: record %zu (byte %llu): out of "
			    "memory", rd->name, rd->nrec + 1,
			    (unsigned long long)rd->off);
		default:	/* CONTINUE cannot happen on a whole record */
			rec_fail(rd, "malformed msgpack");
		}
	}
}

void
rec_header(struct rec_reader *rd, const char *want, msgpack_object *h)
{
	const char *kind;
	size_t n;
	uint64_t v;

	if (rec_next(rd, h) != REC_OK) {
		if (want == NULL)
			errx(EXIT_DATAERR, "%s: empty input: no header record",
			    rd->name);
		errx(EXIT_DATAERR, "%s: empty input: no header record "
		    "(expected a%s %s stream)", rd->name,
		    strchr("aeiou", want[0]) ? "n" : "", want);
	}
	if (rec_str(h, "kind", &kind, &n) != 0)
		rec_fail(rd, "not a stream header: no \"kind\"");
	if (want != NULL && (strlen(want) != n || memcmp(want, kind, n) != 0))
		rec_fail(rd, "expected a%s %s stream, got %.*s",
		    strchr("aeiou", want[0]) ? "n" : "", want, (int)n,
		    kind);
	if (rec_uint(h, "v", &v) != 0)
		rec_fail(rd, "\"v\": missing or not a uint");
	if (v > REC_VERSION)
		rec_fail(rd, "%.*s stream version %llu is newer than %d, the "
		    "newest this tool reads", (int)n, kind,
		    (unsigned long long)v, REC_VERSION);
}

const char *
rec_typename(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return "nil";
	case MSGPACK_OBJECT_BOOLEAN: return "bool";
	case MSGPACK_OBJECT_POSITIVE_INTEGER: return "uint";
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "int";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return "float";
	case MSGPACK_OBJECT_STR: return "str";
	case MSGPACK_OBJECT_ARRAY: return "array";
	case MSGPACK_OBJECT_MAP: return "map";
	case MSGPACK_OBJECT_BIN: return "bin";
	case MSGPACK_OBJECT_EXT: return "ext";
	}
	return "unknown";
}

const msgpack_object *
rec_get(const msgpack_object *map, const char *key)
{
	size_t kl = strlen(key);

	if (map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl &&
		    memcmp(k->via.str.ptr, key, kl) == 0)
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

int
rec_str(const msgpack_object *map, const char *key, const char **s, size_t *n)
{
	const msgpack_object *o = rec_get(map, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return -1;
	*s = o->via.str.ptr;
	*n = o->via.str.size;
	return 0;
}

int
rec_uint(const msgpack_object *map, const char *key, uint64_t *v)
{
	const msgpack_object *o = rec_get(map, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = o->via.u64;
	return 0;
}

uint64_t
rec_opt_uint(const struct rec_reader *rd, const msgpack_object *map,
    const char *key)
{
	const msgpack_object *o = rec_get(map, key);

	if (o == NULL)
		return 0;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		rec_fail(rd, "\"%s\": expected uint, got %s", key,
		    rec_typename(o));
	return o->via.u64;
}

int
rec_num(const msgpack_object *map, const char *key, double *v)
{
	const msgpack_object *o = rec_get(map, key);

	if (o == NULL)
		return -1;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = (double)o->via.u64; return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = (double)o->via.i64; return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: *v = o->via.f64; return 0;
	default: return -1;
	}
}

int
rec_bin(const msgpack_object *map, const char *key, const char **p, size_t *n)
{
	const msgpack_object *o = rec_get(map, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_BIN)
		return -1;
	*p = o->via.bin.ptr;
	*n = o->via.bin.size;
	return 0;
}

int
rec_array(const msgpack_object *map, const char *key, const msgpack_object **a,
    size_t *n)
{
	const msgpack_object *o = rec_get(map, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	*a = o->via.array.ptr;
	*n = o->via.array.size;
	return 0;
}

int
rec_ids(const msgpack_object *a, uint32_t *ids, size_t max, uint64_t lim,
    size_t *n, size_t *bad)
{
	*bad = 0;
	if (a->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	*n = a->via.array.size;
	if (*n > max) {
		*bad = max;
		return -1;
	}
	for (size_t i = 0; i < *n; i++) {
		const msgpack_object *o = &a->via.array.ptr[i];
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    o->via.u64 >= lim) {
			*bad = i;
			return -1;
		}
		ids[i] = (uint32_t)o->via.u64;
	}
	return 0;
}

void
rec_writer_init(struct rec_writer *w, FILE *fp)
{
	w->fp = fp;
	w->unbuffered = 0;
	msgpack_sbuffer_init(&w->sb);
	msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
}

void
rec_writer_free(struct rec_writer *w)
{
	msgpack_sbuffer_destroy(&w->sb);
}

msgpack_packer *
rec_begin(struct rec_writer *w)
{
	msgpack_sbuffer_clear(&w->sb);
	return &w->pk;
}

void
rec_end(struct rec_writer *w)
{
	if (fwrite(w->sb.data, 1, w->sb.size, w->fp) != w->sb.size ||
	    (w->unbuffered && fflush(w->fp) != 0))
		err(EXIT_IOERR, "%s", w->fp == stdout ? "stdout" : "write");
}

int
rec_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
	return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

int
rec_pack_str(msgpack_packer *pk, const char *s)
{
	return rec_pack_strn(pk, s, strlen(s));
}

int
rec_pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	return rec_pack_str(pk, k) || rec_pack_str(pk, v);
}

int
rec_pack_kv_uint(msgpack_packer *pk, const char *k, uint64_t v)
{
	return rec_pack_str(pk, k) || msgpack_pack_uint64(pk, v);
}

int
rec_pack_header(msgpack_packer *pk, const char *kind, const char *producer,
    size_t n_extra)
{
	return msgpack_pack_map(pk, 3 + n_extra) ||
	    rec_pack_kv_str(pk, "kind", kind) ||
	    rec_pack_kv_uint(pk, "v", REC_VERSION) ||
	    rec_pack_kv_str(pk, "producer", producer);
}
