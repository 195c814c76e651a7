/* adamw: torch.optim.AdamW (decoupled weight decay, bias correction),
 * global gradient-norm clipping (torch.nn.utils.clip_grad_norm_) and the
 * Hugging Face linear schedule with warm-up
 * (transformers.get_linear_schedule_with_warmup). */
#ifndef ADAMW_H
#define ADAMW_H

#include <stddef.h>

struct adamw_hp {
	float lr;		/* peak learning rate (2e-5) */
	float beta1, beta2;	/* 0.9, 0.999 */
	float eps;		/* 1e-8 */
	float wd;		/* weight decay (0.01), for tensors that get it */
};

void adamw_defaults(struct adamw_hp *hp);

/* One AdamW step t (1-based) at learning rate lr on n parameters:
 *   p -= lr wd p                       (only if decay)
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps) */
void adamw_update(float *p, float *m, float *v, const float *g, size_t n,
    const struct adamw_hp *hp, float lr, int decay, long t);
/* The same as naive loops in double, for tests. */
void adamw_update_ref(float *p, float *m, float *v, const float *g, size_t n,
    const struct adamw_hp *hp, float lr, int decay, long t);

/* Global L2 norm of g (n); if it exceeds max_norm, scale g by
 * max_norm/(norm + 1e-6) as torch does.  max_norm <= 0: no clipping.
 * Returns the norm before clipping. */
double adamw_clip(float *g, size_t n, double max_norm);

/* Learning-rate multiplier for optimizer step `step` (0-based) of `total`
 * with `warmup` warm-up steps: step/warmup during warm-up, then linear
 * decay to 0 at total. */
double adamw_schedule(long step, long warmup, long total);

#endif
