/* textin: text input readers for tokenize.
 *
 * One record at a time from JSONL (BEIR corpus and queries, training rows),
 * TSV with a header line, or plain lines.  A record is either a document
 * (id + one text) or a training row (texts in order anchor, positive,
 * negatives..., and an optional label).  Bad data (invalid UTF-8, a JSON
 * syntax error, a missing text) exits 65 naming the file and line. */
#ifndef TEXTIN_H
#define TEXTIN_H

#include <stddef.h>
#include <stdio.h>

#define TEXTIN_MAXCOLS 256

enum textin_fmt { TEXTIN_JSONL, TEXTIN_TSV, TEXTIN_TEXT };
enum textin_kind { TEXTIN_DOC = 1, TEXTIN_ROW = 2 };

struct textin {
	FILE *fp;
	char *name;		/* for messages: the path or "stdin" */
	enum textin_fmt fmt;
	size_t lineno;		/* line of the current record */
	size_t nrec;		/* records returned so far (all files of this reader) */
	char *line;
	size_t cap;
	void *json;		/* json_t of the current record */
	/* TSV header: column index of each role, -1 absent */
	int tsv_id, tsv_title, tsv_text, tsv_label;
	int tsv_cols[TEXTIN_MAXCOLS];	/* row texts, in order */
	size_t tsv_ntexts, tsv_nfields;
	char *fields[TEXTIN_MAXCOLS];
	/* the current record */
	enum textin_kind kind;
	const char *id;
	size_t idlen;
	char idbuf[32];
	size_t ntexts;
	const char *text[TEXTIN_MAXCOLS];
	size_t tlen[TEXTIN_MAXCOLS];
	int has_label;
	double label;
	char *join;		/* title + " " + text */
	size_t joincap;
};

/* "jsonl", "tsv" or "text" -> 0 and *fmt; -1 otherwise. */
int textin_fmt_parse(const char *s, enum textin_fmt *fmt);
/* Format by file name: *.tsv -> tsv, *.txt -> text, else jsonl. */
enum textin_fmt textin_fmt_guess(const char *path);

/* Open path (NULL or "-": stdin); exits 66 if it cannot be opened. */
void textin_open(struct textin *in, const char *path, enum textin_fmt fmt);
void textin_close(struct textin *in);
/* Next record: 1, or 0 at the end.  Exits 65 on bad data, 74 on a read
 * error.  Pointers stay valid until the next call. */
int textin_next(struct textin *in);
/* Exit 65 with "FILE:LINE: message". */
void textin_fail(const struct textin *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif
