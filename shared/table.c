/* table.c - the live trace set: (domain, address) -> (size, traceback).
 *
 * Memory is the constraint here (a server may hold tens of millions of live
 * blocks), so a block costs one 16-byte slot (address; size and domain packed
 * into one word) plus a 4-byte traceback id in a parallel array, in an open
 * addressing table kept between 57% and 85% full: 23 to 35 bytes per block.
 * Linear probing with backward-shift deletion needs no tombstones, so a
 * long-running target that allocates and frees forever never degrades it.
 * The table size is not a power of two (growth by 1.5x keeps the slack low);
 * a hash is mapped onto it with a multiply-high. */
#include "config.h"
#include "memsnapP.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY_TB UINT32_MAX
#define SIZE_BITS 48
#define SIZE_MASK ((UINT64_C(1) << SIZE_BITS) - 1)
/* load factor bounds, in 1/100 */
#define MAX_LOAD 85
#define MIN_LOAD 30

typedef struct slot {
	uint64_t address;
	uint64_t size_domain;  /* size | domain << 48 */
} slot;

typedef struct tb_rec {
	uint32_t first;         /* index into pcs */
	uint32_t npcs;
	uint32_t total_nframe;
	uint32_t hash;
} tb_rec;

struct ms_table {
	slot *slots;
	uint32_t *slot_tb;      /* EMPTY_TB marks a free slot */
	size_t cap, count;

	/* interned tracebacks */
	uint64_t *pcs;
	size_t npcs, pcs_cap;
	tb_rec *tbs;
	size_t ntbs, tbs_cap;
	uint32_t *tb_index;     /* open addressing, id + 1, 0 = empty */
	size_t tb_index_cap;    /* power of two */

	ms_domain_stats *domains;
	size_t ndomains;
	uint64_t replaced;
};

static inline size_t slot_of(uint64_t h, size_t cap)
{
	return (size_t)(((unsigned __int128)h * cap) >> 64);
}

static inline uint64_t key_hash(uint32_t domain, uint64_t address)
{
	return ms__hash64(address ^ ((uint64_t)domain << 48) ^
			  UINT64_C(0x2545f4914f6cdd1d));
}

static inline uint32_t slot_domain(const slot *s)
{
	return (uint32_t)(s->size_domain >> SIZE_BITS);
}

static inline uint64_t slot_size(const slot *s)
{
	return s->size_domain & SIZE_MASK;
}

ms_table *ms_table_new(ms_error *err)
{
	ms_table *t = calloc(1, sizeof(*t));

	if (!t) {
		ms__nomem(err, "creating the trace table");
		return NULL;
	}
	return t;
}

void ms_table_free(ms_table *t)
{
	if (!t)
		return;
	ms_table_clear(t);
	free(t);
}

void ms_table_clear(ms_table *t)
{
	free(t->slots);
	free(t->slot_tb);
	free(t->pcs);
	free(t->tbs);
	free(t->tb_index);
	free(t->domains);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------ tracebacks */

static uint32_t pcs_hash(const uint64_t *pcs, uint32_t n, uint32_t total)
{
	uint64_t h = ms__hash_bytes(pcs, (size_t)n * sizeof(*pcs), total);

	return (uint32_t)(h ^ (h >> 32));
}

static int tb_index_rehash(ms_table *t, size_t ncap)
{
	uint32_t *idx = ms__calloc_array(ncap, sizeof(*idx));

	if (!idx)
		return -MS_ENOMEM;
	for (size_t id = 0; id < t->ntbs; id++) {
		size_t i = t->tbs[id].hash & (ncap - 1);

		while (idx[i])
			i = (i + 1) & (ncap - 1);
		idx[i] = (uint32_t)id + 1;
	}
	free(t->tb_index);
	t->tb_index = idx;
	t->tb_index_cap = ncap;
	return 0;
}

/* Scratch-then-intern: the caller's PCs are hashed and looked up; they are
 * copied only when the traceback is new. */
static int64_t traceback_intern(ms_table *t, const uint64_t *pcs, uint32_t n,
				uint32_t total, ms_error *err)
{
	uint32_t h = pcs_hash(pcs, n, total);
	size_t i;

	if ((t->ntbs + 1) * 4 > t->tb_index_cap * 3) {
		size_t ncap = t->tb_index_cap ? t->tb_index_cap * 2 : 1024;

		if (tb_index_rehash(t, ncap) < 0)
			return ms__nomem(err, "interning a traceback");
	}
	i = h & (t->tb_index_cap - 1);
	while (t->tb_index[i]) {
		const tb_rec *r = &t->tbs[t->tb_index[i] - 1];

		if (r->hash == h && r->npcs == n && r->total_nframe == total &&
		    memcmp(t->pcs + r->first, pcs, n * sizeof(*pcs)) == 0)
			return t->tb_index[i] - 1;
		i = (i + 1) & (t->tb_index_cap - 1);
	}
	if (t->ntbs >= UINT32_MAX - 1 || t->npcs + n > UINT32_MAX)
		return ms__fail(err, MS_ELIMIT, "too many distinct tracebacks");
	if (ms__grow((void **)&t->pcs, &t->pcs_cap, t->npcs + n,
		     sizeof(*t->pcs)) < 0 ||
	    ms__grow((void **)&t->tbs, &t->tbs_cap, t->ntbs + 1,
		     sizeof(*t->tbs)) < 0)
		return ms__nomem(err, "interning a traceback");
	memcpy(t->pcs + t->npcs, pcs, n * sizeof(*pcs));
	t->tbs[t->ntbs] = (tb_rec){ (uint32_t)t->npcs, n, total, h };
	t->npcs += n;
	t->tb_index[i] = (uint32_t)t->ntbs + 1;
	return (int64_t)t->ntbs++;
}

/* ------------------------------------------------------------ blocks */

static int resize(ms_table *t, size_t ncap)
{
	slot *ns = ms__malloc_array(ncap, sizeof(*ns));
	uint32_t *ntb = ms__malloc_array(ncap, sizeof(*ntb));

	if (!ns || !ntb) {
		free(ns);
		free(ntb);
		return -MS_ENOMEM;
	}
	memset(ntb, 0xff, ncap * sizeof(*ntb));
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (t->slot_tb[i] == EMPTY_TB)
			continue;
		j = slot_of(key_hash(slot_domain(&t->slots[i]),
				     t->slots[i].address), ncap);
		while (ntb[j] != EMPTY_TB)
			j = j + 1 == ncap ? 0 : j + 1;
		ns[j] = t->slots[i];
		ntb[j] = t->slot_tb[i];
	}
	free(t->slots);
	free(t->slot_tb);
	t->slots = ns;
	t->slot_tb = ntb;
	t->cap = ncap;
	return 0;
}

/* Index of the slot holding (domain, address), or of the empty slot where it
 * would go; *found tells which. */
static size_t probe(const ms_table *t, uint32_t domain, uint64_t address,
		    bool *found)
{
	size_t i = slot_of(key_hash(domain, address), t->cap);

	for (;;) {
		if (t->slot_tb[i] == EMPTY_TB) {
			*found = false;
			return i;
		}
		if (t->slots[i].address == address &&
		    slot_domain(&t->slots[i]) == domain) {
			*found = true;
			return i;
		}
		i = i + 1 == t->cap ? 0 : i + 1;
	}
}

static ms_domain_stats *domain_stats(ms_table *t, uint32_t domain,
				     ms_error *err)
{
	if (domain >= t->ndomains) {
		size_t n = (size_t)domain + 1;
		ms_domain_stats *d = ms__realloc_array(t->domains, n,
						       sizeof(*d));

		if (!d) {
			ms__nomem(err, "adding a domain");
			return NULL;
		}
		memset(d + t->ndomains, 0, (n - t->ndomains) * sizeof(*d));
		t->domains = d;
		t->ndomains = n;
	}
	return &t->domains[domain];
}

/* Backward-shift deletion: pull later members of the probe run into the
 * hole so that lookups never need tombstones. */
static void remove_slot(ms_table *t, size_t hole)
{
	size_t i = hole;

	for (;;) {
		size_t home;

		i = i + 1 == t->cap ? 0 : i + 1;
		if (t->slot_tb[i] == EMPTY_TB)
			break;
		home = slot_of(key_hash(slot_domain(&t->slots[i]),
					t->slots[i].address), t->cap);
		/* move i into the hole when the hole lies between its home
		 * and i (cyclically): its probe run would pass the hole */
		if ((i + t->cap - home) % t->cap >=
		    (i + t->cap - hole) % t->cap) {
			t->slots[hole] = t->slots[i];
			t->slot_tb[hole] = t->slot_tb[i];
			hole = i;
		}
	}
	t->slot_tb[hole] = EMPTY_TB;
	t->count--;
	if (t->cap > 1024 && t->count * 100 < t->cap * MIN_LOAD)
		resize(t, t->count * 100 / 60 + 64); /* failure: stay big */
}

static int check_args(uint32_t domain, uint64_t size, uint32_t npcs,
		      uint32_t total_nframe, ms_error *err)
{
	if (domain > MS_DOMAIN_MAX)
		return ms__fail(err, MS_EINVAL, "domain %u out of range (max %u)",
				domain, MS_DOMAIN_MAX);
	if (size > MS_SIZE_MAX)
		return ms__fail(err, MS_EINVAL,
				"block size %llu exceeds the address space",
				(unsigned long long)size);
	if (npcs > MS_MAX_FRAMES || total_nframe < npcs)
		return ms__fail(err, MS_EINVAL,
				"bad traceback: %u frames, total %u", npcs,
				total_nframe);
	return 0;
}

int ms_table_alloc(ms_table *t, uint32_t domain, uint64_t address,
		   uint64_t size, const uint64_t *pcs, uint32_t npcs,
		   uint32_t total_nframe, ms_error *err)
{
	ms_domain_stats *ds;
	int64_t tb;
	size_t i;
	bool found;
	int rc = check_args(domain, size, npcs, total_nframe, err);

	if (rc < 0)
		return rc;
	if ((t->count + 1) * 100 > t->cap * MAX_LOAD) {
		size_t ncap = t->cap < 1024 ? 1024 : t->cap + t->cap / 2;

		if (resize(t, ncap) < 0)
			return ms__nomem(err, "growing the trace table");
	}
	ds = domain_stats(t, domain, err);
	if (!ds)
		return -MS_ENOMEM;
	tb = traceback_intern(t, pcs, npcs, total_nframe, err);
	if (tb < 0)
		return (int)tb;
	i = probe(t, domain, address, &found);
	if (found) {
		/* the free of the old block was missed: replace it */
		ds->size -= slot_size(&t->slots[i]);
		ds->count--;
		t->replaced++;
	} else {
		t->count++;
	}
	t->slots[i].address = address;
	t->slots[i].size_domain = size | (uint64_t)domain << SIZE_BITS;
	t->slot_tb[i] = (uint32_t)tb;
	ds->count++;
	ds->size += size;
	if (ds->size > ds->peak_size)
		ds->peak_size = ds->size;
	return 0;
}

int ms_table_free_block(ms_table *t, uint32_t domain, uint64_t address,
			ms_error *err)
{
	ms_domain_stats *ds;
	bool found = false;
	size_t i = 0;

	if (domain > MS_DOMAIN_MAX)
		return ms__fail(err, MS_EINVAL, "domain %u out of range",
				domain);
	ds = domain_stats(t, domain, err);
	if (!ds)
		return -MS_ENOMEM;
	if (t->cap)
		i = probe(t, domain, address, &found);
	if (!found) {
		ds->unknown_frees++;
		return ms__fail(err, MS_ENOTFOUND,
				"no live block at 0x%llx in domain %u",
				(unsigned long long)address, domain);
	}
	ds->size -= slot_size(&t->slots[i]);
	ds->count--;
	remove_slot(t, i);
	return 0;
}

int ms_table_realloc(ms_table *t, uint32_t domain, uint64_t old_address,
		     uint64_t new_address, uint64_t new_size,
		     const uint64_t *pcs, uint32_t npcs, uint32_t total_nframe,
		     ms_error *err)
{
	int rc = check_args(domain, new_size, npcs, total_nframe, err);

	if (rc < 0)
		return rc;
	rc = ms_table_free_block(t, domain, old_address, err);
	if (rc < 0 && rc != -MS_ENOTFOUND)
		return rc;
	/* an unknown old block was counted as an unknown free; the result
	 * is a new block either way */
	return ms_table_alloc(t, domain, new_address, new_size, pcs, npcs,
			      total_nframe, err);
}

static void fill_block(const ms_table *t, size_t i, ms_block *out)
{
	const tb_rec *r = &t->tbs[t->slot_tb[i]];

	out->domain = slot_domain(&t->slots[i]);
	out->address = t->slots[i].address;
	out->size = slot_size(&t->slots[i]);
	out->pcs = t->pcs + r->first;
	out->npcs = r->npcs;
	out->total_nframe = r->total_nframe;
}

int ms_table_lookup(const ms_table *t, uint32_t domain, uint64_t address,
		    ms_block *out)
{
	bool found = false;
	size_t i = 0;

	if (t->cap)
		i = probe(t, domain, address, &found);
	if (!found)
		return -MS_ENOTFOUND;
	fill_block(t, i, out);
	return 0;
}

int ms_table_find_containing(const ms_table *t, uint64_t addr, ms_block *out)
{
	size_t best = SIZE_MAX;

	for (size_t i = 0; i < t->cap; i++) {
		const slot *s = &t->slots[i];
		uint64_t size;

		if (t->slot_tb[i] == EMPTY_TB || s->address > addr)
			continue;
		size = slot_size(s);
		if (addr - s->address < size ||
		    (size == 0 && addr == s->address)) {
			if (best == SIZE_MAX ||
			    size < slot_size(&t->slots[best]) ||
			    (size == slot_size(&t->slots[best]) &&
			     slot_domain(s) < slot_domain(&t->slots[best])))
				best = i;
		}
	}
	if (best == SIZE_MAX)
		return -MS_ENOTFOUND;
	fill_block(t, best, out);
	return 0;
}

int ms_table_foreach(const ms_table *t, ms_block_cb cb, void *arg)
{
	for (size_t i = 0; i < t->cap; i++) {
		ms_block b;
		int rc;

		if (t->slot_tb[i] == EMPTY_TB)
			continue;
		fill_block(t, i, &b);
		rc = cb(arg, &b);
		if (rc)
			return rc;
	}
	return 0;
}

size_t ms_table_count(const ms_table *t)
{
	return t->count;
}

ms_domain_stats ms_table_domain_stats(const ms_table *t, uint32_t domain)
{
	ms_domain_stats zero = { 0, 0, 0, 0 };

	return domain < t->ndomains ? t->domains[domain] : zero;
}

uint32_t ms_table_ndomains(const ms_table *t)
{
	return (uint32_t)t->ndomains;
}

uint64_t ms_table_replaced(const ms_table *t)
{
	return t->replaced;
}

size_t ms_table_ntracebacks(const ms_table *t)
{
	return t->ntbs;
}

size_t ms_table_memory_blocks(const ms_table *t)
{
	return t->cap * (sizeof(slot) + sizeof(uint32_t));
}

size_t ms_table_memory_tracebacks(const ms_table *t)
{
	return t->pcs_cap * sizeof(*t->pcs) + t->tbs_cap * sizeof(*t->tbs) +
	       t->tb_index_cap * sizeof(*t->tb_index);
}

/* ------------------------------------------------------------ capture */

int ms__table_copy(const ms_table *t, ms__trace **traces, size_t *ntraces,
		   uint64_t **pcs, size_t *npcs, ms__traceback **tbs,
		   size_t *ntbs, ms_error *err)
{
	ms__trace *tr = ms__malloc_array(t->count, sizeof(*tr));
	uint64_t *p = ms__malloc_array(t->npcs, sizeof(*p));
	ms__traceback *b = ms__malloc_array(t->ntbs, sizeof(*b));
	size_t n = 0;

	if (!tr || !p || !b) {
		free(tr);
		free(p);
		free(b);
		return ms__nomem(err, "copying the live traces");
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slot_tb[i] == EMPTY_TB)
			continue;
		tr[n].address = t->slots[i].address;
		tr[n].size = slot_size(&t->slots[i]);
		tr[n].domain = slot_domain(&t->slots[i]);
		tr[n].traceback = t->slot_tb[i];
		n++;
	}
	if (t->npcs)
		memcpy(p, t->pcs, t->npcs * sizeof(*p));
	for (size_t i = 0; i < t->ntbs; i++)
		b[i] = (ms__traceback){ t->tbs[i].first, t->tbs[i].npcs,
					t->tbs[i].total_nframe };
	*traces = tr;
	*ntraces = n;
	*pcs = p;
	*npcs = t->npcs;
	*tbs = b;
	*ntbs = t->ntbs;
	return 0;
}
