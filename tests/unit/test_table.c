/* test_table.c - the live trace table: events, totals, lookups, memory. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "memsnap.h"

static const uint64_t stack_a[] = { 0x401000, 0x402000, 0x403000 };
static const uint64_t stack_b[] = { 0x401100, 0x402000, 0x403000 };

static int setup(void **state)
{
	*state = ms_table_new(NULL);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	ms_table_free(*state);
	return 0;
}

static void alloc_ok(ms_table *t, uint32_t domain, uint64_t addr,
		     uint64_t size, const uint64_t *pcs, uint32_t n)
{
	ms_error err;

	assert_int_equal(ms_table_alloc(t, domain, addr, size, pcs, n, n, &err), 0);
}

static void test_alloc_then_lookup_returns_size_and_stack(void **state)
{
	ms_table *t = *state;
	ms_block b;

	alloc_ok(t, 0, 0x1000, 24, stack_a, 3);
	assert_int_equal(ms_table_lookup(t, 0, 0x1000, &b), 0);
	assert_int_equal(b.size, 24);
	assert_int_equal(b.npcs, 3);
	assert_int_equal(b.pcs[0], 0x401000);
	assert_int_equal(b.pcs[2], 0x403000);
	assert_int_equal(ms_table_lookup(t, 1, 0x1000, &b), -MS_ENOTFOUND);
	assert_int_equal(ms_table_count(t), 1);
}

static void test_free_removes_block_and_updates_totals(void **state)
{
	ms_table *t = *state;
	ms_domain_stats ds;
	ms_error err;

	alloc_ok(t, 0, 0x1000, 100, stack_a, 3);
	alloc_ok(t, 0, 0x2000, 50, stack_b, 3);
	assert_int_equal(ms_table_free_block(t, 0, 0x1000, &err), 0);
	ds = ms_table_domain_stats(t, 0);
	assert_int_equal(ds.count, 1);
	assert_int_equal(ds.size, 50);
	assert_int_equal(ds.peak_size, 150);
	assert_int_equal(ds.unknown_frees, 0);
}

static void test_free_of_unknown_block_is_counted(void **state)
{
	ms_table *t = *state;
	ms_error err;

	assert_int_equal(ms_table_free_block(t, 0, 0xdead0, &err), -MS_ENOTFOUND);
	assert_int_equal(err.code, MS_ENOTFOUND);
	assert_string_equal(err.message, "no live block at 0xdead0 in domain 0");
	assert_int_equal(ms_table_domain_stats(t, 0).unknown_frees, 1);
}

static void test_same_address_in_two_domains_are_two_blocks(void **state)
{
	ms_table *t = *state;
	ms_block b;

	alloc_ok(t, 0, 0x5000, 4096, stack_a, 3);
	alloc_ok(t, 2, 0x5000, 64, stack_b, 3);
	assert_int_equal(ms_table_count(t), 2);
	assert_int_equal(ms_table_lookup(t, 2, 0x5000, &b), 0);
	assert_int_equal(b.size, 64);
	assert_int_equal(ms_table_ndomains(t), 3);
	assert_int_equal(ms_table_domain_stats(t, 1).count, 0);
}

static void test_realloc_moves_and_resizes(void **state)
{
	ms_table *t = *state;
	ms_block b;
	ms_error err;

	alloc_ok(t, 0, 0x1000, 10, stack_a, 3);
	assert_int_equal(ms_table_realloc(t, 0, 0x1000, 0x8000, 1000, stack_b,
					  3, 3, &err), 0);
	assert_int_equal(ms_table_lookup(t, 0, 0x1000, &b), -MS_ENOTFOUND);
	assert_int_equal(ms_table_lookup(t, 0, 0x8000, &b), 0);
	assert_int_equal(b.size, 1000);
	assert_int_equal(b.pcs[0], 0x401100);
	assert_int_equal(ms_table_domain_stats(t, 0).size, 1000);
	assert_int_equal(ms_table_domain_stats(t, 0).peak_size, 1000);
	assert_int_equal(ms_table_domain_stats(t, 0).unknown_frees, 0);
}

static void test_realloc_in_place_keeps_one_block(void **state)
{
	ms_table *t = *state;
	ms_error err;

	alloc_ok(t, 0, 0x1000, 10, stack_a, 3);
	assert_int_equal(ms_table_realloc(t, 0, 0x1000, 0x1000, 20, stack_a,
					  3, 3, &err), 0);
	assert_int_equal(ms_table_count(t), 1);
	assert_int_equal(ms_table_domain_stats(t, 0).size, 20);
}

static void test_realloc_of_unknown_block_counts_as_new(void **state)
{
	ms_table *t = *state;
	ms_error err;

	assert_int_equal(ms_table_realloc(t, 0, 0x1000, 0x2000, 20, stack_a,
					  3, 3, &err), 0);
	assert_int_equal(ms_table_count(t), 1);
	assert_int_equal(ms_table_domain_stats(t, 0).unknown_frees, 1);
	assert_int_equal(ms_table_domain_stats(t, 0).size, 20);
}

static void test_alloc_over_live_block_replaces_it(void **state)
{
	ms_table *t = *state;

	alloc_ok(t, 0, 0x1000, 10, stack_a, 3);
	alloc_ok(t, 0, 0x1000, 30, stack_b, 3);
	assert_int_equal(ms_table_count(t), 1);
	assert_int_equal(ms_table_replaced(t), 1);
	assert_int_equal(ms_table_domain_stats(t, 0).size, 30);
	assert_int_equal(ms_table_domain_stats(t, 0).count, 1);
}

static void test_equal_stacks_share_one_traceback(void **state)
{
	ms_table *t = *state;
	ms_error err;

	alloc_ok(t, 0, 0x1000, 1, stack_a, 3);
	alloc_ok(t, 0, 0x2000, 1, stack_a, 3);
	alloc_ok(t, 0, 0x3000, 1, stack_b, 3);
	assert_int_equal(ms_table_ntracebacks(t), 2);
	/* same PCs but another depth before truncation is another traceback */
	assert_int_equal(ms_table_alloc(t, 0, 0x4000, 1, stack_a, 3, 9, &err), 0);
	assert_int_equal(ms_table_ntracebacks(t), 3);
}

static void test_find_containing_picks_the_smallest_block(void **state)
{
	ms_table *t = *state;
	ms_block b;

	alloc_ok(t, 1, 0x10000, 0x10000, stack_a, 3);   /* an mmap */
	alloc_ok(t, 2, 0x10100, 0x100, stack_b, 3);     /* pool block inside */
	alloc_ok(t, 0, 0x30000, 0, stack_a, 3);         /* malloc(0) */
	assert_int_equal(ms_table_find_containing(t, 0x101ff, &b), 0);
	assert_int_equal(b.domain, 2);
	assert_int_equal(ms_table_find_containing(t, 0x10200, &b), 0);
	assert_int_equal(b.domain, 1);
	assert_int_equal(ms_table_find_containing(t, 0x30000, &b), 0);
	assert_int_equal(b.size, 0);
	assert_int_equal(ms_table_find_containing(t, 0x20000, &b), -MS_ENOTFOUND);
	assert_int_equal(ms_table_find_containing(t, 0xffff, &b), -MS_ENOTFOUND);
}

static void test_bad_arguments_are_refused(void **state)
{
	ms_table *t = *state;
	ms_error err;

	assert_int_equal(ms_table_alloc(t, MS_DOMAIN_MAX + 1, 0x1000, 1,
					stack_a, 3, 3, &err), -MS_EINVAL);
	assert_int_equal(ms_table_alloc(t, 0, 0x1000, MS_SIZE_MAX + 1,
					stack_a, 3, 3, &err), -MS_EINVAL);
	assert_int_equal(ms_table_alloc(t, 0, 0x1000, 1, stack_a, 3, 2, &err),
			 -MS_EINVAL);
	assert_string_equal(err.message, "bad traceback: 3 frames, total 2");
	assert_int_equal(ms_table_count(t), 0);
}

/* Many blocks in and out in a pseudo-random order: the table must agree
 * with a plain array model at every step (probing and backward-shift
 * deletion across growth and shrinking). */
static void test_random_churn_matches_model(void **state)
{
	ms_table *t = *state;
	enum { N = 50000 };
	uint64_t *size = calloc(N, sizeof(*size));
	uint64_t live = 0, bytes = 0, x = 88172645463325252ull;
	ms_block b;
	ms_error err;

	assert_non_null(size);
	for (int step = 0; step < 400000; step++) {
		uint64_t k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = x % N;
		if (size[k]) {
			assert_int_equal(ms_table_free_block(t, 0, k * 16 + 0x10000, &err), 0);
			bytes -= size[k];
			size[k] = 0;
			live--;
		} else {
			size[k] = 1 + (x >> 40) % 1000;
			alloc_ok(t, 0, k * 16 + 0x10000, size[k], stack_a, 1 + (k & 1));
			bytes += size[k];
			live++;
		}
		if (step % 50000 == 0 || step > 399990) {
			assert_int_equal(ms_table_count(t), live);
			assert_int_equal(ms_table_domain_stats(t, 0).size, bytes);
		}
	}
	for (uint64_t k = 0; k < N; k++) {
		int rc = ms_table_lookup(t, 0, k * 16 + 0x10000, &b);

		if (size[k]) {
			assert_int_equal(rc, 0);
			assert_int_equal(b.size, size[k]);
		} else {
			assert_int_equal(rc, -MS_ENOTFOUND);
		}
	}
	free(size);
}

static int count_cb(void *arg, const ms_block *b)
{
	(*(uint64_t *)arg) += b->size;
	return 0;
}

static void test_one_million_blocks_cost_at_most_40_bytes_each(void **state)
{
	ms_table *t = *state;
	uint64_t sum = 0;

	for (uint64_t i = 0; i < 1000000; i++)
		alloc_ok(t, 0, 0x7f0000000000ull + i * 32, 8, stack_a, 3);
	assert_int_equal(ms_table_count(t), 1000000);
	assert_true(ms_table_memory_blocks(t) <= 40u * 1000000);
	assert_int_equal(ms_table_foreach(t, count_cb, &sum), 0);
	assert_int_equal(sum, 8000000);
}

static void test_clear_forgets_everything(void **state)
{
	ms_table *t = *state;
	ms_block b;

	alloc_ok(t, 3, 0x1000, 10, stack_a, 3);
	ms_table_clear(t);
	assert_int_equal(ms_table_count(t), 0);
	assert_int_equal(ms_table_ntracebacks(t), 0);
	assert_int_equal(ms_table_ndomains(t), 0);
	assert_int_equal(ms_table_lookup(t, 3, 0x1000, &b), -MS_ENOTFOUND);
	alloc_ok(t, 0, 0x1000, 10, stack_a, 3);
	assert_int_equal(ms_table_count(t), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_alloc_then_lookup_returns_size_and_stack),
		T(test_free_removes_block_and_updates_totals),
		T(test_free_of_unknown_block_is_counted),
		T(test_same_address_in_two_domains_are_two_blocks),
		T(test_realloc_moves_and_resizes),
		T(test_realloc_in_place_keeps_one_block),
		T(test_realloc_of_unknown_block_counts_as_new),
		T(test_alloc_over_live_block_replaces_it),
		T(test_equal_stacks_share_one_traceback),
		T(test_find_containing_picks_the_smallest_block),
		T(test_bad_arguments_are_refused),
		T(test_random_churn_matches_model),
		T(test_one_million_blocks_cost_at_most_40_bytes_each),
		T(test_clear_forgets_everything),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
