/* t_adamw: AdamW against a naive double-precision reference, gradient
 * clipping as torch.nn.utils.clip_grad_norm_, and the linear schedule. */
#include "adamw.h"
#include "check.h"

#define N 1000

static void
steps(int decay)
{
	static float p[N], m[N], v[N], g[N], pr[N], mr[N], vr[N];
	struct adamw_hp hp;
	char name[80];

	adamw_defaults(&hp);
	hp.lr = 1e-3f;
	hp.wd = 0.1f;
	check_fill(p, N, 1.0f);
	memcpy(pr, p, sizeof p);
	memset(m, 0, sizeof m), memset(v, 0, sizeof v);
	memset(mr, 0, sizeof mr), memset(vr, 0, sizeof vr);
	for (long t = 1; t <= 10; t++) {
		check_fill(g, N, t == 3 ? 1e-6f : 0.5f);	/* tiny: eps matters */
		float lr = hp.lr * (float)adamw_schedule(t - 1, 2, 10);
		adamw_update(p, m, v, g, N, &hp, lr, decay, t);
		adamw_update_ref(pr, mr, vr, g, N, &hp, lr, decay, t);
	}
	snprintf(name, sizeof name, "adamw decay=%d: params after 10 steps",
	    decay);
	check_close(name, p, pr, N, 1e-7, 1e-5);
	snprintf(name, sizeof name, "adamw decay=%d: m", decay);
	check_close(name, m, mr, N, 1e-7, 1e-5);
	snprintf(name, sizeof name, "adamw decay=%d: v", decay);
	check_close(name, v, vr, N, 1e-12, 1e-5);
}

/* first step from zero state by hand: m = 0.1 g, v = 0.001 g^2,
 * mhat = g, vhat = g^2 -> p -= lr g/(|g| + eps) (after decay) */
static void
first_step(void)
{
	struct adamw_hp hp;
	float p[3] = {1, -2, 0.5f}, m[3] = {0}, v[3] = {0};
	float g[3] = {0.5f, -0.25f, 2};
	float want[3];

	adamw_defaults(&hp);
	for (int i = 0; i < 3; i++)
		want[i] = (float)(p[i] * (1 - 0.1 * 0.01) -
		    0.1 * g[i] / (fabs(g[i]) + 1e-8));
	adamw_update(p, m, v, g, 3, &hp, 0.1f, 1, 1);
	check_close("adamw: first step by hand", p, want, 3, 1e-7, 1e-6);
}

static void
clip(void)
{
	static float g[N], want[N];
	double s = 0;

	check_fill(g, N, 1.0f);
	for (int i = 0; i < N; i++)
		s += (double)g[i] * g[i];
	double norm = sqrt(s), c = 1.0 / (norm + 1e-6);
	for (int i = 0; i < N; i++)
		want[i] = (float)(g[i] * c);
	double got = adamw_clip(g, N, 1.0);
	float fg = (float)got, fw = (float)norm;
	check_close("clip: returns the norm before clipping", &fg, &fw, 1, 0,
	    1e-6);
	check_close("clip: scales by max/(norm + 1e-6)", g, want, N, 0, 1e-6);
	memcpy(want, g, sizeof g);
	adamw_clip(g, N, 10.0);
	check_close("clip: below the maximum, unchanged", g, want, N, 0, 0);
	adamw_clip(g, N, 0);
	check_close("clip: max 0 disables", g, want, N, 0, 0);
}

static void
schedule(void)
{
	/* transformers.get_linear_schedule_with_warmup(opt, 3, 10) */
	static const float want[12] = {0, 1.0f / 3, 2.0f / 3, 1, 6.0f / 7,
	    5.0f / 7, 4.0f / 7, 3.0f / 7, 2.0f / 7, 1.0f / 7, 0, 0};
	float got[12];
	for (int i = 0; i < 12; i++)
		got[i] = (float)adamw_schedule(i, 3, 10);
	check_close("schedule: warm-up 3 of 10", got, want, 12, 1e-7, 0);
	float nw[4], nwant[4] = {1, 0.75f, 0.5f, 0.25f};
	for (int i = 0; i < 4; i++)
		nw[i] = (float)adamw_schedule(i, 0, 4);
	check_close("schedule: no warm-up", nw, nwant, 4, 1e-7, 0);
}

int
main(void)
{
	for (int it = 0; it < check_iters(1); it++) {
		steps(1);
		steps(0);
	}
	first_step();
	clip();
	schedule();
	return check_done();
}
