/* st: safetensors files (https://github.com/huggingface/safetensors):
 * 8-byte little-endian header length, a JSON header {name: {dtype, shape,
 * data_offsets}, "__metadata__": {str: str}}, then the raw data.
 * Reading mmaps the file; F32, F16 and BF16 convert to float32.
 * Writing is atomic (util_tmpout/util_commit) and always F32. */
#ifndef ST_H
#define ST_H

#include <stddef.h>
#include <stdint.h>

enum st_dtype { ST_F32, ST_F16, ST_BF16, ST_OTHER };

struct st_tensor {
	char *name;
	int dtype;		/* enum st_dtype */
	char dtype_name[8];	/* as in the header, e.g. "I64" */
	size_t ndim, shape[8], numel;
	const unsigned char *data;	/* into the mapping */
	size_t nbytes;
};

struct st_file {
	char *path;
	void *map;
	size_t maplen;
	struct st_tensor *t;
	size_t n;
};

/* Map and parse path; exits 66 if it cannot be opened, 65 if malformed. */
void st_open(struct st_file *f, const char *path);
void st_close(struct st_file *f);
/* The tensor called name, or NULL. */
const struct st_tensor *st_find(const struct st_file *f, const char *name);
/* Convert a float tensor (F32/F16/BF16) into dst (numel floats); 0 on
 * success, -1 for another dtype.  The tensor's file pages are then given
 * back (madvise), so that a model is resident once, not twice, while it
 * loads. */
int st_read_f32(float *dst, const struct st_tensor *t);

/* A tensor to write: name, shape, float32 data. */
struct st_out {
	const char *name;
	size_t ndim, shape[4];
	const float *data;
};
/* Write n tensors to path atomically, with a __metadata__ dict from the
 * NULL-terminated key, value, key, value, ... list meta (may be NULL).
 * Exits 73 if the file cannot be created, 74 on a write error. */
void st_write(const char *path, const struct st_out *t, size_t n,
    const char *const *meta);

/* float16 bit pattern -> float (bfloat16: bf16_to_float, bf16.h) */
float st_f16(uint16_t h);

#endif
