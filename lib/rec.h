/* rec: msgpack record streams (see man/embtune.7).
 *
 * A stream is msgpack maps back to back; the first is a header
 * {"kind": K, "v": 1, "producer": "tool", ...}.  The reader feeds msgpack-c's
 * unpacker straight from read(2) in constant memory; the writer emits whole
 * records only (pack into an sbuffer, then one fwrite). */
#ifndef REC_H
#define REC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <msgpack.h>

#define REC_VERSION 1
/* The largest record a reader accepts (bytes).  Every container a record
 * claims must fit in it, so a forged length (an array32 header claiming
 * 2^32-1 elements) is refused before anything is allocated for it. */
#define REC_MAXSIZE (64u << 20)
/* msgpack-c's nesting limit (MSGPACK_EMBED_STACK_SIZE) */
#define REC_MAXDEPTH 32

enum { REC_OK = 0, REC_EOF = 1 };

struct rec_reader {
	int fd;
	const char *name;	/* for messages: file name or "stdin" */
	msgpack_unpacker up;
	msgpack_unpacked res;
	size_t nrec;		/* number of the current record; header is 0 */
	uint64_t off;		/* byte offset of the current record's start */
	uint64_t end;		/* byte offset just past the last whole record */
	uint64_t nread;		/* bytes read from fd so far */
	int eof;
	int in_rec;		/* a record is current (for rec_fail) */
	/* scan of the next record's bytes, before the unpacker sees them */
	size_t spos;		/* bytes of it checked so far */
	uint64_t sneed;		/* elements still to come, all levels */
	int sdepth, sroot;	/* open containers; root object begun */
	uint32_t srem[REC_MAXDEPTH];	/* elements left in each */
};

/* Open a reader on fd (path NULL -> stdin).  Exits 66 if path can't be opened. */
void rec_open(struct rec_reader *rd, const char *path);
void rec_close(struct rec_reader *rd);
/* Next map into *m (valid until the next rec_next).  REC_EOF at a clean end.
 * Malformed or truncated input exits 65 with record number and byte offset;
 * so do a non-map record, a record over REC_MAXSIZE bytes (or claiming a
 * str, bin or container that would not fit in one), and nesting deeper
 * than REC_MAXDEPTH.  The unpacker only ever sees whole records. */
int rec_next(struct rec_reader *rd, msgpack_object *m);

/* Read and check the header: kind must equal want (NULL accepts any kind),
 * "v" must be <= REC_VERSION.  Exits 65 with a message naming what was
 * expected.  *h is valid until the next rec_next. */
void rec_header(struct rec_reader *rd, const char *want, msgpack_object *h);

/* Report a bad record and exit 65:
 * "tool: FILE: record N (byte OFF): MESSAGE" */
void rec_fail(const struct rec_reader *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Typed accessors on a map.  0 on success, -1 if the key is missing or of
 * another type.  Strings and bins point into the reader's buffer. */
const msgpack_object *rec_get(const msgpack_object *map, const char *key);
int rec_str(const msgpack_object *map, const char *key, const char **s, size_t *n);
int rec_uint(const msgpack_object *map, const char *key, uint64_t *v);
/* An optional uint of a record of rd: 0 if the key is missing; a record of
 * another type fails ("KEY": expected uint, got TYPE). */
uint64_t rec_opt_uint(const struct rec_reader *rd, const msgpack_object *map,
    const char *key);
int rec_num(const msgpack_object *map, const char *key, double *v);	/* int or float */
int rec_bin(const msgpack_object *map, const char *key, const char **p, size_t *n);
int rec_array(const msgpack_object *map, const char *key, const msgpack_object **a, size_t *n);
/* Describe an object's type for messages: "str", "uint", "array", ... */
const char *rec_typename(const msgpack_object *o);
/* Copy an array of uints (< lim) into ids[0..*n); -1 if not such an array,
 * or too long (> max), with *bad set to the bad index. */
int rec_ids(const msgpack_object *a, uint32_t *ids, size_t max, uint64_t lim, size_t *n, size_t *bad);

/* Writer */
struct rec_writer {
	FILE *fp;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int unbuffered;		/* -u: fflush after each record */
};
void rec_writer_init(struct rec_writer *w, FILE *fp);
void rec_writer_free(struct rec_writer *w);
/* Start a record: returns a packer over an empty buffer. */
msgpack_packer *rec_begin(struct rec_writer *w);
/* Write the buffered record with one fwrite; exits 74 on a write error. */
void rec_end(struct rec_writer *w);

/* Packing helpers (return msgpack's 0 / -1, for || chains) */
int rec_pack_str(msgpack_packer *pk, const char *s);
int rec_pack_strn(msgpack_packer *pk, const char *s, size_t n);
int rec_pack_kv_str(msgpack_packer *pk, const char *k, const char *v);
int rec_pack_kv_uint(msgpack_packer *pk, const char *k, uint64_t v);
/* Start a header map with n_extra further pairs after kind, v, producer. */
int rec_pack_header(msgpack_packer *pk, const char *kind, const char *producer, size_t n_extra);

#endif
