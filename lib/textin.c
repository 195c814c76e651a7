/* textin: JSONL / TSV / plain-line readers for tokenize. */
#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "textin.h"
#include "tok.h"
#include "util.h"

int
textin_fmt_parse(const char *s, enum textin_fmt *fmt)
{
	if (strcmp(s, "jsonl") == 0)
		*fmt = TEXTIN_JSONL;
	else if (strcmp(s, "tsv") == 0)
		*fmt = TEXTIN_TSV;
	else if (strcmp(s, "text") == 0)
		*fmt = TEXTIN_TEXT;
	else
		return -1;
	return 0;
}

static int
ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

enum textin_fmt
textin_fmt_guess(const char *path)
{
	if (path != NULL && ends_with(path, ".tsv"))
		return TEXTIN_TSV;
	if (path != NULL && ends_with(path, ".txt"))
		return TEXTIN_TEXT;
	return TEXTIN_JSONL;
}

void
textin_fail(const struct textin *in, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	errx(EXIT_DATAERR, "%s:%zu: %s", in->name, in->lineno, msg);
}

void
textin_open(struct textin *in, const char *path, enum textin_fmt fmt)
{
	memset(in, 0, sizeof *in);
	if (path == NULL || strcmp(path, "-") == 0) {
		in->fp = stdin;
		in->name = xstrdup("stdin");
	} else {
		if ((in->fp = fopen(path, "r")) == NULL)
			err(EXIT_NOINPUT, "%s", path);
		in->name = xstrdup(path);
	}
	in->fmt = fmt;
	in->tsv_id = in->tsv_title = in->tsv_text = in->tsv_label = -1;
}

void
textin_close(struct textin *in)
{
	if (in->fp != NULL && in->fp != stdin)
		fclose(in->fp);
	json_decref(in->json);
	free(in->line);
	free(in->join);
	free(in->name);
	memset(in, 0, sizeof *in);
}

/* next line without its '\n' (and a '\r' before it, except in JSONL);
 * -1 at the end */
static ssize_t
next_line(struct textin *in)
{
	ssize_t n;
	size_t bad;

	errno = 0;
	n = getline(&in->line, &in->cap, in->fp);
	if (n < 0) {
		if (ferror(in->fp))
			err(EXIT_IOERR, "%s", in->name);
		return -1;
	}
	in->lineno++;
	if (n > 0 && in->line[n - 1] == '\n')
		n--;
	if (in->fmt != TEXTIN_JSONL && n > 0 && in->line[n - 1] == '\r')
		n--;
	in->line[n] = '\0';
	if ((bad = tok_utf8_check(in->line, (size_t)n)) != (size_t)n)
		textin_fail(in, "invalid UTF-8 at byte %zu of the line", bad + 1);
	return n;
}

static void
set_default_id(struct textin *in)
{
	snprintf(in->idbuf, sizeof in->idbuf, "%zu", in->nrec);
	in->id = in->idbuf;
	in->idlen = strlen(in->idbuf);
}

/* text = title + " " + text, as BEIR joins a document */
static void
join_title(struct textin *in, const char *title, size_t tn)
{
	size_t need = tn + 1 + in->tlen[0] + 1;

	if (need > in->joincap) {
		in->joincap = need * 2;
		in->join = xrealloc(in->join, in->joincap);
	}
	memcpy(in->join, title, tn);
	in->join[tn] = ' ';
	memcpy(in->join + tn + 1, in->text[0], in->tlen[0]);
	in->text[0] = in->join;
	in->tlen[0] += tn + 1;
}

/* ---- JSONL ---- */

static const char *row_first[] = { "anchor", "query", "sentence1", NULL };
static const char *row_second[] = { "positive", "sentence2", NULL };

static json_t *
first_key(json_t *o, const char **keys, const char **which)
{
	json_t *v;

	for (; *keys != NULL; keys++)
		if ((v = json_object_get(o, *keys)) != NULL) {
			*which = *keys;
			return v;
		}
	return NULL;
}

static void
add_text(struct textin *in, json_t *v, const char *what)
{
	if (!json_is_string(v))
		textin_fail(in, "\"%s\": expected a string", what);
	if (in->ntexts == TEXTIN_MAXCOLS)
		textin_fail(in, "more than %d texts", TEXTIN_MAXCOLS);
	in->text[in->ntexts] = json_string_value(v);
	in->tlen[in->ntexts] = json_string_length(v);
	in->ntexts++;
}

static void
json_label(struct textin *in, json_t *o)
{
	json_t *v = json_object_get(o, "label");
	const char *k = "label";

	if (v == NULL) {
		v = json_object_get(o, "score");
		k = "score";
	}
	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_number(v))
		textin_fail(in, "\"%s\": expected a number", k);
	in->has_label = 1;
	in->label = json_number_value(v);
}

static void
json_row(struct textin *in, json_t *o, json_t *first, const char *fk)
{
	json_t *v;
	const char *k;
	char key[32];
	size_t i;

	in->kind = TEXTIN_ROW;
	if (first == NULL) {	/* {"texts": [...]} */
		v = json_object_get(o, "texts");
		if (!json_is_array(v) || json_array_size(v) == 0)
			textin_fail(in, "\"texts\": expected an array of strings");
		for (i = 0; i < json_array_size(v); i++)
			add_text(in, json_array_get(v, i), "texts");
	} else {
		add_text(in, first, fk);
		if ((v = first_key(o, row_second, &k)) != NULL) {
			add_text(in, v, k);
			if ((v = json_object_get(o, "negative")) != NULL)
				add_text(in, v, "negative");
			for (i = 1;; i++) {
				snprintf(key, sizeof key, "negative_%zu", i);
				if ((v = json_object_get(o, key)) == NULL)
					break;
				add_text(in, v, key);
			}
		}
	}
	json_label(in, o);
}

static void
json_record(struct textin *in, const char *s, size_t n)
{
	json_error_t e;
	json_t *o, *v, *first;
	const char *fk = NULL;

	json_decref(in->json);
	in->json = NULL;
	o = json_loadb(s, n, JSON_ALLOW_NUL, &e);
	if (o == NULL)
		textin_fail(in, "column %d: %s", e.column, e.text);
	in->json = o;
	if (!json_is_object(o))
		textin_fail(in, "expected a JSON object");
	first = first_key(o, row_first, &fk);
	if (first != NULL || json_object_get(o, "texts") != NULL) {
		json_row(in, o, first, fk);
		return;
	}
	in->kind = TEXTIN_DOC;
	if ((v = json_object_get(o, "_id")) == NULL)
		v = json_object_get(o, "id");
	if (json_is_string(v)) {
		in->id = json_string_value(v);
		in->idlen = json_string_length(v);
	} else if (json_is_integer(v)) {
		snprintf(in->idbuf, sizeof in->idbuf, "%lld",
		    (long long)json_integer_value(v));
		in->id = in->idbuf;
		in->idlen = strlen(in->idbuf);
	} else if (v == NULL || json_is_null(v)) {
		set_default_id(in);
	} else {
		textin_fail(in, "\"_id\": expected a string or an integer");
	}
	if ((v = json_object_get(o, "text")) == NULL)
		textin_fail(in, "no \"text\"");
	add_text(in, v, "text");
	v = json_object_get(o, "title");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			textin_fail(in, "\"title\": expected a string");
		join_title(in, json_string_value(v), json_string_length(v));
	}
}

/* ---- TSV ---- */

static size_t
split_tabs(struct textin *in, char *s)
{
	size_t n = 0;

	for (;;) {
		char *t = strchr(s, '\t');

		if (n == TEXTIN_MAXCOLS)
			textin_fail(in, "more than %d columns", TEXTIN_MAXCOLS);
		in->fields[n++] = s;
		if (t == NULL)
			break;
		*t = '\0';
		s = t + 1;
	}
	return n;
}

static int
name_in(const char *s, const char **names)
{
	for (; *names != NULL; names++)
		if (strcmp(s, *names) == 0)
			return 1;
	return 0;
}

static void
tsv_header(struct textin *in)
{
	size_t n = split_tabs(in, in->line), i, k;
	int first = -1, second = -1, neg = -1;
	int negn[TEXTIN_MAXCOLS];

	for (i = 0; i < TEXTIN_MAXCOLS; i++)
		negn[i] = -1;
	in->tsv_nfields = n;
	for (i = 0; i < n; i++) {
		const char *f = in->fields[i];
		char *end;
		unsigned long m;

		if (strcmp(f, "_id") == 0 || strcmp(f, "id") == 0)
			in->tsv_id = (int)i;
		else if (strcmp(f, "title") == 0)
			in->tsv_title = (int)i;
		else if (strcmp(f, "text") == 0)
			in->tsv_text = (int)i;
		else if (strcmp(f, "label") == 0 || strcmp(f, "score") == 0)
			in->tsv_label = (int)i;
		else if (name_in(f, row_first))
			first = (int)i;
		else if (name_in(f, row_second))
			second = (int)i;
		else if (strcmp(f, "negative") == 0)
			neg = (int)i;
		else if (strncmp(f, "negative_", 9) == 0 &&
		    (m = strtoul(f + 9, &end, 10)) >= 1 && *end == '\0' &&
		    m < TEXTIN_MAXCOLS)
			negn[m] = (int)i;
	}
	if (first >= 0) {
		in->tsv_cols[in->tsv_ntexts++] = first;
		if (second >= 0) {
			in->tsv_cols[in->tsv_ntexts++] = second;
			if (neg >= 0)
				in->tsv_cols[in->tsv_ntexts++] = neg;
			for (k = 1; k < TEXTIN_MAXCOLS && negn[k] >= 0; k++)
				in->tsv_cols[in->tsv_ntexts++] = negn[k];
		}
	} else if (in->tsv_text < 0) {
		textin_fail(in, "header: no \"text\" column (nor "
		    "\"anchor\"/\"query\"/\"sentence1\")");
	}
}

static void
tsv_record(struct textin *in)
{
	size_t n = split_tabs(in, in->line), i;

	if (n != in->tsv_nfields)
		textin_fail(in, "%zu fields, the header has %zu", n,
		    in->tsv_nfields);
	if (in->tsv_ntexts > 0) {
		in->kind = TEXTIN_ROW;
		for (i = 0; i < in->tsv_ntexts; i++) {
			in->text[i] = in->fields[in->tsv_cols[i]];
			in->tlen[i] = strlen(in->text[i]);
		}
		in->ntexts = in->tsv_ntexts;
		if (in->tsv_label >= 0) {
			const char *f = in->fields[in->tsv_label];
			char *end;

			errno = 0;
			in->label = strtod(f, &end);
			if (*f == '\0' || *end != '\0' || errno != 0)
				textin_fail(in, "label \"%s\": not a number", f);
			in->has_label = 1;
		}
		return;
	}
	in->kind = TEXTIN_DOC;
	if (in->tsv_id >= 0) {
		in->id = in->fields[in->tsv_id];
		in->idlen = strlen(in->id);
	} else {
		set_default_id(in);
	}
	in->text[0] = in->fields[in->tsv_text];
	in->tlen[0] = strlen(in->text[0]);
	in->ntexts = 1;
	if (in->tsv_title >= 0)
		join_title(in, in->fields[in->tsv_title],
		    strlen(in->fields[in->tsv_title]));
}

int
textin_next(struct textin *in)
{
	ssize_t n;

	in->ntexts = 0;
	in->has_label = 0;
	in->id = NULL;
	in->idlen = 0;
	for (;;) {
		if ((n = next_line(in)) < 0)
			return 0;
		switch (in->fmt) {
		case TEXTIN_TEXT:
			in->nrec++;
			in->kind = TEXTIN_DOC;
			set_default_id(in);
			in->text[0] = in->line;
			in->tlen[0] = (size_t)n;
			in->ntexts = 1;
			return 1;
		case TEXTIN_TSV:
			if (in->tsv_nfields == 0) {
				tsv_header(in);
				continue;
			}
			in->nrec++;
			tsv_record(in);
			return 1;
		case TEXTIN_JSONL:
			if (strspn(in->line, " \t\r") == (size_t)n)
				continue;	/* blank line */
			in->nrec++;
			json_record(in, in->line, (size_t)n);
			return 1;
		}
	}
}
