/* model: read and write a sentence-transformers model directory. */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model.h"
#include "tensor.h"
#include "util.h"

static char *
pathcat(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = xmalloc(n);
	snprintf(s, n, "%s/%s", dir, name);
	return s;
}

/* Load a JSON object; NULL if the file does not exist (and !must). */
static json_t *
load_json(const char *dir, const char *name, int must)
{
	char *p = pathcat(dir, name);
	json_error_t je;
	json_t *j;
	FILE *fp = fopen(p, "r");

	if (fp == NULL) {
		if (errno == ENOENT && !must) {
			free(p);
			return NULL;
		}
		err(EXIT_NOINPUT, "%s", p);
	}
	j = json_loadf(fp, 0, &je);
	fclose(fp);
	if (j == NULL)
		errx(EXIT_DATAERR, "%s: line %d: %s", p, je.line, je.text);
	if (!json_is_object(j))
		errx(EXIT_DATAERR, "%s: not a JSON object", p);
	free(p);
	return j;
}

static size_t
cfg_int(json_t *j, const char *dir, const char *key, long dflt)
{
	json_t *v = json_object_get(j, key);
	if (v == NULL) {
		if (dflt >= 0)
			return (size_t)dflt;
		errx(EXIT_DATAERR, "%s/config.json: \"%s\" missing", dir, key);
	}
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > INT_MAX)
		errx(EXIT_DATAERR, "%s/config.json: \"%s\": expected a positive "
		    "integer", dir, key);
	return (size_t)json_integer_value(v);
}

static float
cfg_float(json_t *j, const char *dir, const char *key, double dflt)
{
	json_t *v = json_object_get(j, key);
	if (v == NULL)
		return (float)dflt;
	if (!json_is_number(v))
		errx(EXIT_DATAERR, "%s/config.json: \"%s\": expected a number",
		    dir, key);
	return (float)json_number_value(v);
}

static void
read_pooling(struct model *md, const char *sub)
{
	char *p = pathcat(sub, "config.json");
	json_t *j = load_json(md->dir, p, 1);
	static const struct { const char *key; int mode; } modes[] = {
		{"pooling_mode_mean_tokens", BERT_POOL_MEAN},
		{"pooling_mode_cls_token", BERT_POOL_CLS},
		{"pooling_mode_max_tokens", BERT_POOL_MAX},
		{"pooling_mode_mean_sqrt_len_tokens", BERT_POOL_MEAN_SQRT},
		{"pooling_mode_weightedmean_tokens", -1},
		{"pooling_mode_lasttoken", -1},
	};
	int n = 0;
	json_t *pm = json_object_get(j, "pooling_mode");
	if (json_is_string(pm)) {
		/* newer sentence-transformers may write "pooling_mode": "cls" */
		const char *s = json_string_value(pm);
		if (strcmp(s, "mean") == 0)
			md->cfg.pooling = BERT_POOL_MEAN, n = 1;
		else if (strcmp(s, "cls") == 0)
			md->cfg.pooling = BERT_POOL_CLS, n = 1;
		else if (strcmp(s, "max") == 0)
			md->cfg.pooling = BERT_POOL_MAX, n = 1;
		else if (strcmp(s, "mean_sqrt_len_tokens") == 0)
			md->cfg.pooling = BERT_POOL_MEAN_SQRT, n = 1;
		else
			errx(EXIT_DATAERR, "%s/%s: pooling mode \"%s\" is not "
			    "supported", md->dir, p, s);
	}
	for (size_t i = 0; n == 0 && i < sizeof(modes) / sizeof(modes[0]); i++) {
		json_t *v = json_object_get(j, modes[i].key);
		if (!json_is_true(v))
			continue;
		if (modes[i].mode < 0)
			errx(EXIT_DATAERR, "%s/%s: %s is not supported", md->dir,
			    p, modes[i].key);
		md->cfg.pooling = modes[i].mode;
		n++;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (json_is_true(json_object_get(j, modes[i].key)) &&
		    modes[i].mode != md->cfg.pooling)
			errx(EXIT_DATAERR, "%s/%s: more than one pooling mode is "
			    "not supported", md->dir, p);
	if (n == 0)
		errx(EXIT_DATAERR, "%s/%s: no pooling mode set", md->dir, p);
	json_t *ip = json_object_get(j, "include_prompt");
	if (ip != NULL && !json_is_boolean(ip))
		errx(EXIT_DATAERR, "%s/%s: include_prompt: not a boolean",
		    md->dir, p);
	md->cfg.include_prompt = ip == NULL || json_is_true(ip);
	json_decref(j);
	free(p);
}

void
model_open(struct model *md, const char *dir)
{
	json_t *c, *sb;
	struct bert_config *cfg = &md->cfg;
	char *p;
	const char *s;
	size_t n, i;

	memset(md, 0, sizeof(*md));
	md->dir = xstrdup(dir);
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	s = dir + n;
	while (s > dir && s[-1] != '/')
		s--;
	md->name = xstrndup(s, (size_t)(dir + n - s));

	c = load_json(dir, "config.json", 1);
	/* the architecture: config.json's model_type (absent: BERT) */
	{
		static const struct { const char *type; int arch; } archs[] = {
			{"bert", BERT_ARCH_BERT}, {"mpnet", BERT_ARCH_MPNET},
		};
		json_t *mt = json_object_get(c, "model_type");
		const char *t = mt ? json_string_value(mt) : "bert";
		size_t k, na = sizeof(archs) / sizeof(archs[0]);
		for (k = 0; t != NULL && k < na; k++)
			if (strcmp(t, archs[k].type) == 0)
				break;
		if (t == NULL || k == na)
			errx(EXIT_DATAERR, "%s/config.json: model_type %s is not "
			    "supported (supported: bert, mpnet)", dir,
			    t ? t : "(not a string)");
		cfg->arch = archs[k].arch;
	}
	cfg->V = cfg_int(c, dir, "vocab_size", -1);
	cfg->C = cfg_int(c, dir, "hidden_size", -1);
	cfg->L = cfg_int(c, dir, "num_hidden_layers", -1);
	cfg->NH = cfg_int(c, dir, "num_attention_heads", -1);
	cfg->F = cfg_int(c, dir, "intermediate_size", -1);
	cfg->P = cfg_int(c, dir, "max_position_embeddings", -1);
	cfg->TV = cfg_int(c, dir, "type_vocab_size", 2);
	if (cfg->arch == BERT_ARCH_MPNET) {
		cfg->TV = 0;	/* no token types */
		cfg->NB = cfg_int(c, dir, "relative_attention_num_buckets", 32);
		if (cfg->NB < 4 || cfg->NB % 4 != 0)
			errx(EXIT_DATAERR, "%s/config.json: "
			    "relative_attention_num_buckets %zu: expected a "
			    "multiple of 4", dir, cfg->NB);
		if (cfg->P < BERT_MPNET_PAD + 2)
			errx(EXIT_DATAERR, "%s/config.json: "
			    "max_position_embeddings %zu: too few for MPNet", dir,
			    cfg->P);
	}
	cfg->eps = cfg_float(c, dir, "layer_norm_eps", 1e-12);
	cfg->hidden_dropout = cfg_float(c, dir, "hidden_dropout_prob", 0.1);
	cfg->attn_dropout = cfg_float(c, dir, "attention_probs_dropout_prob", 0.1);
	if (cfg->C % cfg->NH != 0)
		errx(EXIT_DATAERR, "%s/config.json: hidden_size %zu is not a "
		    "multiple of num_attention_heads %zu", dir, cfg->C, cfg->NH);
	if (!(cfg->hidden_dropout >= 0 && cfg->hidden_dropout < 1 &&
	    cfg->attn_dropout >= 0 && cfg->attn_dropout < 1))
		errx(EXIT_DATAERR, "%s/config.json: dropout outside [0, 1)", dir);
	json_t *act = json_object_get(c, "hidden_act");
	if (act && !(json_is_string(act) &&
	    strcmp(json_string_value(act), "gelu") == 0))
		errx(EXIT_DATAERR, "%s/config.json: hidden_act: only \"gelu\" "
		    "(exact erf) is supported", dir);
	json_t *pe = json_object_get(c, "position_embedding_type");
	if (cfg->arch == BERT_ARCH_BERT && pe && !(json_is_string(pe) &&
	    strcmp(json_string_value(pe), "absolute") == 0))
		errx(EXIT_DATAERR, "%s/config.json: position_embedding_type: "
		    "only \"absolute\" is supported", dir);
	json_decref(c);

	/* modules.json: Pooling and Normalize; none -> mean, no Normalize */
	cfg->pooling = BERT_POOL_MEAN;
	cfg->include_prompt = 1;
	cfg->normalize = 0;
	p = pathcat(dir, "modules.json");
	{
		json_error_t je;
		FILE *fp = fopen(p, "r");
		json_t *a = NULL;
		if (fp == NULL && errno != ENOENT)
			err(EXIT_NOINPUT, "%s", p);
		if (fp) {
			a = json_loadf(fp, 0, &je);
			fclose(fp);
			if (a == NULL)
				errx(EXIT_DATAERR, "%s: line %d: %s", p, je.line,
				    je.text);
			if (!json_is_array(a))
				errx(EXIT_DATAERR, "%s: not a JSON array", p);
			int pooled = 0;
			for (i = 0; i < json_array_size(a); i++) {
				json_t *e = json_array_get(a, i);
				const char *ty = json_string_value(
				    json_object_get(e, "type"));
				const char *pa = json_string_value(
				    json_object_get(e, "path"));
				if (ty == NULL)
					errx(EXIT_DATAERR, "%s: module %zu: no "
					    "\"type\"", p, i);
				if (strstr(ty, "Pooling")) {
					read_pooling(md, pa && *pa ? pa :
					    "1_Pooling");
					pooled = 1;
				} else if (strstr(ty, "Normalize")) {
					cfg->normalize = 1;
				} else if (!strstr(ty, "Transformer")) {
					errx(EXIT_DATAERR, "%s: module type %s is "
					    "not supported", p, ty);
				}
			}
			if (!pooled)
				errx(EXIT_DATAERR, "%s: no Pooling module", p);
			json_decref(a);
		}
	}
	free(p);

	md->max_seq_length = bert_max_len(cfg);
	sb = load_json(dir, "sentence_bert_config.json", 0);
	if (sb) {
		json_t *v = json_object_get(sb, "max_seq_length");
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    (size_t)json_integer_value(v) < md->max_seq_length)
			md->max_seq_length = (size_t)json_integer_value(v);
		json_decref(sb);
	}

	/* vocabulary name */
	p = pathcat(dir, "vocab.txt");
	{
		size_t len;
		char *v = util_slurp(p, &len);
		if (v == NULL)
			err(EXIT_NOINPUT, "%s", p);
		snprintf(md->vocab, sizeof(md->vocab), "%016llx",
		    (unsigned long long)util_fnv1a(v, len));
		free(v);
	}
	free(p);

	p = pathcat(dir, "model.safetensors");
	st_open(&md->st, p);
	free(p);
	/* the prefix in front of "embeddings.word_embeddings.weight" */
	md->prefix = NULL;
	for (i = 0; i < md->st.n; i++) {
		const char *nm = md->st.t[i].name, *suf =
		    "embeddings.word_embeddings.weight";
		size_t ln = strlen(nm), ls = strlen(suf);
		if (ln >= ls && strcmp(nm + ln - ls, suf) == 0) {
			md->prefix = xstrndup(nm, ln - ls);
			break;
		}
	}
	if (md->prefix == NULL)
		errx(EXIT_DATAERR, "%s/model.safetensors: missing tensor "
		    "embeddings.word_embeddings.weight", dir);
	{
		char nm[256];
		snprintf(nm, sizeof(nm), "%spooler.dense.weight", md->prefix);
		cfg->has_pooler = st_find(&md->st, nm) != NULL;
	}
}

void
model_close(struct model *md)
{
	st_close(&md->st);
	free(md->dir);
	free(md->name);
	free(md->prefix);
	memset(md, 0, sizeof(*md));
}

#define ent model_tensor

size_t
model_tensors(struct model_tensor *e, const struct bert_config *c,
    const struct bert_params *p)
{
	size_t n = 0, C = c->C, F = c->F;
#define ADD(nm, d, s0, s1, ptr) do { \
	snprintf(e[n].name, sizeof(e[n].name), "%s", nm); \
	e[n].ndim = d; e[n].shape[0] = s0; e[n].shape[1] = s1; \
	e[n].data = ptr; n++; } while (0)
	ADD("embeddings.word_embeddings.weight", 2, c->V, C, p->wte);
	ADD("embeddings.position_embeddings.weight", 2, c->P, C, p->wpe);
	if (c->TV > 0)
		ADD("embeddings.token_type_embeddings.weight", 2, c->TV, C,
		    p->wtt);
	ADD("embeddings.LayerNorm.weight", 1, C, 0, p->emb_lng);
	ADD("embeddings.LayerNorm.bias", 1, C, 0, p->emb_lnb);
	for (size_t l = 0; l < c->L; l++) {
		/* under encoder.layer.L.: the BERT name, MPNetLayer's
		 * (attention.attn.{q,k,v,o}, attention.LayerNorm), rows,
		 * columns (0: a vector) */
		const struct {
			const char *name[2];
			size_t s0, s1;
			float *ptr;
		} t[] = {
			{{"attention.self.query.weight", "attention.attn.q.weight"},
			    C, C, p->qkvw + l * 3 * C * C},
			{{"attention.self.query.bias", "attention.attn.q.bias"},
			    C, 0, p->qkvb + l * 3 * C},
			{{"attention.self.key.weight", "attention.attn.k.weight"},
			    C, C, p->qkvw + l * 3 * C * C + C * C},
			{{"attention.self.key.bias", "attention.attn.k.bias"},
			    C, 0, p->qkvb + l * 3 * C + C},
			{{"attention.self.value.weight", "attention.attn.v.weight"},
			    C, C, p->qkvw + l * 3 * C * C + 2 * C * C},
			{{"attention.self.value.bias", "attention.attn.v.bias"},
			    C, 0, p->qkvb + l * 3 * C + 2 * C},
			{{"attention.output.dense.weight", "attention.attn.o.weight"},
			    C, C, p->attprojw + l * C * C},
			{{"attention.output.dense.bias", "attention.attn.o.bias"},
			    C, 0, p->attprojb + l * C},
			{{"attention.output.LayerNorm.weight",
			    "attention.LayerNorm.weight"}, C, 0, p->ln1g + l * C},
			{{"attention.output.LayerNorm.bias",
			    "attention.LayerNorm.bias"}, C, 0, p->ln1b + l * C},
			{{"intermediate.dense.weight", "intermediate.dense.weight"},
			    F, C, p->fcw + l * F * C},
			{{"intermediate.dense.bias", "intermediate.dense.bias"},
			    F, 0, p->fcb + l * F},
			{{"output.dense.weight", "output.dense.weight"},
			    C, F, p->fcprojw + l * C * F},
			{{"output.dense.bias", "output.dense.bias"},
			    C, 0, p->fcprojb + l * C},
			{{"output.LayerNorm.weight", "output.LayerNorm.weight"},
			    C, 0, p->ln2g + l * C},
			{{"output.LayerNorm.bias", "output.LayerNorm.bias"},
			    C, 0, p->ln2b + l * C},
		};
		int mp = c->arch == BERT_ARCH_MPNET;
		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			char b[96];
			snprintf(b, sizeof(b), "encoder.layer.%zu.%s", l,
			    t[i].name[mp]);
			ADD(b, t[i].s1 ? 2 : 1, t[i].s0, t[i].s1, t[i].ptr);
		}
	}
	if (c->NB > 0)
		ADD("encoder.relative_attention_bias.weight", 2, c->NB, c->NH,
		    p->relb);
	if (c->has_pooler) {
		ADD("pooler.dense.weight", 2, C, C, p->poolw);
		ADD("pooler.dense.bias", 1, C, 0, p->poolb);
	}
#undef ADD
	return n;
}

size_t
model_ntensors(const struct bert_config *c)
{
	return 5 + 16 * c->L + 2 + (c->NB > 0);
}

void
model_load(struct model *md, struct bert_model *m)
{
	size_t ne, i, k, plen = strlen(md->prefix), nbad = 0;
	struct ent *e = xcalloc(model_ntensors(&md->cfg), sizeof(*e));
	char *used = xcalloc(md->st.n + 1, 1);
	char nm[256];

	ne = model_tensors(e, &m->cfg, &m->p);
	for (i = 0; i < ne; i++) {
		const struct st_tensor *t;
		snprintf(nm, sizeof(nm), "%s%s", md->prefix, e[i].name);
		t = st_find(&md->st, nm);
		if (t == NULL) {
			warnx("%s/model.safetensors: missing tensor %s", md->dir, nm);
			nbad++;
			continue;
		}
		used[t - md->st.t] = 1;
		int shape_ok = t->ndim == e[i].ndim;
		for (k = 0; shape_ok && k < e[i].ndim; k++)
			shape_ok = t->shape[k] == e[i].shape[k];
		if (!shape_ok) {
			char got[64] = "", want[64];
			for (k = 0; k < t->ndim && k < 4; k++)
				snprintf(got + strlen(got), sizeof(got) - strlen(got),
				    "%s%zu", k ? ", " : "", t->shape[k]);
			if (e[i].ndim == 2)
				snprintf(want, sizeof(want), "%zu, %zu",
				    e[i].shape[0], e[i].shape[1]);
			else
				snprintf(want, sizeof(want), "%zu", e[i].shape[0]);
			errx(EXIT_DATAERR, "%s/model.safetensors: %s: shape [%s], "
			    "config.json wants [%s]", md->dir, nm, got, want);
		}
		if (st_read_f32(e[i].data, t) != 0)
			errx(EXIT_DATAERR, "%s/model.safetensors: %s: dtype %s "
			    "(expected F32, F16 or BF16)", md->dir, nm,
			    t->dtype_name);
	}
	for (i = 0; i < md->st.n; i++) {
		const char *tn = md->st.t[i].name;
		if (used[i])
			continue;
		if (strncmp(tn, md->prefix, plen) == 0 &&
		    strcmp(tn + plen, "embeddings.position_ids") == 0)
			continue;	/* a buffer, not a parameter */
		warnx("%s/model.safetensors: unexpected tensor %s", md->dir, tn);
		nbad++;
	}
	if (nbad)
		errx(EXIT_DATAERR, "%s/model.safetensors: %zu tensor%s missing "
		    "or unexpected", md->dir, nbad, nbad == 1 ? "" : "s");
	free(used);
	free(e);
	blas_weights_changed(m->params);	/* new weights: no bf16 pack of the old */
}

/* ---- writing */

static FILE *
create(const char *dir, const char *name)
{
	char *p = pathcat(dir, name);
	FILE *fp = fopen(p, "w");
	if (fp == NULL)
		err(EXIT_CANTCREAT, "%s", p);
	free(p);
	return fp;
}

static void
close_checked(FILE *fp, const char *dir, const char *name)
{
	if (fflush(fp) != 0 || ferror(fp) || fclose(fp) != 0)
		err(EXIT_IOERR, "%s/%s", dir, name);
}

static void
copy_file(const char *from, const char *to, const char *name, int must)
{
	char *p = pathcat(from, name);
	size_t len;
	char *s = util_slurp(p, &len);
	if (s == NULL) {
		if (errno == ENOENT && !must) {
			free(p);
			return;
		}
		err(EXIT_NOINPUT, "%s", p);
	}
	FILE *fp = create(to, name);
	fwrite(s, 1, len, fp);
	close_checked(fp, to, name);
	free(s);
	free(p);
}

static void
write_json(const char *dir, const char *name, json_t *j)
{
	FILE *fp = create(dir, name);
	if (json_dumpf(j, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		err(EXIT_IOERR, "%s/%s", dir, name);
	fputc('\n', fp);
	close_checked(fp, dir, name);
	json_decref(j);
}

static int
file_exists(const char *dir, const char *name)
{
	char *p = pathcat(dir, name);
	struct stat sb;
	int r = stat(p, &sb) == 0;
	free(p);
	return r;
}

void
model_write_dir(const char *out, const struct model *md,
    const struct bert_model *m, const char *const *meta)
{
	util_commit_dir(model_write_tmp(out, md, m, meta), out);
}

char *
model_write_tmp(const char *out, const struct model *md,
    const struct bert_model *m, const char *const *meta)
{
	const struct bert_config *c = &m->cfg;
	char *tmp = util_tmpdir(out), *p;
	size_t ne, i;
	struct ent *e = xcalloc(model_ntensors(c), sizeof(*e));
	struct st_out *so;
	json_t *j, *a, *o;

	copy_file(md->dir, tmp, "config.json", 1);
	copy_file(md->dir, tmp, "vocab.txt", 1);
	copy_file(md->dir, tmp, "tokenizer.json", 0);
	copy_file(md->dir, tmp, "tokenizer_config.json", 0);
	copy_file(md->dir, tmp, "special_tokens_map.json", 0);

	ne = model_tensors(e, c, &m->p);
	so = xcalloc(ne, sizeof(*so));
	for (i = 0; i < ne; i++) {
		so[i].name = e[i].name;
		so[i].ndim = e[i].ndim;
		so[i].shape[0] = e[i].shape[0];
		so[i].shape[1] = e[i].shape[1];
		so[i].data = e[i].data;
	}
	p = pathcat(tmp, "model.safetensors");
	{
		/* always record the format, as transformers expects */
		size_t nm = 0;
		while (meta && meta[nm])
			nm++;
		const char **mm = xcalloc(nm + 3, sizeof(*mm));
		mm[0] = "format";
		mm[1] = "pt";
		for (i = 0; i < nm; i++)
			mm[2 + i] = meta[i];
		st_write(p, so, ne, mm);
		free(mm);
	}
	free(p);

	/* modules.json */
	a = json_array();
	o = json_pack("{s:i, s:s, s:s, s:s}", "idx", 0, "name", "0", "path", "",
	    "type", "sentence_transformers.models.Transformer");
	json_array_append_new(a, o);
	o = json_pack("{s:i, s:s, s:s, s:s}", "idx", 1, "name", "1", "path",
	    "1_Pooling", "type", "sentence_transformers.models.Pooling");
	json_array_append_new(a, o);
	if (c->normalize) {
		o = json_pack("{s:i, s:s, s:s, s:s}", "idx", 2, "name", "2",
		    "path", "2_Normalize", "type",
		    "sentence_transformers.models.Normalize");
		json_array_append_new(a, o);
	}
	write_json(tmp, "modules.json", a);

	if (file_exists(md->dir, "sentence_bert_config.json"))
		copy_file(md->dir, tmp, "sentence_bert_config.json", 1);
	else
		write_json(tmp, "sentence_bert_config.json",
		    json_pack("{s:I, s:b}", "max_seq_length",
		    (json_int_t)md->max_seq_length, "do_lower_case", 0));
	if (file_exists(md->dir, "config_sentence_transformers.json"))
		copy_file(md->dir, tmp, "config_sentence_transformers.json", 1);
	else
		write_json(tmp, "config_sentence_transformers.json",
		    json_pack("{s:{}, s:{}, s:n, s:s}", "__version__", "prompts",
		    "default_prompt_name", "similarity_fn_name", "cosine"));

	p = pathcat(tmp, "1_Pooling");
	if (mkdir(p, 0755) != 0)
		err(EXIT_CANTCREAT, "%s", p);
	j = json_pack("{s:I, s:b, s:b, s:b, s:b, s:b, s:b, s:b}",
	    "word_embedding_dimension", (json_int_t)c->C,
	    "pooling_mode_cls_token", c->pooling == BERT_POOL_CLS,
	    "pooling_mode_mean_tokens", c->pooling == BERT_POOL_MEAN,
	    "pooling_mode_max_tokens", c->pooling == BERT_POOL_MAX,
	    "pooling_mode_mean_sqrt_len_tokens", c->pooling == BERT_POOL_MEAN_SQRT,
	    "pooling_mode_weightedmean_tokens", 0,
	    "pooling_mode_lasttoken", 0,
	    "include_prompt", c->include_prompt);
	write_json(p, "config.json", j);
	free(p);
	if (c->normalize) {
		p = pathcat(tmp, "2_Normalize");
		if (mkdir(p, 0755) != 0)
			err(EXIT_CANTCREAT, "%s", p);
		free(p);
	}
	free(so);
	free(e);
	return tmp;
}
