/* bert: a BERT encoder (post-LN, exact erf GELU) as llm.c-style forward /
 * backward pairs over one arena.
 *
 * Sequences are PACKED: a batch of B sequences of lengths len[0..B) is one
 * token matrix of N = sum(len) rows; no compute is spent on padding.  Row r
 * of every (N, .) activation is token (r - off[b]) of sequence b.  Linear
 * layers run on the whole (N, C) matrix; attention runs per (sequence, head)
 * over that sequence's own length (no mask, no causal mask).
 *
 * Memory (STYLE.md 4): bert_alloc() makes ONE 64-byte-aligned allocation
 * split into params | grads | adam_m | adam_v | acts | dacts, each walked
 * from the size tables below.  Nothing is allocated per batch.  For
 * training it keeps, per layer and token, 8C + F floats (the post-GELU FFN
 * activations and the attention probabilities are recomputed in the
 * backward), plus one layer's worth of backward scratch.
 *
 * Two architectures share this one encoder (cfg.arch, from config.json's
 * model_type): BERT (word + position + token type embeddings, positions
 * 0..T-1) and MPNet (word + position embeddings, positions from
 * padding_idx + 1 as RoBERTa's, no token types, and a relative position
 * bias: T5-style bidirectional buckets, one (NB, NH) table shared by all
 * layers, added to the scaled attention scores before the softmax).
 *
 * Dimensions (llm.c letters): V vocab, P positions, TV token types,
 * C hidden, L layers, NH heads, HS = C/NH, F FFN width, B sequences,
 * T one sequence's length, N packed tokens, NB relative position buckets. */
#ifndef BERT_H
#define BERT_H

#include <stddef.h>
#include <stdint.h>

enum bert_pooling {
	BERT_POOL_MEAN = 0,	/* pooling_mode_mean_tokens */
	BERT_POOL_CLS,		/* pooling_mode_cls_token */
	BERT_POOL_MAX,		/* pooling_mode_max_tokens */
	BERT_POOL_MEAN_SQRT,	/* pooling_mode_mean_sqrt_len_tokens */
};

enum bert_arch {
	BERT_ARCH_BERT = 0,	/* model_type "bert" */
	BERT_ARCH_MPNET,	/* model_type "mpnet" */
};

/* MPNet's padding_idx (fixed in transformers' MPNetEmbeddings) and the
 * relative position buckets' max_distance */
#define BERT_MPNET_PAD 1
#define BERT_MPNET_MAXDIST 128

struct bert_config {
	size_t V, P, TV, C, L, NH, F;
	int arch;		/* enum bert_arch */
	size_t NB;		/* relative_attention_num_buckets (MPNet), else 0 */
	float eps;		/* layer_norm_eps */
	float hidden_dropout;	/* hidden_dropout_prob */
	float attn_dropout;	/* attention_probs_dropout_prob */
	int pooling;		/* enum bert_pooling */
	int include_prompt;	/* 1_Pooling's include_prompt (default 1) */
	int normalize;		/* modules.json has a Normalize module */
	int has_pooler;		/* checkpoint has pooler.dense.* (kept, unused) */
};

/* Parameter tensors, in arena order.  Layer tensors are stacked over L
 * (first dimension L).  Linear weights are (out, in) as in PyTorch:
 * y = x W^T + b.  qkvw rows [0,C) = query, [C,2C) = key, [2C,3C) = value. */
enum bert_param {
	BERT_WTE,	/* (V, C)   embeddings.word_embeddings.weight */
	BERT_WPE,	/* (P, C)   embeddings.position_embeddings.weight */
	BERT_WTT,	/* (TV, C)  embeddings.token_type_embeddings.weight */
	BERT_EMB_LNG,	/* (C)      embeddings.LayerNorm.weight */
	BERT_EMB_LNB,	/* (C)      embeddings.LayerNorm.bias */
	BERT_QKVW,	/* (L, 3C, C) attention.self.{query,key,value}.weight */
	BERT_QKVB,	/* (L, 3C) */
	BERT_ATTPROJW,	/* (L, C, C) attention.output.dense.weight */
	BERT_ATTPROJB,	/* (L, C) */
	BERT_LN1G,	/* (L, C)   attention.output.LayerNorm.weight */
	BERT_LN1B,	/* (L, C) */
	BERT_FCW,	/* (L, F, C) intermediate.dense.weight */
	BERT_FCB,	/* (L, F) */
	BERT_FCPROJW,	/* (L, C, F) output.dense.weight */
	BERT_FCPROJB,	/* (L, C) */
	BERT_LN2G,	/* (L, C)   output.LayerNorm.weight */
	BERT_LN2B,	/* (L, C) */
	BERT_POOLW,	/* (C, C) pooler.dense.weight, or 0 if !has_pooler; unused */
	BERT_POOLB,	/* (C) */
	BERT_RELB,	/* (NB, NH) encoder.relative_attention_bias.weight
			 * (MPNet; 0 floats for BERT) */
	BERT_NPARAM
};

struct bert_params {
	float *wte, *wpe, *wtt, *emb_lng, *emb_lnb;
	float *qkvw, *qkvb, *attprojw, *attprojb, *ln1g, *ln1b;
	float *fcw, *fcb, *fcprojw, *fcprojb, *ln2g, *ln2b;
	float *poolw, *poolb;
	float *relb;
};

/* Activations.  "(L, ...)" ones hold one slice per layer when allocated
 * for training, a single slice reused by every layer otherwise. */
enum bert_act {
	BERT_A_EMB,	/* (N, C)  word+pos+type sum (LN input) */
	BERT_A_X0,	/* (N, C)  embedding LayerNorm output (after dropout) */
	BERT_A_EMB_MEAN, BERT_A_EMB_RSTD,	/* (N) */
	BERT_A_QKV,	/* (L, N, 3C) */
	BERT_A_ATT,	/* per-thread attention scratch: nthr blocks of
			 * bert_attn_scratch(Tmax) floats, Tmax^2 + Tmax
			 * (the scores and the row sums) if no grads */
	BERT_A_ATTY,	/* (L, N, C)  attention output before projection */
	BERT_A_RES1,	/* (L, N, C)  x + dropout(attproj): LN1 input */
	BERT_A_LN1,	/* (L, N, C) */
	BERT_A_LN1_MEAN, BERT_A_LN1_RSTD,	/* (L, N) */
	BERT_A_FCH,	/* (L, N, F)  pre-GELU (GELU in place if no grads) */
	BERT_A_RES2,	/* (L, N, C)  ln1 + dropout(fcproj): LN2 input */
	BERT_A_LN2,	/* (L, N, C)  layer output (hidden state l+1) */
	BERT_A_LN2_MEAN, BERT_A_LN2_RSTD,	/* (L, N) */
	BERT_A_POOLED,	/* (B, C)  pooled, before Normalize */
	BERT_A_OUT,	/* (B, C)  model output (normalized iff cfg.normalize) */
	BERT_A_NORM,	/* (B)     |pooled| (for the Normalize backward) */
	/* with BERT_ACT16: QKV, ATTY and FCH in bf16, (L, N, ...) each
	 * (sizes in floats, two values a float); QKV, ATTY and FCH above are
	 * then one layer's, the fp32 values of the layer at work.  Without
	 * BERT_GRADS, QKV16 and ATTY16 are one layer's (N, 3C) and (N, C),
	 * the operands of bf16 products */
	BERT_A_QKV16, BERT_A_ATTY16, BERT_A_FCH16,
	BERT_NACT
};

struct bert_acts {
	float *emb, *x0, *emb_mean, *emb_rstd;
	float *qkv, *att, *atty, *res1, *ln1, *ln1_mean, *ln1_rstd;
	float *fch, *res2, *ln2, *ln2_mean, *ln2_rstd;
	float *pooled, *out, *norm;
	/* NULL without BERT_ACT16, but qkv16 and atty16 without
	 * BERT_GRADS */
	uint16_t *qkv16, *atty16, *fch16;
};

/* Backward scratch (one layer's worth, reused; only with BERT_GRADS). */
enum bert_dact {
	BERT_D_X,	/* (N, C)  gradient w.r.t. the residual stream */
	BERT_D_LN,	/* (N, C)  scratch */
	BERT_D_BIG,	/* (N, max(F, 4C))  the forward's post-GELU FFN
			 * activations; in the backward, those recomputed, then
			 * d(pre-GELU), then d(atty) (N, C) | d(qkv) (N, 3C) */
	BERT_D_POOLED,	/* (B, C) */
	BERT_NDACT
};

struct bert_dacts {
	float *dx, *dln, *big, *dpooled;
};

/* bert_alloc flags */
enum {
	BERT_GRADS = 1,	/* gradients + backward scratch, per-layer acts */
	BERT_ADAM = 2,	/* AdamW m and v (same table as params) */
	/* with BERT_GRADS, for bf16 products (blas_precision): the per-layer
	 * activations that only bf16 products read (q, k, v; the attention
	 * output), and the FFN's pre-GELU values, kept in bf16 for the
	 * backward.  Every product rounds its operands to bf16 anyway, and a
	 * bf16 forward with BERT_GRADS rounds the pre-GELU values (as
	 * autocast rounds a linear layer's output), so the results are the
	 * same bits as with fp32 activations, in a quarter less activation
	 * memory. */
	BERT_ACT16 = 4,
};

struct bert_model {
	struct bert_config cfg;
	size_t Bmax, Tmax, Nmax;
	int flags;
	int nthr;		/* threads the scratch is sized for (blas_nthreads) */
	/* parameter table: psize[i] floats at offset poff[i]; poff[BERT_NPARAM]
	 * = nparams.  params, grads, m, v are each nparams floats with the same
	 * layout, so AdamW is one flat loop (bert_param_decay for the mask). */
	size_t psize[BERT_NPARAM], poff[BERT_NPARAM + 1], nparams;
	size_t asize[BERT_NACT], dsize[BERT_NDACT];
	float *mem;		/* the one allocation (mmap) */
	size_t memlen;		/* its bytes */
	float *params, *grads, *adam_m, *adam_v;	/* grads/m/v NULL if absent */
	struct bert_params p, g;
	struct bert_acts a;
	struct bert_dacts d;
	/* set by bert_forward for the current batch */
	size_t B, N;
	size_t *len;		/* (Bmax) lengths */
	size_t *off;		/* (Bmax+1) row offset of each sequence */
	size_t *attoff;		/* (Bmax+1) sum of NH*T^2 over the sequences before
				 * (indexes the attention dropout masks) */
	size_t *pos;		/* (Nmax) position of each packed row */
	int train;		/* dropout was on */
	uint64_t seed;
	/* relative position bias (cfg.NB > 0 only): for k = 0..2 Tmax-2, the
	 * bucket of relative position k - (Tmax-1) = key - query; the bias
	 * (NH, 2 Tmax-1) set from relb by bert_forward; the backward's
	 * per-(sequence, head) gradients of it (Bmax NH, 2 Tmax-1) */
	size_t *relbkt;
	float *relbias, *drelbias;
	/* (Bmax) the prompt ids at the start of sequence b of a forward, left
	 * out of mean and max pooling where !cfg.include_prompt; set by the
	 * caller (bert_skip: all of them), 0 by default */
	size_t *pool_skip;
};

/* the per-layer activations are kept in bf16 (BERT_ACT16 with
 * BERT_GRADS) */
static inline int
bert_act16(const struct bert_model *m)
{
	return (m->flags & BERT_GRADS) && (m->flags & BERT_ACT16);
}

/* the slot of layer l's fp32 q, k, v, attention output and FFN product:
 * l where training keeps them in fp32, else 0 (one layer's, reused) */
static inline size_t
bert_slot32(const struct bert_model *m, size_t l)
{
	return (m->flags & BERT_GRADS) && !bert_act16(m) ? l : 0;
}

/* Fill the tables: parameter sizes (floats) and activation sizes for at most
 * Bmax sequences of at most Tmax tokens, Nmax tokens in all, run by nthr
 * threads; per-layer activations are kept only if (flags & BERT_GRADS). */
void bert_sizes(const struct bert_config *cfg, size_t Bmax, size_t Tmax,
    size_t Nmax, int flags, size_t nthr, size_t psize[BERT_NPARAM],
    size_t asize[BERT_NACT], size_t dsize[BERT_NDACT]);
/* 1 if parameter i gets weight decay (not bias, not LayerNorm, not pooler). */
int bert_param_decay(int i);
/* Name of parameter table entry i (for messages), e.g. "qkvw". */
const char *bert_param_name(int i);

/* The longest sequence the model takes: P, less MPNet's padding_idx + 1. */
size_t bert_max_len(const struct bert_config *cfg);
/* T5 / MPNet bidirectional bucket of relative position rel = key - query:
 * NB/2 buckets each way, half of them exact, the rest logarithmic up to
 * maxdist (as transformers' relative_position_bucket, in float32) */
size_t bert_rel_bucket(long rel, size_t NB, size_t maxdist);

/* Allocate the arena (exits on failure), zeroed; Tmax <= bert_max_len.  Call
 * blas_threads() first: the kernels run on blas_nthreads() threads. */
void bert_alloc(struct bert_model *m, const struct bert_config *cfg,
    size_t Bmax, size_t Tmax, size_t Nmax, int flags);
void bert_free(struct bert_model *m);
/* Make m read its weights from src's (the same config), without a copy:
 * an inference arena beside a training one (m's own weights are left
 * untouched, so their pages are never resident). */
void bert_share_params(struct bert_model *m, const struct bert_model *src);
/* Every sequence of a forward starts with a prompt of k ids (pooled as any
 * token where cfg.include_prompt). */
void bert_skip(struct bert_model *m, size_t k);

/* Forward: ids (N) packed token ids (all token type 0), len (B) lengths
 * (each 1..Tmax, sum <= Nmax).  train != 0 turns dropout on, seeded by seed
 * (deterministic for a given seed, thread count irrelevant).  Result in
 * m->a.out (B, C); m->a.pooled has it before Normalize. */
void bert_forward(struct bert_model *m, const uint32_t *ids, const size_t *len,
    size_t B, int train, uint64_t seed);
/* Backward of the last forward (needs BERT_GRADS): dout (B, C) gradient of
 * the loss w.r.t. m->a.out.  ADDS into m->grads. */
void bert_backward(struct bert_model *m, const uint32_t *ids, const float *dout);
void bert_zero_grad(struct bert_model *m);
/* Hidden state after layer l (0 = embeddings LN, l = 1..L), (N, C), or NULL
 * if not kept (inference arena keeps only the last). */
const float *bert_hidden(const struct bert_model *m, size_t l);

/* Does the pooling of a forward of B sequences leave any ids out? */
static inline int
bert_skipping(const struct bert_model *m, size_t B)
{
	if (m->cfg.pooling == BERT_POOL_CLS || m->cfg.include_prompt)
		return 0;
	for (size_t b = 0; b < B; b++)
		if (m->pool_skip[b])
			return 1;
	return 0;
}

/* Dropout mask: element i of the site seeded by seed is kept iff this is 1
 * (counter-based, so the backward recomputes it instead of storing it).
 * One 64-bit hash gives elements 4q..4q+3 16 bits each; an element is
 * dropped if its bits are below p rounded to a multiple of 2^-16. */
#define BERT_MIX_ADD 0x9e3779b97f4a7c15ull	/* bert_drop's AVX-512 path */
#define BERT_MIX_MUL1 0xbf58476d1ce4e5b9ull	/* uses them too */
#define BERT_MIX_MUL2 0x94d049bb133111ebull
#define BERT_HASH_MUL 0xd6e8feb86659fd93ull
static inline uint64_t
bert_mix(uint64_t z)
{
	z += BERT_MIX_ADD;
	z = (z ^ (z >> 30)) * BERT_MIX_MUL1;
	z = (z ^ (z >> 27)) * BERT_MIX_MUL2;
	return z ^ (z >> 31);
}
static inline uint64_t
bert_hash4(uint64_t seed, size_t q)
{
	return bert_mix(seed ^ ((uint64_t)q * BERT_HASH_MUL));
}
static inline unsigned
bert_drop_thr(float p)
{
	return (unsigned)(p * 65536.0f + 0.5f);
}
static inline int
bert_keep(uint64_t seed, size_t i, float p)
{
	return (bert_hash4(seed, i / 4) >> (16 * (i % 4)) & 0xffff) >=
	    bert_drop_thr(p);
}
/* y[i] = bert_keep(seed, base + i, p) ? x[i]/(1-p) : 0, i in [0, n); y may
 * be x */
void bert_drop(float *y, const float *x, size_t n, float p, uint64_t seed,
    size_t base);

/* seed of dropout site k (0 emb, 1 attention probs, 2 attention output,
 * 3 FFN output) of layer l (l = L: the embeddings) */
uint64_t bert_site_seed(uint64_t seed, size_t l, int k);

/* ---- layer kernels (forward / backward pairs; backward ADDS into grads),
 * one thread each: bert_forward and bert_backward run their row-block
 * pieces in one parallel region; these are those pieces over all rows, for
 * the finite-difference tests */

/* ids (N), pos (N) -> out (N, C) = wte[id] + wpe[pos] + wtt[0] */
void bert_embed_fwd(float *out, const uint32_t *ids, const size_t *off,
    size_t B, const float *wte, const float *wpe, const float *wtt, size_t C);
void bert_embed_bwd(float *dwte, float *dwpe, float *dwtt, const float *dout,
    const uint32_t *ids, const size_t *off, size_t B, size_t C);

/* x (N,C) -> y (N,C); saves mean, rstd (N) */
void bert_layernorm_fwd(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, size_t N, size_t C, float eps);
void bert_layernorm_bwd(float *dx, float *dg, float *db, const float *dy,
    const float *x, const float *g, const float *mean, const float *rstd,
    size_t N, size_t C);

/* x (N,C) -> y (N,OC) = x w^T + b  (w (OC,C), b (OC) or NULL) */
void bert_linear_fwd(float *y, const float *x, const float *w, const float *b,
    size_t N, size_t C, size_t OC);
void bert_linear_bwd(float *dx, float *dw, float *db, const float *dy,
    const float *x, const float *w, size_t N, size_t C, size_t OC);

/* qkv (N,3C) -> y (N,C); per (sequence, head) over the sequence's own
 * length, scale 1/sqrt(HS).  Nothing is saved: the backward recomputes the
 * softmax probabilities.  scr: bert_attn_scratch(Tmax) floats.  Dropout on
 * the probs when p > 0, element i of (seq b, head h) kept by
 * bert_keep(seed, attoff[b] + h*T_b*T_b + i).  relbias: NULL, or the
 * relative position bias (NH, 2 Tmax-1): score (i, j) of head h gets
 * relbias[h (2 Tmax-1) + Tmax-1 + j-i]. */
void bert_attention_fwd(float *y, float *scr, const float *qkv,
    const size_t *off, const size_t *attoff, size_t B, size_t C, size_t NH,
    size_t Tmax, float p, uint64_t seed, const float *relbias);
/* WRITES dqkv (N,3C), and drelbias (B NH, 2 Tmax-1) if not NULL: the
 * gradient of each (sequence, head)'s bias by relative position */
void bert_attention_bwd(float *dqkv, float *drelbias, float *scr,
    const float *dy, const float *qkv, const size_t *off,
    const size_t *attoff, size_t B, size_t C, size_t NH, size_t Tmax,
    float p, uint64_t seed, const float *relbias);
/* floats of attention scratch per thread */
static inline size_t
bert_attn_scratch(size_t Tmax)
{
	return 3 * Tmax * Tmax;
}

/* exact GELU: y = x/2 (1 + erf(x/sqrt 2)), n elements */
void bert_gelu_fwd(float *y, const float *x, size_t n);
void bert_gelu_bwd(float *dx, const float *dy, const float *x, size_t n);

/* Phi(x) = (1 + erf(x/sqrt 2))/2 and its derivative exp(-x^2/2)/sqrt(2 pi),
 * n elements (vectorized where libm can) */
void bert_phi(float *out, const float *x, size_t n);
void bert_pdf(float *out, const float *x, size_t n);

/* inverted dropout in place: x *= keep/(1-p), keep from hash(seed, i) */
void bert_dropout_fwd(float *x, size_t n, float p, uint64_t seed);
void bert_dropout_bwd(float *dx, size_t n, float p, uint64_t seed);

/* h (N,C) -> pooled (B,C) by cfg pooling mode */
void bert_pool_fwd(float *pooled, const float *h, const size_t *off, size_t B,
    size_t C, int mode);
void bert_pool_bwd(float *dh, const float *dpooled, const float *h,
    const size_t *off, size_t B, size_t C, int mode);

/* x (B,C) -> y = x/max(|x|, 1e-12) (torch F.normalize); saves norm (B) */
void bert_l2norm_fwd(float *y, float *norm, const float *x, size_t B, size_t C);
void bert_l2norm_bwd(float *dx, const float *dy, const float *x,
    const float *norm, size_t B, size_t C);

/* ---- pieces shared by bert_fwd.c and bert_bwd.c */

/* this is thread t of nt (in a parallel region; needs omp.h) */
#ifdef _OPENMP
#define THREAD_ID(nt, t) do { \
	(nt) = (size_t)omp_get_num_threads(); \
	(t) = (size_t)omp_get_thread_num(); \
} while (0)
#else
#define THREAD_ID(nt, t) do { (nt) = 1; (t) = 0; } while (0)
#endif


/* [*lo, *hi): part t of nt of [0, n), part sizes rounded up to q */
static inline void
bert_span(size_t n, size_t q, size_t nt, size_t t, size_t *lo, size_t *hi)
{
	size_t bs = (n + nt - 1) / nt;
	bs = (bs + q - 1) / q * q;
	*lo = t * bs < n ? t * bs : n;
	*hi = *lo + bs < n ? *lo + bs : n;
}
/* softmax probabilities (T, T) of head h of one sequence, whose qkv rows
 * start at qkv; bias: NULL, or head h's relative position bias at relative
 * position 0 (score (i, j) gets bias[j - i]) */
void bert_attn_probs(float *s, const float *qkv, size_t T, size_t C,
    size_t NH, size_t h, const float *bias);
/* y[i] = gelu(x[i]), i in [i0, i1) */
void bert_rows_gelu(float *y, const float *x, size_t i0, size_t i1);

#endif
