/* libFuzzer: the safetensors reader (lib/st). */
#include "fuzz.h"
#include "st.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct st_file f;
	static int fd;
	char path[64];

	fuzz_fd_base();
	fuzz_json_track();
	fd = fuzz_memfd(data, size, path, sizeof path);
	memset(&f, 0, sizeof f);
	FUZZ_TRY {
		st_open(&f, path);
		for (size_t i = 0; i < f.n; i++) {
			const struct st_tensor *t = &f.t[i];
			if (st_find(&f, t->name) == NULL || t->ndim > 8 ||
			    t->data < (const unsigned char *)f.map ||
			    t->data + t->nbytes >
			    (const unsigned char *)f.map + f.maplen)
				abort();
			float *dst = xmalloc((t->numel ? t->numel : 1) *
			    sizeof *dst);
			if (st_read_f32(dst, t) == 0)
				fuzz_touch(dst, t->numel * sizeof *dst);
			free(dst);
		}
	}
	st_close(&f);
	if (fuzz_status != 0)
		fuzz_json_sweep();	/* the header st_open was reading */
	close(fd);
	fuzz_fd_sweep();
	return 0;
}
