/* libFuzzer: the JSONL, TSV and plain-line readers (lib/textin).  The first
 * byte picks the format, the rest is the file. */
#include "fuzz.h"
#include "textin.h"
#include "tok.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct textin in;
	static const enum textin_fmt fmts[] = { TEXTIN_JSONL, TEXTIN_TSV,
	    TEXTIN_TEXT };
	FILE *fp;

	if (size < 2)
		return 0;
	/* a copy, so that fmemopen's buffer is exactly the input */
	char *buf = malloc(size - 1);
	memcpy(buf, data + 1, size - 1);
	if ((fp = fmemopen(buf, size - 1, "r")) == NULL)
		abort();
	textin_open(&in, NULL, fmts[data[0] % 3]);
	in.fp = fp;
	FUZZ_TRY {
		while (textin_next(&in)) {
			if (in.ntexts == 0 || in.ntexts > TEXTIN_MAXCOLS)
				abort();
			for (size_t i = 0; i < in.ntexts; i++) {
				fuzz_touch(in.text[i], in.tlen[i]);
				/* tokenize hands these to the tokenizer */
				if (tok_utf8_check(in.text[i], in.tlen[i]) !=
				    in.tlen[i])
					abort();
			}
			if (in.kind == TEXTIN_DOC)
				fuzz_touch(in.id, in.idlen);
		}
	}
	textin_close(&in);	/* fcloses fp */
	free(buf);
	return 0;
}
