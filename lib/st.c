/* st: safetensors read (mmap, jansson header) and atomic write. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bf16.h"
#include "st.h"
#include "util.h"

float
st_f16(uint16_t h)
{
	uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f,
	    mt = h & 0x3ff, u;
	float f;
	if (e == 0) {
		f = (float)mt * 0x1p-24f;
		return s ? -f : f;
	}
	if (e == 31)
		u = s | 0x7f800000u | (mt << 13);
	else
		u = s | ((e + 112) << 23) | (mt << 13);
	memcpy(&f, &u, 4);
	return f;
}

static size_t
dtype_size(const char *d, int *code)
{
	static const struct { const char *n; int code; size_t sz; } t[] = {
		{"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2},
		{"F64", ST_OTHER, 8}, {"I64", ST_OTHER, 8}, {"I32", ST_OTHER, 4},
		{"I16", ST_OTHER, 2}, {"I8", ST_OTHER, 1}, {"U8", ST_OTHER, 1},
		{"BOOL", ST_OTHER, 1}, {"U16", ST_OTHER, 2}, {"U32", ST_OTHER, 4},
		{"U64", ST_OTHER, 8},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(d, t[i].n) == 0) {
			*code = t[i].code;
			return t[i].sz;
		}
	return 0;
}

void
st_open(struct st_file *f, const char *path)
{
	struct stat sb;
	int fd;
	uint64_t hlen = 0;
	const unsigned char *p;
	json_t *root, *v;
	json_error_t je;
	const char *key;
	size_t i;

	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	if ((fd = open(path, O_RDONLY)) == -1)
		err(EXIT_NOINPUT, "%s", path);
	if (fstat(fd, &sb) == -1)
		err(EXIT_NOINPUT, "%s", path);
	if (sb.st_size < 8)
		errx(EXIT_DATAERR, "%s: not a safetensors file (too short)", path);
	f->maplen = (size_t)sb.st_size;
	f->map = mmap(NULL, f->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f->map == MAP_FAILED)
		err(EXIT_NOINPUT, "%s: mmap", path);
	close(fd);
	p = f->map;
	for (i = 0; i < 8; i++)
		hlen |= (uint64_t)p[i] << (8 * i);
	if (hlen > f->maplen - 8)
		errx(EXIT_DATAERR, "%s: header length %llu exceeds the file",
		    path, (unsigned long long)hlen);
	root = json_loadb((const char *)p + 8, hlen, 0, &je);
	if (root == NULL || !json_is_object(root))
		errx(EXIT_DATAERR, "%s: header: %s", path,
		    root ? "not a JSON object" : je.text);
	const unsigned char *data = p + 8 + hlen;
	size_t dlen = f->maplen - 8 - hlen;
	f->t = xcalloc(json_object_size(root) + 1, sizeof(*f->t));
	json_object_foreach(root, key, v) {
		struct st_tensor *t;
		json_t *dt, *sh, *of;
		size_t esz, k;
		if (strcmp(key, "__metadata__") == 0)
			continue;
		t = &f->t[f->n];
		dt = json_object_get(v, "dtype");
		sh = json_object_get(v, "shape");
		of = json_object_get(v, "data_offsets");
		if (!json_is_string(dt) || !json_is_array(sh) ||
		    !json_is_array(of) || json_array_size(of) != 2 ||
		    json_array_size(sh) > 8)
			errx(EXIT_DATAERR, "%s: header: tensor \"%s\": bad entry",
			    path, key);
		snprintf(t->dtype_name, sizeof(t->dtype_name), "%s",
		    json_string_value(dt));
		esz = dtype_size(t->dtype_name, &t->dtype);
		if (esz == 0)
			errx(EXIT_DATAERR, "%s: tensor \"%s\": unknown dtype %s",
			    path, key, t->dtype_name);
		t->ndim = json_array_size(sh);
		t->numel = 1;
		for (k = 0; k < t->ndim; k++) {
			json_t *d = json_array_get(sh, k);
			if (!json_is_integer(d) || json_integer_value(d) < 0)
				errx(EXIT_DATAERR, "%s: tensor \"%s\": bad shape",
				    path, key);
			t->shape[k] = (size_t)json_integer_value(d);
			if (__builtin_mul_overflow(t->numel, t->shape[k],
			    &t->numel) || t->numel > SIZE_MAX / esz)
				errx(EXIT_DATAERR, "%s: tensor \"%s\": shape too "
				    "large", path, key);
		}
		json_t *o0 = json_array_get(of, 0), *o1 = json_array_get(of, 1);
		if (!json_is_integer(o0) || !json_is_integer(o1))
			errx(EXIT_DATAERR, "%s: tensor \"%s\": bad data_offsets",
			    path, key);
		json_int_t b0 = json_integer_value(o0), b1 = json_integer_value(o1);
		if (b0 < 0 || b1 < b0 || (uint64_t)b1 > dlen ||
		    (size_t)(b1 - b0) != t->numel * esz)
			errx(EXIT_DATAERR, "%s: tensor \"%s\": data_offsets [%lld, "
			    "%lld] do not fit %zu elements of %s", path, key,
			    (long long)b0, (long long)b1, t->numel, t->dtype_name);
		t->name = xstrdup(key);
		t->data = data + b0;
		t->nbytes = (size_t)(b1 - b0);
		f->n++;
	}
	json_decref(root);
}

void
st_close(struct st_file *f)
{
	if (f->map && f->map != MAP_FAILED)
		munmap(f->map, f->maplen);
	for (size_t i = 0; i < f->n; i++)
		free(f->t[i].name);
	free(f->t);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

const struct st_tensor *
st_find(const struct st_file *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->t[i].name, name) == 0)
			return &f->t[i];
	return NULL;
}

/* Drop the mapped file pages of [p, p + n) from this process: read once,
 * they would otherwise stay resident beside their copy until st_close (a
 * model's size twice at the peak).  A later read faults them in again. */
static void
release(const void *p, size_t n)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p & ~(pg - 1), b = (uintptr_t)p + n;

	if (n > 0)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

int
st_read_f32(float *dst, const struct st_tensor *t)
{
	const unsigned char *p = t->data;
	size_t i, w;	/* bytes per element */
	switch (t->dtype) {
	case ST_F32:
		for (i = 0; i < t->numel; i++) {
			uint32_t u = (uint32_t)p[4 * i] |
			    (uint32_t)p[4 * i + 1] << 8 |
			    (uint32_t)p[4 * i + 2] << 16 |
			    (uint32_t)p[4 * i + 3] << 24;
			memcpy(&dst[i], &u, 4);
		}
		w = 4;
		break;
	case ST_F16:
		for (i = 0; i < t->numel; i++)
			dst[i] = st_f16((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
		w = 2;
		break;
	case ST_BF16:
		for (i = 0; i < t->numel; i++)
			dst[i] = bf16_to_float((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
		w = 2;
		break;
	default:
		return -1;
	}
	release(p, w * t->numel);
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct st_out *)a)->name,
	    ((const struct st_out *)b)->name);
}

void
st_write(const char *path, const struct st_out *t, size_t n,
    const char *const *meta)
{
	json_t *root = json_object(), *md;
	struct st_out *s = xcalloc(n ? n : 1, sizeof(*s));
	size_t off = 0, i, k;
	char *hdr;
	FILE *fp;

	/* safetensors orders the data by name, as its own writer does */
	memcpy(s, t, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_name);
	if (meta && meta[0]) {
		md = json_object();
		for (i = 0; meta[i] && meta[i + 1]; i += 2)
			json_object_set_new(md, meta[i], json_string(meta[i + 1]));
		json_object_set_new(root, "__metadata__", md);
	}
	for (i = 0; i < n; i++) {
		json_t *e = json_object(), *sh = json_array(), *of = json_array();
		size_t numel = 1;
		for (k = 0; k < s[i].ndim; k++) {
			json_array_append_new(sh, json_integer((json_int_t)s[i].shape[k]));
			numel *= s[i].shape[k];
		}
		json_array_append_new(of, json_integer((json_int_t)off));
		json_array_append_new(of, json_integer((json_int_t)(off + 4 * numel)));
		off += 4 * numel;
		json_object_set_new(e, "dtype", json_string("F32"));
		json_object_set_new(e, "shape", sh);
		json_object_set_new(e, "data_offsets", of);
		json_object_set_new(root, s[i].name, e);
	}
	hdr = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	if (hdr == NULL)
		errx(EXIT_SOFTWARE, "%s: cannot build the header", path);
	size_t hl = strlen(hdr), pad = (8 - hl % 8) % 8;
	uint64_t hlen = hl + pad;
	unsigned char lb[8];
	for (i = 0; i < 8; i++)
		lb[i] = (unsigned char)(hlen >> (8 * i));
	fp = util_tmpout(path);
	fwrite(lb, 1, 8, fp);
	fwrite(hdr, 1, hl, fp);
	for (i = 0; i < pad; i++)
		fputc(' ', fp);
	for (i = 0; i < n; i++) {
		size_t numel = 1;
		for (k = 0; k < s[i].ndim; k++)
			numel *= s[i].shape[k];
		/* little-endian hosts only write the floats as they are */
		for (k = 0; k < numel; k++) {
			uint32_t u;
			unsigned char b[4];
			memcpy(&u, &s[i].data[k], 4);
			b[0] = (unsigned char)u;
			b[1] = (unsigned char)(u >> 8);
			b[2] = (unsigned char)(u >> 16);
			b[3] = (unsigned char)(u >> 24);
			fwrite(b, 1, 4, fp);
		}
	}
	if (ferror(fp))
		err(EXIT_IOERR, "%s", path);
	util_commit(fp);
	free(hdr);
	free(s);
	json_decref(root);
}
