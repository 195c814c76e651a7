/* libFuzzer: a model directory's configuration files, read as encode,
 * train and tokenize read them (lib/model's model_open, lib/tok's
 * tok_load).  The directory is a copy of FUZZ_MODEL (else
 * fixtures/tiny-prompt: prompts, a default prompt, include_prompt false);
 * an input's first line names one of the files below, the rest stands in
 * that file's place (the seeds, fixtures/fuzz/modeldir-*: the copy's own
 * files).  Where the directory is taken, a text is tokenized, and each
 * prompt: the ids lie within the vocabulary and hold the template, and a
 * prompt's ids fit in a text's. */
#include <sys/stat.h>

#include "fuzz.h"
#include "model.h"

static const char *const files[] = {
	"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"sentence_bert_config.json", "config_sentence_transformers.json",
	"config.json", "1_Pooling/config.json", "modules.json",
};
#define NFILES (sizeof files / sizeof files[0])
/* the rest of the copy: links to the model's own */
static const char *const others[] = {
	"vocab.txt", "model.safetensors", "2_Normalize",
};
#define NOTHERS (sizeof others / sizeof others[0])

static char dir[64];
static char *orig[NFILES];	/* each file's bytes in the copy, or NULL */
static size_t origlen[NFILES];

static void
put(const char *name, const void *p, size_t n)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(p, 1, n, fp) != n || fclose(fp) != 0)
		abort();
}

static void
cleanup(void)
{
	char path[256];

	for (size_t i = 0; i < NFILES + NOTHERS + 2; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, i < NFILES ?
		    files[i] : i < NFILES + NOTHERS ? others[i - NFILES] :
		    i == NFILES + NOTHERS ? "1_Pooling" : "");
		remove(path);
	}
}

/* once: the copy of the model directory (its other files linked), taken
 * away at exit */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *src = getenv("FUZZ_MODEL");
	char from[4096], to[256];

	if (src == NULL)
		src = "fixtures/tiny-prompt";
	if (realpath(src, from) == NULL)
		abort();
	snprintf(dir, sizeof dir, "/tmp/fuzz-modeldir.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(to, sizeof to, "%s/1_Pooling", dir);
	if (mkdir(to, 0755) != 0)
		abort();
	for (size_t i = 0; i < NOTHERS; i++) {
		char f[4200];
		snprintf(f, sizeof f, "%s/%s", from, others[i]);
		snprintf(to, sizeof to, "%s/%s", dir, others[i]);
		if (symlink(f, to) != 0)
			abort();
	}
	for (size_t i = 0; i < NFILES; i++) {
		char f[4200];
		snprintf(f, sizeof f, "%s/%s", from, files[i]);
		if ((orig[i] = util_slurp(f, &origlen[i])) != NULL)
			put(files[i], orig[i], origlen[i]);
	}
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model md;
	static struct tok t;
	static const char text[] = "Trypsin cleaves the peptide bond.";
	static size_t k;	/* static: kept across FUZZ_TRY's setjmp */
	const uint8_t *nl = memchr(data, '\n', size);
	char path[256];

	for (k = 0; nl != NULL && k < NFILES; k++)
		if (strlen(files[k]) == (size_t)(nl - data) &&
		    memcmp(files[k], data, (size_t)(nl - data)) == 0)
			break;
	if (nl == NULL || k == NFILES)
		return 0;
	put(files[k], nl + 1, size - (size_t)(nl + 1 - data));
	fuzz_fd_base();
	fuzz_json_track();
	memset(&md, 0, sizeof md);
	memset(&t, 0, sizeof t);
	FUZZ_TRY {
		model_open(&md, dir);
		tok_load(&t, dir);
		uint32_t *ids = xmalloc(t.max_len * sizeof *ids);
		size_t n, bad;
		if (tok_encode(&t, text, sizeof text - 1, ids, &n, &bad) != 0)
			abort();
		fuzz_check_ids(&t, ids, n);
		for (size_t i = 0; i < t.nprompts; i++) {
			const char *p = tok_prompt(&t, t.prompts[i].name);
			if (p == NULL || tok_prompt_len(&t, p, ids) > t.max_len)
				abort();
		}
		free(ids);
		tok_free(&t);
		model_close(&md);
	}
	if (fuzz_status != 0) {	/* what a bail-out left */
		fuzz_json_sweep();
		model_close(&md);
	}
	fuzz_fd_sweep();
	/* the file as it was */
	snprintf(path, sizeof path, "%s/%s", dir, files[k]);
	if (orig[k] != NULL)
		put(files[k], orig[k], origlen[k]);
	else
		unlink(path);
	return 0;
}
