/* remote_unwind.c - see remote_unwind.h.
 *
 * The stock _UPT accessors read every word with PTRACE_PEEKDATA and cost
 * about 2 ms per 15-frame unwind. Here registers come from the stop, the
 * stack from one process_vm_readv taken at the stop, read-only module pages
 * (unwind tables) from a page cache, and libunwind's own caches are on, so
 * a warm unwind is a few microseconds. Finding unwind tables stays with
 * _UPT_find_proc_info, which reads /proc/PID/maps and the module files
 * (no ptrace). A frame-pointer walk is the fallback.
 *
 * An unwind is a function of what it reads: registers, words of the stack
 * copy, and module pages (constant while the modules stay; a change of
 * modules flushes). One that read nothing else is remembered with its
 * inputs; a later stop with the same rip and rsp whose registers and stack
 * words read are the same gets the same frames without unwinding again (a
 * loop allocating from one call site). The check compares every input, so
 * the frames stay exact. What is remembered is libunwind's frames before
 * wrappers are skipped and before truncation, so the caller's wrapper
 * ranges and max may change between unwinds. */
#include "config.h"

#include "remote_unwind.h"

#include <libunwind-ptrace.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define STACK_COPY (64 * 1024)
#define STACK_COPY_MIN (2 * 1024)
#define PAGE 4096u
#define PAGE_CACHE 256

typedef struct ro_range {
	uint64_t start, end;
} ro_range;

#define MEMO_SLOTS 64
#define MEMO_WORDS 192

typedef struct unwind_inputs {
	bool fit;                  /* read nothing but the inputs below */
	uint32_t regs;             /* bit set of the UNW_X86_64_* read */
	uint32_t nwords;
	uint32_t off[MEMO_WORDS];  /* offsets in the stack copy */
	uint64_t val[MEMO_WORDS];
} unwind_inputs;

typedef struct memo {
	uint64_t rip, rsp;         /* rip 0: empty */
	uint32_t max_depth;
	struct user_regs_struct regs;
	unwind_inputs in;
	uint32_t nips, cap;
	uint64_t *ips;             /* libunwind's frames, as is */
} memo;

struct ms_unwinder {
	pid_t pid;
	ms_unwind_read_fn read;
	void *read_arg;
	unw_addr_space_t as;
	void *upt;
	/* the stop being unwound */
	const struct user_regs_struct *regs;
	uint64_t stack_lo;
	size_t stack_len;
	/* bytes copied per stop: grows when an unwind reads past it (every
	 * page pinned costs) */
	size_t copy_size;
	uint8_t stack[STACK_COPY];
	/* file mappings: the pages libunwind reads there are cached */
	ro_range *ro;
	size_t nro;
	bool maps_fresh;   /* re-read at most once per unwind */
	uint64_t page_addr[PAGE_CACHE];
	uint8_t page[PAGE_CACHE][PAGE];
	unwind_inputs in;          /* of the unwind running */
	uint64_t *ips;             /* its frames */
	uint32_t ips_cap;
	memo memo[MEMO_SLOTS];
	uint64_t remembered;
	ms_unwind_hooks hooks;
};

/* libunwind passes _UPT_find_proc_info's argument (the UPT handle) back to
 * access_mem, not ours, so the accessors find the unwinder here (one
 * thread unwinds at a time). */
static ms_unwinder *current;

static int target_read(ms_unwinder *u, uint64_t addr, void *buf, size_t len)
{
	return u->read(u->read_arg, addr, buf, len);
}

static void read_maps(ms_unwinder *u)
{
	char path[64], line[512];
	FILE *f;

	u->nro = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)u->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char perms[8];
		/* file mappings: what libunwind reads there (tables,
		 * relocated personality pointers) never changes */
		if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) != 3 ||
		    !strchr(line, '/'))
			continue;
		ro_range *v = realloc(u->ro, (u->nro + 1) * sizeof(*v));
		if (!v)
			break;
		u->ro = v;
		u->ro[u->nro].start = s;
		u->ro[u->nro++].end = e;
	}
	fclose(f);
}

static bool read_only(ms_unwinder *u, uint64_t addr)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < u->nro; i++)
			if (addr >= u->ro[i].start && addr < u->ro[i].end)
				return true;
		if (u->maps_fresh)
			return false;
		read_maps(u);
		u->maps_fresh = true;
	}
	return false;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
		      int write, void *arg)
{
	ms_unwinder *u = current;
	uint64_t page = addr & ~(uint64_t)(PAGE - 1);
	size_t slot;

	if (write)
		return -UNW_EINVAL;
	if (addr >= u->stack_lo && addr - u->stack_lo + 8 <= u->stack_len) {
		memcpy(val, u->stack + (addr - u->stack_lo), 8);
		if (u->in.nwords < MEMO_WORDS) {
			u->in.off[u->in.nwords] = (uint32_t)(addr - u->stack_lo);
			u->in.val[u->in.nwords++] = *val;
		} else {
			u->in.fit = false;
		}
		return 0;
	}
	if (addr >= u->stack_lo && addr - u->stack_lo < STACK_COPY &&
	    u->stack_len == u->copy_size && u->copy_size < STACK_COPY)
		u->copy_size *= 2;
	if (addr - page > PAGE - 8 || !read_only(u, addr)) {
		u->in.fit = false;
		return target_read(u, addr, val, 8) < 0 ? -UNW_EINVAL : 0;
	}
	slot = (page / PAGE) % PAGE_CACHE;
	if (u->page_addr[slot] != page) {
		u->page_addr[slot] = 0;
		if (target_read(u, page, u->page[slot], PAGE) < 0)
			return target_read(u, addr, val, 8) < 0 ?
				       -UNW_EINVAL : 0;
		u->page_addr[slot] = page;
	}
	memcpy(val, u->page[slot] + (addr - page), 8);
	return 0;
}

static bool reg_value(const struct user_regs_struct *r, int reg,
		      uint64_t *val)
{
	switch (reg) {
	case UNW_X86_64_RAX: *val = r->rax; break;
	case UNW_X86_64_RDX: *val = r->rdx; break;
	case UNW_X86_64_RCX: *val = r->rcx; break;
	case UNW_X86_64_RBX: *val = r->rbx; break;
	case UNW_X86_64_RSI: *val = r->rsi; break;
	case UNW_X86_64_RDI: *val = r->rdi; break;
	case UNW_X86_64_RBP: *val = r->rbp; break;
	case UNW_X86_64_RSP: *val = r->rsp; break;
	case UNW_X86_64_R8: *val = r->r8; break;
	case UNW_X86_64_R9: *val = r->r9; break;
	case UNW_X86_64_R10: *val = r->r10; break;
	case UNW_X86_64_R11: *val = r->r11; break;
	case UNW_X86_64_R12: *val = r->r12; break;
	case UNW_X86_64_R13: *val = r->r13; break;
	case UNW_X86_64_R14: *val = r->r14; break;
	case UNW_X86_64_R15: *val = r->r15; break;
	case UNW_X86_64_RIP: *val = r->rip; break;
	default: return false;
	}
	return true;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val,
		      int write, void *arg)
{
	uint64_t v;

	if (write)
		return -UNW_EINVAL;
	if (!reg_value(current->regs, reg, &v))
		return -UNW_EBADREG;
	*val = v;
	current->in.regs |= 1u << reg;
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg,
			unw_fpreg_t *val, int write, void *arg)
{
	return -UNW_EBADREG;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip,
			  unw_proc_info_t *pi, int need_unwind_info, void *arg)
{
	return _UPT_find_proc_info(as, ip, pi, need_unwind_info,
				   current->upt);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi,
			    void *arg)
{
	_UPT_put_unwind_info(as, pi, current->upt);
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr,
				  void *arg)
{
	return -UNW_ENOINFO; /* no JIT-registered unwind info */
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf,
			 size_t len, unw_word_t *off, void *arg)
{
	return -UNW_ENOINFO;
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = NULL,
	.get_proc_name = get_proc_name,
};

ms_unwinder *ms_unwinder_new(pid_t pid, ms_unwind_read_fn read,
			     void *read_arg)
{
	ms_unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->pid = pid;
	u->read = read;
	u->read_arg = read_arg;
	u->copy_size = STACK_COPY_MIN;
	u->as = unw_create_addr_space(&accessors, 0);
	u->upt = _UPT_create(pid);
	if (!u->as || !u->upt) {
		ms_unwinder_free(u);
		return NULL;
	}
	/* per-thread: the global cache takes a lock with every signal
	 * masked, two sigprocmask calls per lookup; one thread unwinds */
	unw_set_caching_policy(u->as, UNW_CACHE_PER_THREAD);
	return u;
}

void ms_unwinder_free(ms_unwinder *u)
{
	if (!u)
		return;
	if (u->as)
		unw_destroy_addr_space(u->as);
	if (u->upt)
		_UPT_destroy(u->upt);
	for (int i = 0; i < MEMO_SLOTS; i++)
		free(u->memo[i].ips);
	free(u->ips);
	free(u->ro);
	free(u);
}

void ms_unwinder_set_hooks(ms_unwinder *u, const ms_unwind_hooks *hooks)
{
	if (hooks)
		u->hooks = *hooks;
	else
		memset(&u->hooks, 0, sizeof(u->hooks));
}

uint64_t ms_unwinder_remembered(const ms_unwinder *u)
{
	return u->remembered;
}

void ms_unwinder_flush(ms_unwinder *u)
{
	for (int i = 0; i < MEMO_SLOTS; i++)
		u->memo[i].rip = 0;
	unw_flush_cache(u->as, 0, 0);
	memset(u->page_addr, 0, sizeof(u->page_addr));
	u->nro = 0;
}

static void copy_stack(ms_unwinder *u, pid_t tid, uint64_t sp)
{
	size_t size = u->copy_size;
	struct iovec local = { u->stack, size };
	struct iovec remote[STACK_COPY / PAGE + 2] = { { 0 } };
	uint64_t a = sp;
	int n = 0;
	ssize_t got;

	/* One iovec per page: the read stops at the end of the stack
	 * mapping instead of failing as a whole. */
	while (a < sp + size) {
		uint64_t end = (a & ~(uint64_t)(PAGE - 1)) + PAGE;
		if (end > sp + size)
			end = sp + size;
		remote[n].iov_base = (void *)(uintptr_t)a;
		remote[n++].iov_len = end - a;
		a = end;
	}
	got = process_vm_readv(tid, &local, 1, remote, (unsigned long)n, 0);
	if (got <= 0) {
		/* not allowed (another tracer's ptrace scope rules): page by
		 * page through the caller's reader */
		got = 0;
		for (int i = 0; i < n; i++) {
			if (target_read(u, (uint64_t)(uintptr_t)remote[i].iov_base,
					u->stack + got, remote[i].iov_len) < 0)
				break;
			got += (ssize_t)remote[i].iov_len;
		}
	}
	u->stack_lo = sp;
	u->stack_len = got > 0 ? (size_t)got : 0;
}

const char *const ms_unwind_wrapper_names[] = {
	"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
	"_ZnwmSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t",
	"_ZnamSt11align_val_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
	"strdup", "__strdup", "strndup", "__strndup", "wcsdup",
	NULL,
};

bool ms_unwind_is_wrapper_name(const char *name)
{
	for (size_t i = 0; ms_unwind_wrapper_names[i]; i++)
		if (strcmp(name, ms_unwind_wrapper_names[i]) == 0)
			return true;
	return false;
}

typedef struct wrappers {
	ms_unwind_wrapper_fn fn;
	void *arg;
	bool leading;      /* still in the leading frames */
} wrappers;

static uint32_t push_pc(wrappers *w, uint64_t pc, uint64_t *pcs,
			uint32_t max, uint32_t *depth)
{
	/* Leading frames inside allocation wrappers are not the caller's. */
	if (w->leading && w->fn && w->fn(w->arg, pc - 1))
		return 0;
	w->leading = false;
	if (*depth < max)
		pcs[*depth] = pc;
	(*depth)++;
	return 1;
}

static uint32_t frame_pointer_walk(ms_unwinder *u,
				   const struct user_regs_struct *regs,
				   wrappers w, uint64_t *pcs, uint32_t max,
				   uint32_t max_depth, uint32_t *total)
{
	uint64_t ret, fp = regs->rbp, next[2];
	uint32_t depth = 0;

	*total = 0;
	if (target_read(u, regs->rsp, &ret, 8) < 0)
		return 0;
	push_pc(&w, ret, pcs, max, &depth);
	/* rbp is still the caller's at the entry of the callee */
	for (uint32_t i = 0; i < max_depth && fp > regs->rsp && !(fp & 7);
	     i++) {
		if (fp - u->stack_lo + 16 <= u->stack_len)
			memcpy(next, u->stack + (fp - u->stack_lo), 16);
		else if (target_read(u, fp, next, 16) < 0)
			break;
		if (!next[1])
			break;
		push_pc(&w, next[1], pcs, max, &depth);
		if (next[0] <= fp)
			break;
		fp = next[0];
	}
	*total = depth;
	return depth < max ? depth : max;
}

uint64_t ms_unwinder_return_address(const ms_unwinder *u)
{
	uint64_t ret = 0;

	if (u->stack_len >= 8)
		memcpy(&ret, u->stack, 8);
	return ret;
}

static memo *memo_slot(ms_unwinder *u, const struct user_regs_struct *regs)
{
	uint64_t h = (regs->rip ^ (regs->rsp >> 3)) * 0x9e3779b97f4a7c15ull;

	return &u->memo[h >> 58];
}

static bool memo_matches(const ms_unwinder *u, const memo *m,
			 const struct user_regs_struct *regs,
			 uint32_t max_depth)
{
	uint64_t a, b;

	if (m->rip != regs->rip || m->rsp != regs->rsp ||
	    m->max_depth != max_depth)
		return false;
	for (int r = 0; r < 32; r++)
		if ((m->in.regs & (1u << r)) &&
		    (!reg_value(regs, r, &a) || !reg_value(&m->regs, r, &b) ||
		     a != b))
			return false;
	for (uint32_t i = 0; i < m->in.nwords; i++)
		if (m->in.off[i] + 8 > u->stack_len ||
		    memcmp(u->stack + m->in.off[i], &m->in.val[i], 8) != 0)
			return false;
	return true;
}

static void memo_store(ms_unwinder *u, memo *m, uint32_t nips,
		       uint32_t max_depth)
{
	if (m->cap < nips) {
		uint64_t *v = realloc(m->ips, nips * sizeof(*v));
		if (!v) {
			m->rip = 0;
			return;
		}
		m->ips = v;
		m->cap = nips;
	}
	m->rip = u->regs->rip;
	m->rsp = u->regs->rsp;
	m->max_depth = max_depth;
	m->regs = *u->regs;
	m->in = u->in;
	m->nips = nips;
	memcpy(m->ips, u->ips, nips * sizeof(*u->ips));
}

/* libunwind's frames into u->ips, the allocator's own left out; how many,
 * or -1 when the frame-pointer walk must answer instead. */
static int64_t unwind_cfi(ms_unwinder *u, uint32_t max_depth)
{
	unw_cursor_t c;
	unw_word_t ip;
	uint32_t n = 0;

	if (u->ips_cap < max_depth) {
		uint64_t *v = realloc(u->ips, max_depth * sizeof(*v));
		if (!v)
			return -1;
		u->ips = v;
		u->ips_cap = max_depth;
	}
	if (unw_init_remote(&c, u->as, u) < 0)
		return -1;
	/* frame 0 is the allocator itself */
	for (uint32_t i = 0; i < max_depth && unw_step(&c) > 0; i++) {
		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0)
			break;
		/* Without unwind tables for the allocator (a static
		 * executable has no .eh_frame_hdr) libunwind guesses: its
		 * first frame must be the return address at [rsp]. */
		if (i == 0 && u->stack_len >= 8 &&
		    memcmp(&ip, u->stack, 8) != 0)
			return -1;
		u->ips[n++] = ip;
	}
	return n;
}

uint32_t ms_unwinder_unwind(ms_unwinder *u, pid_t tid,
			    const struct user_regs_struct *regs,
			    ms_unwind_wrapper_fn wrapper, void *wrapper_arg,
			    uint64_t *pcs, uint32_t max, uint32_t max_depth,
			    uint32_t *total)
{
	wrappers w = { wrapper, wrapper_arg, true };
	const uint64_t *ips;
	uint32_t depth = 0, nips;
	int64_t n;
	memo *m;

	current = u;
	u->regs = regs;
	u->maps_fresh = false;
	copy_stack(u, tid, regs->rsp);
	if (u->hooks.copied)
		u->hooks.copied(u->hooks.arg);
	m = memo_slot(u, regs);
	if (memo_matches(u, m, regs, max_depth)) {
		u->remembered++;
		ips = m->ips;
		nips = m->nips;
	} else {
		u->in.fit = true;
		u->in.regs = 0;
		u->in.nwords = 0;
		/* the check of the first frame reads [rsp] */
		if (u->stack_len >= 8) {
			u->in.off[u->in.nwords] = 0;
			memcpy(&u->in.val[u->in.nwords++], u->stack, 8);
		}
		if (u->hooks.enter)
			u->hooks.enter(u->hooks.arg);
		n = unwind_cfi(u, max_depth);
		if (u->hooks.leave)
			u->hooks.leave(u->hooks.arg);
		if (n <= 0)
			return frame_pointer_walk(u, regs, w, pcs, max,
						  max_depth, total);
		ips = u->ips;
		nips = (uint32_t)n;
		if (u->in.fit)
			memo_store(u, m, nips, max_depth);
	}
	for (uint32_t i = 0; i < nips; i++)
		push_pc(&w, ips[i], pcs, max, &depth);
	/* nothing but wrappers: as if libunwind had given nothing */
	if (depth == 0)
		return frame_pointer_walk(u, regs, w, pcs, max, max_depth,
					  total);
	*total = depth;
	return depth < max ? depth : max;
}
