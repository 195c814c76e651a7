/* A main for a libFuzzer harness built without libFuzzer (the compiler of
 * the other tests, the normal and the sanitizer builds): the harness once
 * on each of its seeds and of its earlier findings (fixtures/fuzz/NAME-*),
 * as libFuzzer runs the files it is given.  `make check` runs it, so that
 * a harness that no longer builds against the library, or an input that
 * once crashed it and does again, fails there and not at the next
 * `make fuzz`.  FUZZ_NAME and FUZZ_SEEDS (the Makefile's FUZZ_SEEDS_NAME:
 * globs, from the top of the tree) come from the build.  The harness
 * defines err and errx (fuzz.h), so this reports by itself. */
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

int
main(int argc, char **argv)
{
	char pats[] = FUZZ_SEEDS " fixtures/fuzz/" FUZZ_NAME "-*";
	glob_t g;
	int fl = 0;

	memset(&g, 0, sizeof g);
	for (char *p = strtok(pats, " "); p; p = strtok(NULL, " ")) {
		int r = glob(p, fl, NULL, &g);
		if (r != 0 && r != GLOB_NOMATCH) {
			fprintf(stderr, "replay: %s: glob failed\n", p);
			return 1;
		}
		fl = g.gl_pathc ? GLOB_APPEND : 0;
	}
	if (g.gl_pathc == 0) {
		printf("not ok - fuzz_%s: no inputs (%s)\n", FUZZ_NAME,
		    FUZZ_SEEDS);
		return 1;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		size_t n;
		char *s = util_slurp(g.gl_pathv[i], &n);
		if (s == NULL) {
			fprintf(stderr, "replay: %s: %s\n", g.gl_pathv[i],
			    strerror(errno));
			return 1;
		}
		/* the input alone, so that a read past it is caught */
		uint8_t *d = xmalloc(n ? n : 1);
		memcpy(d, s, n);
		free(s);
		LLVMFuzzerTestOneInput(d, n);
		free(d);
	}
	printf("ok - fuzz_%s: %zu inputs (seeds, earlier findings) run "
	    "clean\n", FUZZ_NAME, g.gl_pathc);
	globfree(&g);
	return 0;
}
