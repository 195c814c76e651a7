/* texts: a whole tokens stream (embtune(7)) held in memory, with its ids
 * indexed, for the tools that look texts up by id (mine-negatives, and
 * train's evaluation set). */
#ifndef TEXTS_H
#define TEXTS_H

#include <stddef.h>
#include <stdint.h>

#include "mine.h"

/* text i has ids[off[i] .. off[i+1]) and id pool + idoff[i] */
struct texts {
	const char *path;
	char *model, *vocab;
	uint64_t max_len;
	uint64_t prompt_len;	/* header "prompt_len", 0 if absent */
	size_t n, cap;
	size_t *off, *idoff;
	uint32_t *ids;
	size_t nids, idscap;
	char *pool;
	size_t pooln, poolcap;
	struct mine_idmap map;
};

/* Read the stream at path (NULL or "-": stdin).  Exits 65 naming the record on bad data or a repeated id, 66 if
 * path cannot be opened. */
void texts_read(struct texts *t, const char *path);
void texts_free(struct texts *t);
/* Index of the text with this id, or -1 */
long texts_find(const struct texts *t, const char *id);
static inline const char *
texts_id(const struct texts *t, size_t i)
{
	return t->pool + t->idoff[i];
}

#endif
