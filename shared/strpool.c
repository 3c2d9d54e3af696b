/* strpool.c - interned strings of a snapshot. */
#include "config.h"
#include "memsnapP.h"

#include <stdlib.h>
#include <string.h>

int ms__strpool_init(ms__strpool *p, ms_error *err)
{
	memset(p, 0, sizeof(*p));
	if (ms__strpool_intern(p, "", 0, err) < 0) {
		ms__strpool_destroy(p);
		return -MS_ENOMEM;
	}
	return 0;
}

void ms__strpool_destroy(ms__strpool *p)
{
	free(p->data);
	free(p->offsets);
	free(p->index);
	memset(p, 0, sizeof(*p));
}

void ms__strpool_freeze(ms__strpool *p)
{
	free(p->index);
	p->index = NULL;
	p->index_cap = 0;
}

static uint64_t str_hash(const char *s, size_t len)
{
	return ms__hash_bytes(s, len, UINT64_C(0x5bd1e9955bd1e995));
}

static int rehash(ms__strpool *p, size_t ncap)
{
	uint32_t *idx = ms__calloc_array(ncap, sizeof(*idx));

	if (!idx)
		return -MS_ENOMEM;
	for (size_t id = 0; id < p->count; id++) {
		const char *s = p->data + p->offsets[id];
		size_t i = str_hash(s, strlen(s)) & (ncap - 1);

		while (idx[i])
			i = (i + 1) & (ncap - 1);
		idx[i] = (uint32_t)id + 1;
	}
	free(p->index);
	p->index = idx;
	p->index_cap = ncap;
	return 0;
}

int64_t ms__strpool_intern(ms__strpool *p, const char *s, size_t len,
			   ms_error *err)
{
	size_t i;
	uint64_t h;

	if (memchr(s, '\0', len))
		len = strlen(s);
	if (len > UINT32_MAX / 2 || p->len + len + 1 > UINT32_MAX)
		return ms__fail(err, MS_ELIMIT, "string pool exceeds 4 GiB");
	if (p->count >= UINT32_MAX - 1)
		return ms__fail(err, MS_ELIMIT, "too many strings");
	/* the index is rebuilt lazily: a loader may intern into a frozen pool */
	if (!p->index_cap || (p->count + 1) * 4 > p->index_cap * 3) {
		size_t ncap = p->index_cap ? p->index_cap * 2 : 64;

		while ((p->count + 1) * 4 > ncap * 3)
			ncap *= 2;
		if (rehash(p, ncap) < 0)
			return ms__nomem(err, "interning strings");
	}
	h = str_hash(s, len);
	i = h & (p->index_cap - 1);
	while (p->index[i]) {
		uint32_t id = p->index[i] - 1;
		const char *t = p->data + p->offsets[id];

		if (strncmp(t, s, len) == 0 && t[len] == '\0')
			return id;
		i = (i + 1) & (p->index_cap - 1);
	}
	if (ms__grow((void **)&p->data, &p->cap, p->len + len + 1, 1) < 0 ||
	    ms__grow((void **)&p->offsets, &p->offsets_cap, p->count + 1,
		     sizeof(*p->offsets)) < 0)
		return ms__nomem(err, "interning strings");
	memcpy(p->data + p->len, s, len);
	p->data[p->len + len] = '\0';
	p->offsets[p->count] = (uint32_t)p->len;
	p->len += len + 1;
	p->index[i] = (uint32_t)p->count + 1;
	return (int64_t)p->count++;
}
