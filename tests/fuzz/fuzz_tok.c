/* libFuzzer: the BERT tokenizer (lib/tok) on arbitrary bytes, with the
 * model's vocabulary (FUZZ_MODEL, else models/all-MiniLM-L6-v2, else
 * fixtures/tiny) as loaded, and cased without accent stripping: every
 * valid text's ids lie within the vocabulary and hold the model's
 * template (tokenizer.json's ids around a text), every invalid one is
 * refused at its first bad byte. */
#include "fuzz.h"

static struct tok tk[2];
static uint32_t *ids;

/* once, before the first input (not counted against -timeout) */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *dir;	/* static: kept across FUZZ_TRY's setjmp */
	char path[4096];
	size_t n;
	char *vocab;

	if ((dir = getenv("FUZZ_MODEL")) == NULL)
		dir = access("models/all-MiniLM-L6-v2/vocab.txt", R_OK) == 0 ?
		    "models/all-MiniLM-L6-v2" : "fixtures/tiny";
	FUZZ_TRY
		tok_load(&tk[0], dir);
	if (fuzz_status != 0)
		abort();
	snprintf(path, sizeof path, "%s/vocab.txt", dir);
	if ((vocab = util_slurp(path, &n)) == NULL ||
	    tok_init(&tk[1], vocab, n, 0, 0, 512) != 0)
		abort();
	free(vocab);
	ids = xmalloc((tk[0].max_len > 512 ? tk[0].max_len : 512) *
	    sizeof *ids);
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t valid = tok_utf8_check(s, size);

	for (int k = 0; k < 2; k++) {
		struct tok *t = &tk[k];
		size_t n = 0, bad = 0;
		int r = tok_encode(t, s, size, ids, &n, &bad);

		if (valid != size) {
			if (r != -1 || bad != valid)
				abort();
			continue;
		}
		if (r != 0)
			abort();
		fuzz_check_ids(t, ids, n);
		size_t cap = 4 * size + 16;
		char *out = xmalloc(cap);
		size_t w = tok_words(t, s, size, out, cap);
		if (w > cap)
			abort();
		fuzz_touch(out, w);
		free(out);
	}
	return 0;
}
