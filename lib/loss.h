/* loss: sentence-embedding training losses, forward + backward, on the
 * model's output embeddings (pooled, and normalized if the model
 * normalizes), with sentence-transformers' definitions:
 *
 *   mnrl         MultipleNegativesRankingLoss: scale 20, cosine similarity,
 *                in-batch negatives plus the row's hard negatives
 *                (symmetric: MultipleNegativesSymmetricRankingLoss)
 *   cmnrl        the same loss; the caller runs the model in mini-batches
 *                (GradCache) -- the loss itself is identical
 *   cosine       CosineSimilarityLoss: MSE of cos(a, b) against the label
 *   cosent       CoSENTLoss, scale 20
 *   triplet      TripletLoss: euclidean distance (or 1 - cos), margin 5
 *   contrastive  ContrastiveLoss: cosine distance, margin 0.5,
 *                0.5 (y d^2 + (1 - y) relu(m - d)^2), mean
 *   gist         GISTEmbedLoss: cross-entropy over cos / temperature (0.01)
 *                of anchor i against every positive and negative, every
 *                anchor and (from positive i) every positive; a candidate
 *                that a frozen guide model scores above its own
 *                cos(anchor i, positive i) less the margin (absolute:
 *                margin 0; relative: |cos| margin) is left out, except
 *                positive i itself
 *   cgist        CachedGISTEmbedLoss: the same loss, GradCache as cmnrl
 *
 * and MatryoshkaLoss around any of them: the sum over dims of the loss on
 * embeddings truncated to dim and L2-normalized again.
 *
 * Layout: a batch of B rows of K texts is one embedding matrix emb (K*B, C)
 * in column blocks: row b's text k is at emb + (k*B + b)*C (anchors first,
 * then positives, then negatives), as sentence-transformers embeds each
 * column separately. */
#ifndef LOSS_H
#define LOSS_H

#include <stddef.h>

enum loss_kind {
	LOSS_MNRL,
	LOSS_CMNRL,
	LOSS_COSINE,
	LOSS_COSENT,
	LOSS_TRIPLET,
	LOSS_CONTRASTIVE,
	LOSS_GIST,
	LOSS_CGIST,
	LOSS_NKIND
};

#define LOSS_MAXDIMS 16

struct loss_cfg {
	int kind;		/* enum loss_kind */
	float scale;		/* mnrl, cmnrl, cosent (20); gist, cgist:
				 * 1 / temperature (100) */
	float margin;		/* triplet (5), contrastive (0.5), gist (0) */
	int relative;		/* gist: margin relative to the guide's cos */
	size_t guide_C;		/* gist: width of the guide's embeddings */
	int symmetric;		/* mnrl, cmnrl: add the doc-to-query direction */
	int cosine;		/* triplet: 1 - cos instead of euclidean */
	size_t ndims;		/* matryoshka dims (0: off) */
	size_t dims[LOSS_MAXDIMS];
	float weights[LOSS_MAXDIMS];
};

/* Defaults for kind (scale, margin as sentence-transformers has them). */
void loss_defaults(struct loss_cfg *lc, int kind);
/* "mnrl", ... -> LOSS_*, or -1 */
int loss_kind(const char *name);
const char *loss_name(int kind);
/* sentence-transformers' class name, for messages and model metadata */
const char *loss_st_name(const struct loss_cfg *lc);

/* Does data with Kmin to K texts per row (each batch of one width;
 * has_label: rows carry "label") fit the loss?  0 if so; otherwise -1,
 * with a description of what the loss needs in *need ("(anchor,
 * positive[, negatives...]) rows"). */
int loss_fits(int kind, size_t Kmin, size_t K, int has_label,
    const char **need);
/* The losses (names, comma separated) that fit such data, e.g.
 * "mnrl, cmnrl, triplet" (static buffer). */
const char *loss_fitting(size_t Kmin, size_t K, int has_label);

/* Floats of scratch loss_fwd_bwd needs for B rows of K texts of width C. */
size_t loss_scratch(const struct loss_cfg *lc, size_t B, size_t K, size_t C);

/* emb (K*B, C), label (B) or NULL, guide (K*B, lc->guide_C): the guide
 * model's embeddings of the same texts (gist, cgist; else NULL) -> returns
 * the loss (mean over rows, as sentence-transformers); if demb is not NULL
 * ADDS dloss/demb (K*B, C).  scratch: loss_scratch() floats.  Never
 * allocates. */
double loss_fwd_bwd(float *demb, float *scratch, const struct loss_cfg *lc,
    const float *emb, const float *guide, const float *label, size_t B,
    size_t K, size_t C);

/* The pieces, for tests.  All ADD into their gradients (which may be NULL
 * for a forward only).  x (B, C) -> y = x / max(|x|, 1e-12); saves norm. */
void loss_l2norm_fwd(float *y, float *norm, const float *x, size_t B,
    size_t C, size_t ldx);
void loss_l2norm_bwd(float *dx, const float *dy, const float *y,
    const float *norm, size_t B, size_t C, size_t ldx);

#endif
