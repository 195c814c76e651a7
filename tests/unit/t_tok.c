/* t_tok: the tokenizer against the Rust tokenizers' behaviour for every code
 * point (fixtures/tok/unicode.tsv.gz), and WordPiece on a small vocabulary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "check.h"
#include "tok.h"

static const char vocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"
    "un\n##aff\n##able\nunaffable\naff\n##a\n##b\n##c\na\nb\nc\n"
    "hello\n##lo\nhel\n,\n.\n!\n##ing\nrun\nrunning\ncafe\n##é\n";

static size_t
hexdecode(const char *h, char *out)
{
	size_t n = 0;
	unsigned v;

	for (; h[0] != '\0' && h[1] != '\0'; h += 2) {
		if (h[0] == '|') {
			out[n++] = ' ';
			h--;
			continue;
		}
		sscanf(h, "%2x", &v);
		out[n++] = (char)v;
	}
	return n;
}

/* expected words of "a" c "a" for one signature */
static size_t
expect(const char *sig, int32_t c, char *out)
{
	char u[8];
	size_t k = (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)u), n = 0;

	if (strcmp(sig, "W") == 0 || strcmp(sig, "P") == 0) {
		out[n++] = 'a';
		if (sig[0] == 'P')
			out[n++] = ' ';
		memcpy(out + n, u, k);
		n += k;
		if (sig[0] == 'P')
			out[n++] = ' ';
		out[n++] = 'a';
		return n;
	}
	if (strcmp(sig, "D") == 0)
		return memcpy(out, "aa", 2), 2;
	if (strcmp(sig, "S") == 0)
		return memcpy(out, "a a", 3), 3;
	return hexdecode(sig, out);
}

static void
test_unicode(void)
{
	static const int cfg[3][2] = { { 0, 0 }, { 1, 0 }, { 1, 1 } };
	static const char *name[3] = { "cased", "lower", "lower+strip" };
	struct tok t[3];
	FILE *fp = popen("zcat fixtures/tok/unicode.tsv.gz", "r");
	char line[4096], sig[3][1024], in[16], want[1024], got[1024];
	size_t nbad[3] = { 0, 0, 0 }, ncp = 0, i;
	unsigned lo, hi;

	for (i = 0; i < 3; i++)
		tok_init(&t[i], vocab, sizeof vocab - 1, cfg[i][0], cfg[i][1], 512);
	while (fp != NULL && fgets(line, sizeof line, fp) != NULL) {
		if (sscanf(line, "%x\t%x\t%1023s\t%1023s\t%1023s", &lo, &hi,
		    sig[0], sig[1], sig[2]) != 5)
			break;
		for (int32_t c = (int32_t)lo; c <= (int32_t)hi; c++) {
			size_t k;

			in[0] = 'a';
			k = (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)in + 1);
			in[k + 1] = 'a';
			for (i = 0; i < 3; i++) {
				size_t nw = expect(sig[i], c, want);
				size_t ng = tok_words(&t[i], in, k + 2, got, sizeof got);

				if (nw != ng || memcmp(want, got, nw) != 0) {
					if (nbad[i]++ < 5)
						printf("# %s U+%04X: got \"%.*s\" want "
						    "\"%.*s\"\n", name[i], (unsigned)c,
						    (int)ng, got, (int)nw, want);
				}
			}
			ncp++;
		}
	}
	if (fp != NULL)
		pclose(fp);
	check_ok("unicode: reference read (1112064 code points)", ncp == 1112064);
	for (i = 0; i < 3; i++) {
		char nm[64];

		snprintf(nm, sizeof nm, "unicode: every code point, %s", name[i]);
		check_ok(nm, nbad[i] == 0);
		tok_free(&t[i]);
	}
}

/* encode s and compare with the ids listed in want (terminated by -1) */
static void
enc(struct tok *t, const char *nm, const char *s, const int *want)
{
	uint32_t ids[600];
	size_t n, bad, i;
	int ok;

	ok = tok_encode(t, s, strlen(s), ids, &n, &bad) == 0;
	for (i = 0; ok && want[i] >= 0; i++)
		ok = i < n && ids[i] == (uint32_t)want[i];
	ok = ok && i == n;
	if (!ok) {
		printf("# %s: got", nm);
		for (i = 0; i < n; i++)
			printf(" %u", ids[i]);
		printf("\n");
	}
	check_ok(nm, ok);
}

static void
test_wordpiece(void)
{
	struct tok t;
	char buf[400];
	uint32_t ids[600];
	size_t n, bad;

	check_ok("tok_init", tok_init(&t, vocab, sizeof vocab - 1, 1, 1, 512) == 0);
	check_ok("tok_id", tok_id(&t, "##able", 6) == 7 && tok_id(&t, "un", 2) == 5 &&
	    tok_id(&t, "nope", 4) == -1);
	enc(&t, "whole word", "unaffable", (int[]){ 2, 8, 3, -1 });
	enc(&t, "greedy longest pieces", "unaffableab",
	    (int[]){ 2, 8, 10, 11, 3, -1 });
	enc(&t, "lowercase, punctuation", "Hello, RUNNING!",
	    (int[]){ 2, 16, 19, 24, 21, 3, -1 });
	enc(&t, "unsplittable word -> [UNK]", "hellx a", (int[]){ 2, 1, 13, 3, -1 });
	enc(&t, "accents stripped", "Café", (int[]){ 2, 25, 3, -1 });
	enc(&t, "special tokens in text", "a[SEP]b [MASK]",
	    (int[]){ 2, 13, 3, 14, 4, 3, -1 });
	enc(&t, "empty text", "", (int[]){ 2, 3, -1 });
	memset(buf, 'a', 100);
	buf[100] = '\0';
	tok_encode(&t, buf, 100, ids, &n, &bad);
	check_ok("100-char word is split", n == 102 && ids[1] == 13 && ids[2] == 10);
	buf[100] = 'a';
	buf[101] = '\0';
	enc(&t, "101-char word -> [UNK]", buf, (int[]){ 2, 1, 3, -1 });
	check_ok("invalid UTF-8 -> error with offset",
	    tok_encode(&t, "ab\xC3(", 4, ids, &n, &bad) == -1 && bad == 2);
	t.max_len = 4;
	enc(&t, "truncation to max_len", "a b c a b", (int[]){ 2, 13, 14, 3, -1 });
	tok_free(&t);

	check_ok("tok_init: no [UNK] -> -1",
	    tok_init(&t, "[CLS]\n[SEP]\n", 12, 1, 1, 8) == -1);
	tok_free(&t);
	/* cased: no lowercase, accents kept */
	tok_init(&t, vocab, sizeof vocab - 1, 0, 0, 512);
	enc(&t, "cased keeps case", "Hello hello", (int[]){ 2, 1, 16, 3, -1 });
	enc(&t, "cased keeps accents", "café", (int[]){ 2, 1, 3, -1 });
	tok_free(&t);
}

static void
test_utf8(void)
{
	static const struct { const char *s; size_t n, want; } c[] = {
		{ "plain ascii text", 16, 16 },
		{ "caf\xC3\xA9", 5, 5 },
		{ "\xF0\x9F\x98\x80", 4, 4 },
		{ "\xC0\xAF", 2, 0 },		/* overlong */
		{ "\xE0\x80\xAF", 3, 0 },	/* overlong */
		{ "a\xED\xA0\x80", 4, 1 },	/* surrogate */
		{ "ab\xF4\x90\x80\x80", 6, 2 },	/* > U+10FFFF */
		{ "abc\xE2\x82", 5, 3 },	/* truncated */
		{ "12345678\x80", 9, 8 },	/* lone continuation */
		{ "\xFF", 1, 0 },
	};
	size_t i, nbad = 0;

	for (i = 0; i < sizeof c / sizeof c[0]; i++)
		if (tok_utf8_check(c[i].s, c[i].n) != c[i].want) {
			printf("# case %zu: got %zu want %zu\n", i,
			    tok_utf8_check(c[i].s, c[i].n), c[i].want);
			nbad++;
		}
	check_ok("tok_utf8_check", nbad == 0);
}

int
main(void)
{
	(void)check_close;	/* check.h helpers this test does not need */
	(void)check_fill;
	(void)check_iters;
	test_utf8();
	test_wordpiece();
	test_unicode();
	return check_done();
}
