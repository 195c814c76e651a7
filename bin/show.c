/* show: decode any embtune stream into JSON lines, for people and jq. */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec.h"
#include "tok.h"
#include "util.h"

static const char usage_text[] = "usage: show [-H] [FILE]\n"
    "       show --version\n";

static void
usage(FILE *fp, int status)
{
	fputs(usage_text, fp);
	exit(status);
}

static void
put_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		default:
			if (c < 0x20)
				printf("\\u%04x", c);
			else
				putchar(c);
		}
	}
	putchar('"');
}

static void
put_double(double d, int prec)
{
	if (isnan(d) || isinf(d))
		fputs("null", stdout);	/* JSON has no NaN or infinity */
	else
		printf("%.*g", prec, d);
}

/* Refuse what put_obj cannot print as JSON, before any of the record is
 * printed: stdout only ever gets whole lines. */
static void
check_obj(const struct rec_reader *rd, const msgpack_object *o)
{
	size_t bad;

	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		bad = tok_utf8_check(o->via.str.ptr, o->via.str.size);
		if (bad != o->via.str.size)
			rec_fail(rd, "str: invalid UTF-8 at byte %zu", bad + 1);
		break;
	case MSGPACK_OBJECT_BIN:
		if (o->via.bin.size % 4 != 0)
			rec_fail(rd, "bin of %u bytes is not a float32 vector",
			    o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		for (uint32_t i = 0; i < o->via.array.size; i++)
			check_obj(rd, &o->via.array.ptr[i]);
		break;
	case MSGPACK_OBJECT_MAP:
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;
			if (k->type != MSGPACK_OBJECT_STR)
				rec_fail(rd, "map key is %s, not str",
				    rec_typename(k));
			check_obj(rd, k);
			check_obj(rd, &o->via.map.ptr[i].val);
		}
		break;
	case MSGPACK_OBJECT_EXT:
		rec_fail(rd, "%s values are not used in embtune streams",
		    rec_typename(o));
	default:
		break;
	}
}

/* print o as JSON (check_obj has checked it) */
static void
put_obj(const struct rec_reader *rd, const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: fputs("null", stdout); break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", stdout);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		printf("%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		printf("%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32: put_double(o->via.f64, 9); break;
	case MSGPACK_OBJECT_FLOAT64: put_double(o->via.f64, 17); break;
	case MSGPACK_OBJECT_STR: put_str(o->via.str.ptr, o->via.str.size); break;
	case MSGPACK_OBJECT_BIN:
		/* every bin in an embtune stream is little-endian float32 */
		if (o->via.bin.size % 4 != 0)
			rec_fail(rd, "bin of %u bytes is not a float32 vector",
			    o->via.bin.size);
		putchar('[');
		for (uint32_t i = 0; i < o->via.bin.size / 4; i++) {
			const unsigned char *b =
			    (const unsigned char *)o->via.bin.ptr + 4 * i;
			uint32_t u = b[0] | b[1] << 8 | b[2] << 16 |
			    (uint32_t)b[3] << 24;
			float f;
			memcpy(&f, &u, 4);
			if (i)
				putchar(',');
			put_double(f, 9);
		}
		putchar(']');
		break;
	case MSGPACK_OBJECT_ARRAY:
		putchar('[');
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				putchar(',');
			put_obj(rd, &o->via.array.ptr[i]);
		}
		putchar(']');
		break;
	case MSGPACK_OBJECT_MAP:
		putchar('{');
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;
			if (i)
				putchar(',');
			if (k->type != MSGPACK_OBJECT_STR)
				rec_fail(rd, "map key is %s, not str",
				    rec_typename(k));
			put_str(k->via.str.ptr, k->via.str.size);
			putchar(':');
			put_obj(rd, &o->via.map.ptr[i].val);
		}
		putchar('}');
		break;
	default:
		rec_fail(rd, "%s values are not used in embtune streams",
		    rec_typename(o));
	}
}

int
main(int argc, char **argv)
{
	struct rec_reader rd;
	msgpack_object m;
	int c, noheader = 0;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	while ((c = getopt_long(argc, argv, "hH", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout, 0); break;
		case 'H': noheader = 1; break;
		case 'V': util_version("show", NULL); break;
		default: usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage(stderr, EXIT_USAGE);

	rec_open(&rd, argc ? argv[0] : NULL);
	rec_header(&rd, NULL, &m);
	check_obj(&rd, &m);
	if (!noheader) {
		put_obj(&rd, &m);
		putchar('\n');
	}
	while (rec_next(&rd, &m) == REC_OK) {
		check_obj(&rd, &m);
		put_obj(&rd, &m);
		putchar('\n');
		if (ferror(stdout))
			err(EXIT_IOERR, "stdout");
	}
	rec_close(&rd);
	util_fshut();
	return 0;
}
