/* model: a sentence-transformers / Hugging Face model directory.
 *
 *   config.json             BertModel config (vocab_size, hidden_size, ...)
 *   model.safetensors       weights ("embeddings.*", "bert.embeddings.*" or
 *                           "0.auto_model.embeddings.*" names all accepted)
 *   vocab.txt               WordPiece vocabulary (its FNV-1a names it)
 *   modules.json            Transformer, Pooling[, Normalize]; absent:
 *                           mean pooling, no Normalize
 *   1_Pooling/config.json   pooling mode */
#ifndef MODEL_H
#define MODEL_H

#include "bert.h"
#include "st.h"

struct model {
	char *dir;
	char *name;		/* basename of dir, e.g. "all-MiniLM-L6-v2" */
	char vocab[17];		/* 16 hex digits: FNV-1a 64 of vocab.txt */
	struct bert_config cfg;
	struct st_file st;	/* model.safetensors, mapped until model_close
				 * (st_close(&md->st) after model_load is fine) */
	char *prefix;		/* tensor name prefix found ("", "bert.", ...) */
	size_t max_seq_length;	/* sentence_bert_config.json, else P */
};

/* Read the config files and the safetensors header; fills md->cfg.
 * Exits 66 if the directory or a needed file cannot be opened, 65 if a
 * file is malformed. */
void model_open(struct model *md, const char *dir);
/* Copy the weights into m->params (m from bert_alloc(&md->cfg, ...)),
 * checking every name, dtype and shape; missing or extra tensors are named,
 * exit 65. */
void model_load(struct model *md, struct bert_model *m);
void model_close(struct model *md);

/* Write a complete sentence-transformers directory at out, atomically
 * (util_tmpdir/util_commit_dir): config.json, model.safetensors (F32, plain
 * "embeddings.*" names), the tokenizer files copied from md->dir (vocab.txt,
 * tokenizer.json, tokenizer_config.json, special_tokens_map.json when
 * present), modules.json, sentence_bert_config.json,
 * config_sentence_transformers.json, 1_Pooling/config.json, 2_Normalize/
 * (if cfg.normalize).  meta: NULL-terminated key, value list for the
 * safetensors __metadata__ (may be NULL). */
void model_write_dir(const char *out, const struct model *md,
    const struct bert_model *m, const char *const *meta);
/* The same into a new temporary directory beside out (util_tmpdir), not
 * committed: the caller may add files, then util_commit_dir(tmp, out). */
char *model_write_tmp(const char *out, const struct model *md,
    const struct bert_model *m, const char *const *meta);

/* The Hugging Face tensors (names without prefix, e.g.
 * "encoder.layer.0.attention.self.query.weight") and where each lives in a
 * parameter table p (m->p for weights, m->g for their gradients).  e must
 * hold model_ntensors(c) entries; returns how many were filled. */
struct model_tensor {
	char name[96];
	size_t ndim, shape[2];
	float *data;
};
size_t model_ntensors(const struct bert_config *c);
size_t model_tensors(struct model_tensor *e, const struct bert_config *c,
    const struct bert_params *p);

#endif
