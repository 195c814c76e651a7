/* t_st: safetensors conversion and write/read round trip; model_write_dir
 * writes a directory that model_open/model_load read back unchanged. */
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#include "bert.h"
#include "model.h"
#include "st.h"
#include "util.h"

static void
test_convert(void)
{
	static const struct { uint16_t h; float f; } f16[] = {
		{0x3c00, 1.0f}, {0xc000, -2.0f}, {0x7bff, 65504.0f},
		{0x0001, 5.960464477539063e-08f}, {0x3555, 0.333251953125f},
		{0x0000, 0.0f},
	};
	int ok = 1;
	for (size_t i = 0; i < sizeof(f16) / sizeof(f16[0]); i++)
		ok &= st_f16(f16[i].h) == f16[i].f;
	check_ok("st_f16 known values", ok);
	check_ok("st_f16 inf", isinf(st_f16(0x7c00)) && st_f16(0x7c00) > 0);
}

static void
test_roundtrip(const char *dir)
{
	char path[512];
	float a[6] = {1, -2, 3.5f, 4, 5, 6e-20f}, b[3] = {7, 8, 9};
	struct st_out t[2] = {
		{"b.second", 1, {3}, b},
		{"a.first", 2, {2, 3}, a},
	};
	const char *meta[] = {"format", "pt", "note", "x\"y", NULL};
	struct st_file f;
	float got[6];

	snprintf(path, sizeof(path), "%s/t.safetensors", dir);
	st_write(path, t, 2, meta);
	st_open(&f, path);
	check_ok("st round trip: two tensors", f.n == 2);
	const struct st_tensor *x = st_find(&f, "a.first");
	check_ok("st round trip: shape", x && x->ndim == 2 && x->shape[0] == 2 &&
	    x->shape[1] == 3 && x->dtype == ST_F32);
	if (x) {
		st_read_f32(got, x);
		check_close("st round trip: a.first", got, a, 6, 0, 0);
	}
	x = st_find(&f, "b.second");
	if (x) {
		st_read_f32(got, x);
		check_close("st round trip: b.second", got, b, 3, 0, 0);
	}
	check_ok("st_find: absent", st_find(&f, "nope") == NULL);
	/* the data is 8-byte aligned after the header */
	size_t hl = 0;
	for (int i = 0; i < 8; i++)
		hl |= (size_t)((unsigned char *)f.map)[i] << (8 * i);
	check_ok("st header length is a multiple of 8", hl % 8 == 0);
	st_close(&f);
}

static void
test_model_dir(const char *dir)
{
	struct model md, md2;
	struct bert_model m, m2;
	char out[512], p[600];
	struct stat sb;

	model_open(&md, "fixtures/tiny");
	bert_alloc(&m, &md.cfg, 4, 16, 64, 0);
	model_load(&md, &m);
	snprintf(out, sizeof(out), "%s/tuned", dir);
	const char *meta[] = {"embtune", "t_st", NULL};
	model_write_dir(out, &md, &m, meta);
	static const char *files[] = {"config.json", "model.safetensors",
	    "vocab.txt", "modules.json", "sentence_bert_config.json",
	    "config_sentence_transformers.json", "1_Pooling/config.json",
	    "2_Normalize", "tokenizer.json"};
	int ok = 1;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", out, files[i]);
		if (stat(p, &sb) != 0) {
			printf("# missing %s\n", p);
			ok = 0;
		}
	}
	check_ok("model_write_dir: every file", ok);
	model_open(&md2, out);
	check_ok("model_write_dir: same config", md2.cfg.C == md.cfg.C &&
	    md2.cfg.L == md.cfg.L && md2.cfg.pooling == md.cfg.pooling &&
	    md2.cfg.normalize == md.cfg.normalize &&
	    md2.cfg.has_pooler == md.cfg.has_pooler &&
	    strcmp(md2.vocab, md.vocab) == 0);
	check_ok("model_write_dir: name is the basename", strcmp(md2.name, "tuned") == 0);
	bert_alloc(&m2, &md2.cfg, 4, 16, 64, 0);
	model_load(&md2, &m2);
	check_close("model_write_dir: parameters read back", m2.params, m.params,
	    m.nparams, 0, 0);
	/* writing again replaces the directory atomically */
	m.params[0] += 1;
	model_write_dir(out, &md, &m, NULL);
	model_close(&md2);
	bert_free(&m2);
	model_open(&md2, out);
	bert_alloc(&m2, &md2.cfg, 4, 16, 64, 0);
	model_load(&md2, &m2);
	check_ok("model_write_dir: rewrite replaces", m2.params[0] == m.params[0]);
	bert_free(&m2);
	bert_free(&m);
	model_close(&md2);
	model_close(&md);
}

int
main(void)
{
	char dir[] = "/tmp/t_st.XXXXXX";
	(void)check_iters;
	(void)check_fill;
	if (mkdtemp(dir) == NULL)
		return 1;
	test_convert();
	test_roundtrip(dir);
	test_model_dir(dir);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return check_done();
}
