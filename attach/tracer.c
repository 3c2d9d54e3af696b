/* tracer.c - threads, events and the ptrace loop of the attacher.
 *
 * Every thread is PTRACE_SEIZEd. An allocator call is seen at its entry
 * breakpoint (arguments; the stack is unwound there, before anything is
 * touched) where the return address at [rsp] is swapped for a return stub
 * of the scratch page (by the thread itself: the tracer only points rip at
 * an arming entry) and kept on the thread's shadow stack. The stub
 * stores rax and jumps back without a stop; its result is collected at the
 * next stop of any thread, before that stop is handled (so a free always
 * sees the allocation it frees); in a single-threaded target, finished
 * calls and the frees after them wait, in order, for one read of the stub
 * data every few dozen calls (retired). With --return-capture trap, or for
 * posix_memalign (its result is in memory the caller may reuse before the
 * next stop), the return address is swapped for the trampoline int3
 * instead, and the result is read at that stop. Only the outermost
 * allocator call of a thread is recorded: a call made while the thread's
 * shadow stack is not empty is the allocator's own. free() is recorded at
 * its entry.
 *
 * Threads are either running or stopped; a stopped thread that is not being
 * handled is "held" (stop_all) and resume_all lets it go, replaying the stop
 * it reported while held. */
#include "config.h"

#include "tracer.h"
#include "mappings.h"
#include "memsnap_symbols.h"
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PTRACE_OPTIONS                                                      \
	(PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |   \
	 PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACEVFORKDONE)

typedef struct shadow_entry {
	uint64_t slot;       /* stack address of the swapped return address */
	uint64_t ret;        /* the real return address */
	enum tracer_fn fn;
	uint64_t args[6];
	uint64_t *pcs;       /* tracer->frames PCs, most recent first */
	uint32_t npcs, total;
	int stub;            /* return stub index, -1: the trampoline */
} shadow_entry;

typedef struct thread {
	pid_t tid;
	bool stopped;        /* in a ptrace stop we have not resumed */
	bool has_pending;    /* stop reported while held, to replay */
	int pending;
	bool exiting;        /* PTRACE_EVENT_EXIT seen */
	shadow_entry *shadow;
	size_t nshadow, shadow_cap;
} thread;

/* A call of a single-threaded target that has finished (its frame is
 * gone: it returned through its stub, or left by longjmp), or a free after
 * it, waiting for the read of the stub data that settles them in order. */
typedef struct retired {
	bool is_free;
	uint64_t addr;       /* of the free */
	shadow_entry e;      /* of the call */
} retired;
#define RETIRED_MAX 64

/* A fork or vfork child: its first stop and its parent's event come in
 * either order; it is handled once both are in. */
typedef struct child {
	pid_t pid;
	pid_t parent_tid;
	int kind;            /* 0 = not announced yet, PTRACE_EVENT_(V)FORK */
	bool stopped;
} child;

/* Allocators: the one the program's modules resolve to at the set-up, and
 * those of modules dlopen'd later (reached through dlsym or a
 * RTLD_DEEPBIND library). */
#define MAX_ALLOCATORS 4

typedef struct module_id {
	char *path;
	uint64_t bias;
} module_id;

typedef struct dl_allocator {
	module_id module;
	uint64_t addrs[FN_COUNT];   /* its breakpoints */
	size_t naddrs;
} dl_allocator;

typedef struct tracer {
	const tracer_options *o;
	pid_t pid;
	target_mem mem;
	thread *threads;
	size_t nthreads, threads_cap;
	child *children;
	size_t nchildren, children_cap;
	symbols sym;
	bool tracing;          /* breakpoints set up */
	breakpoint bps[FN_COUNT * MAX_ALLOCATORS];
	size_t nbps;
	uint64_t next_slot;    /* the next free out-of-line slot */
	module_id *initial;    /* the modules at the set-up */
	size_t ninitial;
	dl_allocator dlalloc[MAX_ALLOCATORS - 1];
	size_t ndlalloc;
	uint64_t scratch;
	unwinder *unw;
	ms_table *table;
	mappings maps;         /* extents of the blocks of domain 1 */
	ms_dwfl *dwfl;
	bool stub_used[NSTUBS];
	uint64_t stub_done[NSTUBS]; /* returns seen through each stub */
	retired retired[RETIRED_MAX];
	size_t nretired;
	unsigned narmed;       /* stubs in use */
	uint64_t entry_addr;   /* temporary breakpoint at the exec entry */
	uint8_t entry_orig;
	uint64_t rbrk_addr;    /* int3 on the dynamic linker's r_brk */
	uint8_t rbrk_orig;
	uint64_t rdebug_addr;  /* its r_debug */
	bool stopping;         /* stop_all in progress: hold what stops */
	thread *stepper;       /* single-stepping a displaced insn */
	breakpoint *step_bp;
	thread *vforker;       /* vfork in progress, breakpoints out */
	bool ended;
	int exit_code;         /* of the target, for `run` */
	bool exit_dumped;
	int crash_sig;         /* the fatal signal being dumped, 0 when none */
	int crash_code;        /* its si_code */
	pid_t crash_tid;
	uint64_t crash_addr;   /* si_addr when the kernel sent it for a fault */
	bool crash_has_addr;
	siginfo_t crash_si;    /* to deliver exactly what the kernel sent */
	bool crash_has_si;
	unsigned nsnapshots;
	uint64_t events;
	int refusal;           /* exit status of a refusal after the start */
	live_session *live;    /* the live command line (session.c) */
} tracer;

/* Set by signal handlers; the loop acts on them between events. */
static volatile sig_atomic_t want_snapshot, want_detach, want_timer;
static volatile pid_t wake_tid;

bool prof_enabled;
uint64_t prof_ns[PROF_PARTS], prof_n[PROF_PARTS], prof_unwind_memo;

uint64_t prof_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void prof_print(void)
{
	static const char *const names[PROF_PARTS] = {
		"wait", "getregs", "stubs", "stack", "unwind", "arm",
		"record", "setregs", "cont" };
	uint64_t stops = prof_n[PROF_GETREGS], total = 0;

	if (!prof_enabled || !stops)
		return;
	fprintf(stderr, "memsnap: profile: %llu stops, ns per stop:",
		(unsigned long long)stops);
	for (int i = 0; i < PROF_PARTS; i++) {
		fprintf(stderr, " %s %.0f (%llu)", names[i],
			(double)prof_ns[i] / (double)stops,
			(unsigned long long)prof_n[i]);
		total += prof_ns[i];
	}
	fprintf(stderr, " = %.0f; %llu unwinds remembered\n",
		(double)total / (double)stops,
		(unsigned long long)prof_unwind_memo);
}

void tracer_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("memsnap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define VERBOSE(tr, ...)                                                   \
	do {                                                               \
		if ((tr)->o->verbose)                                      \
			tracer_msg(__VA_ARGS__);                           \
	} while (0)

/* ---------------------------------------------------------------- threads */

static thread *find_thread(tracer *tr, pid_t tid)
{
	for (size_t i = 0; i < tr->nthreads; i++)
		if (tr->threads[i].tid == tid)
			return &tr->threads[i];
	return NULL;
}

static thread *add_thread(tracer *tr, pid_t tid)
{
	thread *th = find_thread(tr, tid);

	if (th)
		return th;
	if (tr->nthreads == tr->threads_cap) {
		size_t cap = tr->threads_cap ? tr->threads_cap * 2 : 16;
		ptrdiff_t step = tr->stepper ? tr->stepper - tr->threads : -1;
		ptrdiff_t vf = tr->vforker ? tr->vforker - tr->threads : -1;
		thread *v = realloc(tr->threads, cap * sizeof(*v));
		if (!v)
			return NULL;
		tr->threads = v;
		tr->threads_cap = cap;
		/* the two thread pointers the tracer keeps follow the move */
		tr->stepper = step >= 0 ? &v[step] : NULL;
		tr->vforker = vf >= 0 ? &v[vf] : NULL;
	}
	th = &tr->threads[tr->nthreads++];
	memset(th, 0, sizeof(*th));
	th->tid = tid;
	return th;
}

static void free_shadow(thread *th)
{
	for (size_t i = 0; i < th->shadow_cap; i++)
		free(th->shadow[i].pcs);
	free(th->shadow);
	th->shadow = NULL;
	th->nshadow = th->shadow_cap = 0;
}

static void collect_stubs(tracer *tr);
static void pop_shadow(tracer *tr, thread *th);

static void remove_thread(tracer *tr, thread *th)
{
	size_t i;

	if (th->nshadow || tr->nretired) {
		collect_stubs(tr);
		while (th->nshadow)
			pop_shadow(tr, th);
	}
	i = (size_t)(th - tr->threads);
	if (tr->stepper == th)
		tr->stepper = NULL;
	if (tr->vforker == th)
		tr->vforker = NULL;
	free_shadow(th);
	tr->threads[i] = tr->threads[--tr->nthreads];
	if (tr->stepper == &tr->threads[tr->nthreads])
		tr->stepper = th;
	if (tr->vforker == &tr->threads[tr->nthreads])
		tr->vforker = th;
}

static void resume(thread *th, int sig)
{
	if (!th)
		return;
	if (ptrace(PTRACE_CONT, th->tid, 0, sig) == 0 || errno == ESRCH)
		th->stopped = false;
}

static pid_t tgid_of(pid_t tid)
{
	char path[64], line[256];
	FILE *f;
	pid_t tgid = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* ------------------------------------------------------------- recording */

static uint64_t trampoline(const tracer *tr)
{
	return tr->scratch + SCRATCH_TRAMPOLINE;
}

static breakpoint *find_bp(tracer *tr, uint64_t addr)
{
	for (size_t i = 0; i < tr->nbps; i++)
		if (tr->bps[i].addr == addr)
			return &tr->bps[i];
	return NULL;
}

static enum tracer_fn bp_fn(const breakpoint *bp)
{
	/* aliases (aligned_alloc == memalign) behave the same */
	for (int f = 0; f < FN_COUNT; f++)
		if (bp->fns & (1u << f))
			return (enum tracer_fn)f;
	return FN_MALLOC;
}

static void table_error(tracer *tr, int rc, const ms_error *err)
{
	if (rc < 0 && rc != -MS_ENOTFOUND)
		tracer_msg("warning: %s", err->message);
}

static void record_alloc(tracer *tr, uint32_t domain, uint64_t addr,
			 uint64_t size, const shadow_entry *e)
{
	ms_error err;
	int rc;
	uint64_t t0 = prof_start();

	if (size > MS_SIZE_MAX)
		size = MS_SIZE_MAX;
	rc = ms_table_alloc(tr->table, domain, addr, size, e->pcs, e->npcs,
			    e->total, &err);
	prof_mark(PROF_RECORD, t0);
	table_error(tr, rc, &err);
}

static void record_free(tracer *tr, uint32_t domain, uint64_t addr)
{
	ms_error err;
	uint64_t t0 = prof_start();
	int rc = ms_table_free_block(tr->table, domain, addr, &err);

	prof_mark(PROF_RECORD, t0);
	table_error(tr, rc, &err);
}

static void record_realloc(tracer *tr, uint64_t old, uint64_t addr,
			   uint64_t size, const shadow_entry *e,
			   uint32_t domain)
{
	ms_error err;
	int rc;

	if (size > MS_SIZE_MAX)
		size = MS_SIZE_MAX;
	rc = ms_table_realloc(tr->table, domain, old, addr, size, e->pcs,
			      e->npcs, e->total, &err);
	table_error(tr, rc, &err);
}

static bool mul_overflow(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_mul_overflow(a, b, out);
}

/* The mmap, munmap or mremap in e returned rax: the program's anonymous
 * mappings change as the kernel changed them (mappings.h). Unknown
 * mappings (the allocator's own, or older than the attach) stay unknown:
 * their unmaps are not counted as frees of unknown blocks. */
static void record_mapping(tracer *tr, const shadow_entry *e, uint64_t rax)
{
	const uint64_t *a = e->args;
	mapping_stack st = { e->pcs, e->npcs, e->total };
	ms_error err;
	int rc = 0;

	if (e->fn == FN_MMAP && rax < (uint64_t)-4096)
		rc = mappings_mmap(&tr->maps, tr->table, rax, a[1],
				   a[3] & MAP_ANONYMOUS, &st, &err);
	else if (e->fn == FN_MUNMAP && rax == 0)
		rc = mappings_munmap(&tr->maps, tr->table, a[0], a[1], &err);
	else if (e->fn == FN_MREMAP && rax < (uint64_t)-4096)
		rc = mappings_mremap(&tr->maps, tr->table, a[0], a[1], a[2],
				     a[3], rax, &st, &err);
	table_error(tr, rc, &err);
}

/* The call in e returned rax: account for what the allocator did. */
static void record_return(tracer *tr, const shadow_entry *e, uint64_t rax)
{
	const uint64_t *a = e->args;
	uint64_t size, p;

	switch (e->fn) {
	case FN_MALLOC:
	case FN_VALLOC:
		if (rax)
			record_alloc(tr, MS_DOMAIN_MALLOC, rax, a[0], e);
		break;
	case FN_PVALLOC:
		/* pvalloc rounds the size up to whole pages */
		if (rax)
			record_alloc(tr, MS_DOMAIN_MALLOC, rax,
				     (a[0] + 4095) & ~(uint64_t)4095, e);
		break;
	case FN_CALLOC:
		if (rax && !mul_overflow(a[0], a[1], &size))
			record_alloc(tr, MS_DOMAIN_MALLOC, rax, size, e);
		break;
	case FN_ALIGNED_ALLOC:
	case FN_MEMALIGN:
		if (rax)
			record_alloc(tr, MS_DOMAIN_MALLOC, rax, a[1], e);
		break;
	case FN_POSIX_MEMALIGN:
		if (rax == 0 && target_read(&tr->mem, a[0], &p, 8) == 0)
			record_alloc(tr, MS_DOMAIN_MALLOC, p, a[2], e);
		break;
	case FN_REALLOC:
	case FN_REALLOCARRAY:
		if (e->fn == FN_REALLOC)
			size = a[1];
		else if (mul_overflow(a[1], a[2], &size))
			break; /* ENOMEM, the old block is untouched */
		if (a[0] == 0) {
			if (rax)
				record_alloc(tr, MS_DOMAIN_MALLOC, rax, size,
					     e);
		} else if (rax) {
			record_realloc(tr, a[0], rax, size, e,
				       MS_DOMAIN_MALLOC);
		} else if (size == 0) {
			/* glibc's realloc(p, 0) frees p and returns NULL */
			record_free(tr, MS_DOMAIN_MALLOC, a[0]);
		}
		break;
	case FN_MMAP:
	case FN_MUNMAP:
	case FN_MREMAP:
		record_mapping(tr, e, rax);
		break;
	case FN_FREE:
	case FN_COUNT:
		break;
	}
}

/* Entries whose frame is gone (longjmp, exception) without returning
 * through the trampoline: their slot is at or below sp_floor. */
static void pop_shadow(tracer *tr, thread *th)
{
	shadow_entry *e = &th->shadow[--th->nshadow];

	if (e->stub >= 0) {
		tr->stub_used[e->stub] = false;
		tr->narmed--;
		e->stub = -1;
	}
}

static void drop_stale(tracer *tr, thread *th, uint64_t sp_floor)
{
	while (th->nshadow && th->shadow[th->nshadow - 1].slot < sp_floor)
		pop_shadow(tr, th);
}

/* Remove entry k, keeping every entry's PC buffer. */
static void remove_shadow(tracer *tr, thread *th, size_t k)
{
	shadow_entry e = th->shadow[k];

	memmove(&th->shadow[k], &th->shadow[k + 1],
		(th->nshadow - k - 1) * sizeof(e));
	th->shadow[th->nshadow - 1] = e;
	pop_shadow(tr, th);
}

static uint64_t stub_code(const tracer *tr, int i)
{
	return tr->scratch + SCRATCH_STUBS + (uint64_t)i * STUB_SIZE;
}

static uint64_t stub_data_addr(const tracer *tr, int i)
{
	return tr->scratch + SCRATCH_STUB_DATA +
	       (uint64_t)i * sizeof(stub_data);
}

static int alloc_stub(tracer *tr)
{
	for (int i = 0; i < NSTUBS; i++)
		if (!tr->stub_used[i]) {
			tr->stub_used[i] = true;
			tr->narmed++;
			return i;
		}
	return -1;
}

/* Where the thread arms stub i itself at the entry of bp (SCRATCH_ARM). */
static uint64_t arm_entry(const tracer *tr, const breakpoint *bp, int i)
{
	return tr->scratch + SCRATCH_ARM +
	       ((uint64_t)(bp - tr->bps) * ARM_STUBS + (uint64_t)i) *
		       ARM_ENTRY;
}

/* Keep the return address in the stub's data and swap it for the stub,
 * with one write to two places. */
static int arm_stub(tracer *tr, thread *th, const shadow_entry *e)
{
	uint64_t code = stub_code(tr, e->stub), ret = e->ret;
	struct iovec local[2] = { { &ret, 8 }, { &code, 8 } };
	struct iovec remote[2] = {
		{ (void *)(uintptr_t)(stub_data_addr(tr, e->stub) +
				      offsetof(stub_data, ret)), 8 },
		{ (void *)(uintptr_t)e->slot, 8 } };

	if (process_vm_writev(th->tid, local, 2, remote, 2, 0) == 16)
		return 0;
	/* not the stack: a partial write cannot have swapped it */
	return -1;
}

/* The retired calls and frees, in their order; data: the stub data read
 * at a stop of the only thread (NULL: unreadable, the process is gone). */
static void settle_retired(tracer *tr, const stub_data *data)
{
	for (size_t i = 0; i < tr->nretired; i++) {
		retired *r = &tr->retired[i];
		int s = r->e.stub;
		if (r->is_free) {
			record_free(tr, MS_DOMAIN_MALLOC, r->addr);
			continue;
		}
		/* not returned: left by longjmp */
		if (data && data[s].done != tr->stub_done[s]) {
			tr->stub_done[s] = data[s].done;
			record_return(tr, &r->e, data[s].result);
		}
		tr->stub_used[s] = false;
		tr->narmed--;
	}
	tr->nretired = 0;
}

/* Record the calls that returned through a stub since the last stop. */
static void collect_stubs(tracer *tr)
{
	stub_data data[NSTUBS], res[NSTUBS];
	bool any = false, running = false, read;
	uint64_t t0 = prof_start();
	int n = NSTUBS;

	if (!tr->narmed) {
		settle_retired(tr, NULL);
		return;
	}
	while (!tr->stub_used[n - 1])
		n--; /* read the stubs in use, not the page */
	read = target_read(&tr->mem, stub_data_addr(tr, 0), data,
			   n * sizeof(stub_data)) == 0;
	settle_retired(tr, read ? data : NULL);
	if (!read)
		return;
	for (int i = 0; i < n; i++)
		any |= tr->stub_used[i] && data[i].done != tr->stub_done[i];
	for (size_t t = 0; t < tr->nthreads && !running; t++)
		running = !tr->threads[t].stopped;
	/* Other threads run meanwhile: one read can see a stub's done flag
	 * set but its result from before the stub stored it (the read
	 * copies result before done). The stub stores result before done,
	 * so a read made after this one has every result it flagged. With
	 * every thread stopped, every store is in the first read. */
	if (any && !running)
		memcpy(res, data, n * sizeof(stub_data));
	else if (any && target_read(&tr->mem, stub_data_addr(tr, 0), res,
				    n * sizeof(stub_data)) < 0)
		any = false;
	prof_mark(PROF_STUBS, t0);
	if (!any)
		return;
	for (size_t t = 0; t < tr->nthreads; t++) {
		thread *th = &tr->threads[t];
		for (size_t k = th->nshadow; k-- > 0;) {
			shadow_entry *e = &th->shadow[k];
			if (e->stub < 0 ||
			    data[e->stub].done == tr->stub_done[e->stub])
				continue;
			tr->stub_done[e->stub] = data[e->stub].done;
			if (tr->o->verbose > 2 &&
			    res[e->stub].result != data[e->stub].result)
				tracer_msg("%d: stub %d result %#llx read "
					   "before its done flag, now %#llx",
					   (int)th->tid, e->stub,
					   (unsigned long long)
						   data[e->stub].result,
					   (unsigned long long)
						   res[e->stub].result);
			record_return(tr, e, res[e->stub].result);
			remove_shadow(tr, th, k);
		}
	}
}

static shadow_entry *push_shadow(tracer *tr, thread *th)
{
	if (th->nshadow == th->shadow_cap) {
		size_t cap = th->shadow_cap ? th->shadow_cap * 2 : 4;
		shadow_entry *v = realloc(th->shadow, cap * sizeof(*v));
		if (!v)
			return NULL;
		for (size_t i = th->shadow_cap; i < cap; i++) {
			v[i].pcs = malloc(tr->o->frames * sizeof(uint64_t) +
					  8);
			if (!v[i].pcs) {
				th->shadow = v;
				th->shadow_cap = i;
				return NULL;
			}
		}
		th->shadow = v;
		th->shadow_cap = cap;
	}
	return &th->shadow[th->nshadow++];
}

/* Whether th's entry stop may leave the stub data unread: th is the
 * only thread (nothing else can see the order of its events), and there
 * is room for what it retires. */
static bool retiring(const tracer *tr, const thread *th)
{
	return tr->nthreads == 1 && !tr->nchildren && !tr->stepper &&
	       !tr->vforker && tr->narmed + 1 < ARM_STUBS &&
	       tr->nretired + th->nshadow + 1 < RETIRED_MAX;
}

/* The call on top of th's shadow stack has finished: retire it (its
 * result is read later, with the others'), or forget it. */
static void finish_top(tracer *tr, thread *th, bool lazy)
{
	shadow_entry *e = &th->shadow[th->nshadow - 1], tmp;
	uint64_t slot = e->slot;
	retired *r;

	if (lazy && e->stub >= 0 && !tr->retired[tr->nretired].e.pcs &&
	    !(tr->retired[tr->nretired].e.pcs =
		      malloc(tr->o->frames * sizeof(uint64_t) + 8))) {
		collect_stubs(tr); /* records it now if it returned */
		if (!th->nshadow || th->shadow[th->nshadow - 1].slot != slot)
			return;
		e = &th->shadow[th->nshadow - 1];
		lazy = false;
	}
	if (!lazy || e->stub < 0) {
		pop_shadow(tr, th); /* a trampoline's: left by longjmp */
		return;
	}
	r = &tr->retired[tr->nretired++];
	r->is_free = false;
	/* swap the PC buffers: each array keeps its own */
	tmp = r->e;
	r->e = *e;
	*e = tmp;
	th->nshadow--;
}

/* ------------------------------------------------------- stop and resume */

static void handle_status(tracer *tr, pid_t tid, int status);

static int wait_event(tracer *tr)
{
	int status;
	uint64_t t0 = prof_start();
	pid_t tid = waitpid(-1, &status, __WALL);

	prof_mark(PROF_WAIT, t0);
	if (tid < 0)
		return errno == EINTR ? 0 : -1;
	if (tr->o->verbose > 2)
		tracer_msg("wait: %d status %#x", (int)tid, status);
	handle_status(tr, tid, status);
	return 0;
}

static bool thread_exists(const tracer *tr, pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)tr->pid,
		 (int)tid);
	return access(path, F_OK) == 0;
}

/* Stop every thread but except; what they report meanwhile is kept for
 * resume_all. */
static int stop_all(tracer *tr, thread *except)
{
	bool again = true;
	pid_t except_tid = except ? except->tid : 0;

	for (size_t i = tr->nthreads; i-- > 0;) {
		thread *th = &tr->threads[i];
		if (th != except && !th->stopped &&
		    ptrace(PTRACE_INTERRUPT, th->tid, 0, 0) < 0 &&
		    errno == ESRCH && !thread_exists(tr, th->tid))
			/* announced by a clone event after its exit was
			 * reported: nothing will come from it */
			remove_thread(tr, th);
	}
	except = except_tid ? find_thread(tr, except_tid) : NULL;
	tr->stopping = true;
	while (again && !tr->ended) {
		again = false;
		for (size_t i = 0; i < tr->nthreads; i++)
			if (&tr->threads[i] != except &&
			    !tr->threads[i].stopped)
				again = true;
		for (size_t i = 0; i < tr->nchildren; i++)
			if (!tr->children[i].stopped ||
			    (!tr->children[i].kind &&
			     !tr->children[i].parent_tid))
				again = true;
		if (again && wait_event(tr) < 0) {
			tr->stopping = false;
			return -1;
		}
	}
	tr->stopping = false;
	return 0;
}

static void resume_all(tracer *tr)
{
	if (tr->stepper || tr->vforker)
		return; /* they hold the others until they are done */
	/* a replayed stop may start a single-step or a vfork (breakpoints
	 * out): the threads not resumed yet must then stay held */
	for (size_t i = 0; i < tr->nthreads && !tr->stepper && !tr->vforker;
	     i++) {
		thread *th = &tr->threads[i];
		if (!th->stopped)
			continue;
		if (th->has_pending) {
			th->has_pending = false;
			handle_status(tr, th->tid, th->pending);
			/* the thread array may have changed */
		} else {
			resume(th, 0);
		}
	}
}

/* Let the held thread tid run to its next stop, kept like any stop
 * reported while held (stops of children meanwhile are handled as in
 * stop_all). Returns the thread, NULL when it could not run or is gone. */
static thread *run_to_next_stop(tracer *tr, pid_t tid)
{
	thread *th = find_thread(tr, tid);

	if (!th || ptrace(PTRACE_CONT, tid, 0, 0) < 0)
		return NULL;
	th->stopped = false;
	tr->stopping = true;
	while ((th = find_thread(tr, tid)) && !th->stopped)
		if (wait_event(tr) < 0)
			break;
	tr->stopping = false;
	return th;
}

/* A held thread that can run an injected syscall. A thread held in an
 * event stop (clone, vfork, exec, exit) stands inside a syscall whose
 * result the kernel stores after the stop, over what was injected: its
 * pthread_create or posix_spawn would return garbage. A thread in a
 * signal-delivery stop or our interrupt is outside any syscall. */
static bool can_inject(const tracer *tr, const thread *th)
{
	return th->stopped && !th->exiting && th != tr->stepper &&
	       th != tr->vforker && (!th->has_pending || th->pending >> 16 == 0);
}

static void vfork_done(tracer *tr, thread *th);
static child *find_child(tracer *tr, pid_t pid, bool add);
static void release_child(tracer *tr, child *c);

/* Let a thread held in a clone or vfork event finish its syscall and stop
 * again at once, on an interrupt. A vfork child is released first (it
 * must exec or exit before its parent returns), so the breakpoints must
 * be out of the shared memory: not tracing yet, or detaching. */
static bool leave_syscall_event(tracer *tr, thread *th, bool bps_out)
{
	pid_t tid = th->tid;

	for (int n = 0; n < 4 && th && th->has_pending; n++) {
		int event = th->pending >> 16;
		unsigned long cpid;
		child *c;

		if (event == PTRACE_EVENT_VFORK && (bps_out || !tr->tracing) &&
		    ptrace(PTRACE_GETEVENTMSG, tid, 0, &cpid) == 0 &&
		    (c = find_child(tr, (pid_t)cpid, true))) {
			c->kind = event;
			c->parent_tid = tid;
			if (c->stopped)
				release_child(tr, c);
		} else if (event == PTRACE_EVENT_VFORK_DONE) {
			if (!bps_out)
				vfork_done(tr, th);
			else if (tr->vforker == th)
				tr->vforker = NULL; /* they stay out */
		} else if (event != PTRACE_EVENT_CLONE) {
			break;
		}
		if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0)
			return false;
		th->has_pending = false;
		/* a released vfork child's exec or exit comes first */
		th = run_to_next_stop(tr, tid);
	}
	return th && can_inject(tr, th);
}

/* The thread to run injected syscalls in, all threads being held. */
static thread *injector(tracer *tr, bool bps_out)
{
	for (size_t i = 0; i < tr->nthreads; i++)
		if (can_inject(tr, &tr->threads[i]))
			return &tr->threads[i];
	for (size_t i = 0; i < tr->nthreads; i++) {
		pid_t tid = tr->threads[i].tid;
		if (leave_syscall_event(tr, &tr->threads[i], bps_out))
			return find_thread(tr, tid);
	}
	return NULL;
}

/* --------------------------------------------------- breakpoint handling */

/* Write back what changed in regs: most stops change rip alone, and one
 * register costs a third of the whole set. */
static void put_regs(pid_t tid, const struct user_regs_struct *regs,
		     bool rip_only)
{
	if (rip_only)
		ptrace(PTRACE_POKEUSER, tid,
		       offsetof(struct user_regs_struct, rip), regs->rip);
	else
		ptrace(PTRACE_SETREGS, tid, 0, regs);
}

/* via: an arming entry to go through first, 0 when none. */
static void execute_displaced(tracer *tr, thread *th, breakpoint *bp,
			      struct user_regs_struct *regs, uint64_t via)
{
	pid_t tid;
	uint64_t t0;
	bool rip_only = true;

	switch (bp->insn.how) {
	case DISP_EMULATE:
		rip_only = bp->insn.op == EMU_NOP || bp->insn.op == EMU_JMP;
		if (displaced_emulate(&bp->insn, &tr->mem, regs, bp->addr) < 0)
			tracer_msg("warning: emulating %s failed",
				   bp->insn.text);
		break;
	case DISP_OUTOFLINE:
		regs->rip = bp->ool;
		break;
	case DISP_STEP:
		/* The original byte is back only while no other thread
		 * runs, so no call is lost. */
		regs->rip = bp->addr;
		ptrace(PTRACE_SETREGS, th->tid, 0, regs);
		tid = th->tid;
		stop_all(tr, th);
		/* threads came or went meanwhile: the array may have moved */
		if (!(th = find_thread(tr, tid)))
			return;
		target_write(&tr->mem, bp->addr, bp->orig, 1);
		tr->stepper = th;
		tr->step_bp = bp;
		if (ptrace(PTRACE_SINGLESTEP, th->tid, 0, 0) == 0)
			th->stopped = false;
		return;
	}
	if (via)
		regs->rip = via;
	t0 = prof_start();
	put_regs(th->tid, regs, rip_only);
	t0 = prof_mark(PROF_SETREGS, t0);
	resume(th, 0);
	prof_mark(PROF_CONT, t0);
}

static void finish_step(tracer *tr, thread *th)
{
	static const uint8_t int3 = 0xcc;

	target_write(&tr->mem, tr->step_bp->addr, &int3, 1);
	tr->stepper = NULL;
	tr->step_bp = NULL;
	th->stopped = true;
	if (tr->stopping)
		return; /* stop_all (a detach) holds it with the others */
	resume(th, 0);
	resume_all(tr);
}

/* A stop of the thread single-stepping a displaced instruction, the other
 * threads held. Only the step's own trap ends the step: an interrupt left
 * pending by an earlier stop_all, or a signal, must not let the thread run
 * on with the original byte in place (it would then take the next int3 it
 * hits for the end of the step). */
static void stepper_stop(tracer *tr, thread *th, int status)
{
	int sig = WSTOPSIG(status), event = status >> 16;
	siginfo_t si;

	/* si_code SIGTRAP: a signal delivered with the step stopped the
	 * thread at its handler's first instruction */
	if (event == 0 && sig == SIGTRAP &&
	    (ptrace(PTRACE_GETSIGINFO, th->tid, 0, &si) < 0 ||
	     si.si_code == TRAP_TRACE || si.si_code == TRAP_BRKPT ||
	     si.si_code == SIGTRAP)) {
		collect_stubs(tr);
		finish_step(tr, th);
		return;
	}
	if (tr->stopping) {
		/* held mid-step: detach_all finds the original byte in place
		 * and the thread before it; a signal waits for the detach */
		if (event == 0) {
			th->has_pending = true;
			th->pending = status;
		}
		return;
	}
	if (event == PTRACE_EVENT_EXIT) {
		th->exiting = true;
		resume(th, 0);
		return;
	}
	/* a signal is delivered with the step: the thread stops at its
	 * handler's first instruction (the step ends there, the int3 goes
	 * back), and the handler's return hits the int3 again, as a call
	 * already entered */
	if (event == 0)
		VERBOSE(tr, "thread %d: signal %d delivered during a step",
			(int)th->tid, sig);
	if (ptrace(PTRACE_SINGLESTEP, th->tid, 0,
		   event == 0 ? sig : 0) == 0 || errno == ESRCH)
		th->stopped = false;
}

/* lazy: the stub data was not read at this stop (retiring). */
static void handle_entry(tracer *tr, thread *th, breakpoint *bp,
			 struct user_regs_struct *regs, bool lazy)
{
	enum tracer_fn fn = bp_fn(bp);
	shadow_entry *e;
	uint64_t tramp = trampoline(tr), ret, t0, via = 0;

	tr->events++;
	/* Calls whose frame is gone have finished. An entry at the same
	 * slot is a tail call (reallocarray jumping to realloc) when the
	 * slot still holds the trampoline or the stub; else the old frame
	 * is gone. No allocator returning a value tail-calls free. */
	while (th->nshadow && th->shadow[th->nshadow - 1].slot < regs->rsp)
		finish_top(tr, th, lazy);
	if (th->nshadow && th->shadow[th->nshadow - 1].slot == regs->rsp &&
	    ((lazy && fn == FN_FREE) ||
	     target_read(&tr->mem, regs->rsp, &ret, 8) < 0 ||
	     (ret != tramp &&
	      ret != stub_code(tr, th->shadow[th->nshadow - 1].stub))))
		finish_top(tr, th, lazy);
	/* A call whose slot is above the stack pointer is still running (this
	 * call is its own) or returned long ago: only its stub knows. */
	if (lazy && th->nshadow)
		collect_stubs(tr);
	if (tr->o->verbose > 1)
		tracer_msg("%d: enter %s rsp=%#llx depth=%zu", (int)th->tid,
			   tracer_fn_names[fn], regs->rsp, th->nshadow);
	if (th->nshadow == 0) {
		if (fn == FN_FREE && regs->rdi && tr->nretired) {
			/* after the calls it follows */
			tr->retired[tr->nretired].is_free = true;
			tr->retired[tr->nretired++].addr = regs->rdi;
		} else if (fn == FN_FREE) {
			if (regs->rdi)
				record_free(tr, MS_DOMAIN_MALLOC, regs->rdi);
		} else if (/* a file mmap matters only when MAP_FIXED puts
			    * it over a program's anonymous pages */
			   !(fn == FN_MMAP &&
			     !(regs->rcx & (MAP_ANONYMOUS | MAP_FIXED))) &&
			   (e = push_shadow(tr, th))) {
			e->fn = fn;
			e->args[0] = regs->rdi;
			e->args[1] = regs->rsi;
			e->args[2] = regs->rdx;
			e->args[3] = regs->rcx;
			e->args[4] = regs->r8;
			e->args[5] = regs->r9;
			/* unwind before the return address is swapped */
			e->npcs = unwinder_unwind(tr->unw, th->tid, regs,
						  &tr->sym, e->pcs,
						  tr->o->frames, &e->total);
			if (tr->o->verbose > 2)
				for (uint32_t i = 0; i < e->npcs; i++)
					tracer_msg("  #%u %#llx", i,
						   (unsigned long long)e->pcs[i]);
			e->slot = regs->rsp;
			e->ret = ret = unwinder_return_address(tr->unw);
			e->stub = -1;
			t0 = prof_start();
			/* posix_memalign's result is in memory the caller
			 * may reuse before the next stop: it traps */
			if (ret && tr->o->return_stubs &&
			    fn != FN_POSIX_MEMALIGN &&
			    (e->stub = alloc_stub(tr)) >= 0) {
				if (bp->arm && e->stub < ARM_STUBS)
					via = arm_entry(tr, bp, e->stub);
				else if (arm_stub(tr, th, e) < 0)
					pop_shadow(tr, th);
			} else if (!ret || target_write(&tr->mem, regs->rsp,
							&tramp, 8) < 0) {
				pop_shadow(tr, th);
			}
			prof_mark(PROF_ARM, t0);
		}
	}
	execute_displaced(tr, th, bp, regs, via);
}

/* Record the call th returned from at the trampoline and move it to the
 * real return address, leaving it stopped. */
static int complete_return(tracer *tr, thread *th,
			   struct user_regs_struct *regs)
{
	shadow_entry *e;

	/* after the ret, rsp is the swapped slot + 8 */
	drop_stale(tr, th, regs->rsp - 8);
	if (tr->o->verbose > 1)
		tracer_msg("%d: return rsp=%#llx rax=%#llx depth=%zu",
			   (int)th->tid, regs->rsp, regs->rax, th->nshadow);
	if (!th->nshadow || th->shadow[th->nshadow - 1].slot + 8 != regs->rsp) {
		tracer_msg("thread %d returned through the trampoline with no "
			   "matching call (rsp %#llx)", (int)th->tid,
			   regs->rsp);
		want_detach = 1;
		th->stopped = true;
		return -1;
	}
	e = &th->shadow[th->nshadow - 1];
	regs->rip = e->ret;
	put_regs(th->tid, regs, true);
	record_return(tr, e, regs->rax);
	pop_shadow(tr, th);
	return 0;
}

static void handle_return(tracer *tr, thread *th,
			  struct user_regs_struct *regs)
{
	if (complete_return(tr, th, regs) == 0)
		resume(th, 0);
}

/* ------------------------------------------------------------ set-up */

static void insert_rbrk(tracer *tr);
static int arm_code(tracer *tr, breakpoint *bp);

/* The breakpoint for function f at a (one more function when another
 * already has one there), not inserted yet; NULL with err filled when its
 * first instruction cannot be decoded. */
static breakpoint *new_breakpoint(tracer *tr, int f, uint64_t a, char *err,
				  size_t errlen)
{
	uint64_t slot_end = tr->scratch + SCRATCH_STUBS;
	breakpoint *bp;

	if ((bp = find_bp(tr, a))) {
		bp->fns |= 1u << f;
		return bp;
	}
	if (tr->nbps == sizeof(tr->bps) / sizeof(tr->bps[0])) {
		snprintf(err, errlen, "too many breakpoints");
		return NULL;
	}
	bp = &tr->bps[tr->nbps++];
	memset(bp, 0, sizeof(*bp));
	bp->addr = a;
	bp->fns = 1u << f;
	if (target_read(&tr->mem, a, bp->orig, sizeof(bp->orig)) < 0 ||
	    displaced_decode(&bp->insn, a, bp->orig, sizeof(bp->orig),
			     tr->o->displaced) < 0) {
		snprintf(err, errlen, "cannot decode the first instruction of "
			 "%s at %#llx", tracer_fn_names[f],
			 (unsigned long long)a);
		tr->nbps--;
		return NULL;
	}
	if (bp->insn.how == DISP_OUTOFLINE) {
		uint8_t buf[DISPLACED_SLOT];
		if (tr->next_slot + DISPLACED_SLOT <= slot_end &&
		    displaced_relocate(&bp->insn, bp->orig, a, tr->next_slot,
				       buf) == 0 &&
		    target_write(&tr->mem, tr->next_slot, buf, sizeof(buf)) ==
			    0) {
			bp->ool = tr->next_slot;
			tr->next_slot += DISPLACED_SLOT;
		} else {
			bp->insn.how = DISP_STEP;
		}
	}
	/* arming entries exist for the first FN_COUNT breakpoints; the
	 * others' stubs are armed by the tracer's write */
	if (bp - tr->bps < FN_COUNT && arm_code(tr, bp) < 0) {
		snprintf(err, errlen, "cannot write in process %d: %s",
			 (int)tr->pid, strerror(errno));
		tr->nbps--;
		return NULL;
	}
	VERBOSE(tr, "%s at %#llx: %s (%s)", tracer_fn_names[f],
		(unsigned long long)a, bp->insn.text,
		bp->insn.how == DISP_EMULATE ? "emulated" :
		bp->insn.how == DISP_OUTOFLINE ? "out of line" :
						 "single-step");
	return bp;
}

static void add_initial(void *arg, const char *path, uint64_t bias)
{
	tracer *tr = arg;
	module_id *v = realloc(tr->initial,
			       (tr->ninitial + 1) * sizeof(*v));

	if (!v || !(path = strdup(path)))
		return;
	tr->initial = v;
	tr->initial[tr->ninitial].path = (char *)path;
	tr->initial[tr->ninitial++].bias = bias;
}

static void forget_modules(tracer *tr)
{
	for (size_t i = 0; i < tr->ninitial; i++)
		free(tr->initial[i].path);
	free(tr->initial);
	tr->initial = NULL;
	tr->ninitial = 0;
	for (size_t i = 0; i < tr->ndlalloc; i++)
		free(tr->dlalloc[i].module.path);
	tr->ndlalloc = 0;
}

/* The arming entries of bp, where its displaced instruction allows them. */
static int arm_code(tracer *tr, breakpoint *bp)
{
	uint8_t buf[ARM_STUBS * ARM_ENTRY];
	uint64_t next = bp->ool;

	bp->arm = false;
	if (!bp->ool && !displaced_emulated_next(&bp->insn, bp->addr, &next))
		return 0;
	scratch_arm_code(buf, tr->scratch, (int)(bp - tr->bps), next);
	if (target_write(&tr->mem, arm_entry(tr, bp, 0), buf, sizeof(buf)) < 0)
		return -1;
	bp->arm = true;
	return 0;
}

static int setup_breakpoints(tracer *tr, pid_t tid, char *err, size_t errlen)
{
	if (symbols_resolve(&tr->sym, tr->pid, &tr->mem, err, errlen) < 0)
		return -1;
	if (scratch_map(tid, &tr->mem, tr->sym.libc_low, &tr->scratch) < 0) {
		snprintf(err, errlen, "cannot map the scratch page in process "
			 "%d: %s", (int)tr->pid, strerror(errno));
		return -1;
	}
	tr->next_slot = tr->scratch + SCRATCH_SLOTS;
	tr->nbps = 0;
	for (int f = 0; f < FN_COUNT; f++)
		if (tr->sym.fn_addr[f] &&
		    !new_breakpoint(tr, f, tr->sym.fn_addr[f], err, errlen))
			return -1;
	symbols_each_module(tr->pid, &tr->mem, add_initial, tr);
	for (size_t i = 0; i < tr->nbps; i++)
		if (breakpoint_insert(&tr->mem, &tr->bps[i]) < 0) {
			snprintf(err, errlen, "cannot write a breakpoint in "
				 "process %d: %s", (int)tr->pid,
				 strerror(errno));
			return -1;
		}
	tr->unw = unwinder_new(tr->pid, &tr->mem);
	if (!tr->unw) {
		snprintf(err, errlen, "cannot create the unwinder");
		return -1;
	}
	tr->tracing = true;
	insert_rbrk(tr); /* attach: modules dlopen'd from now on */
	return 0;
}

static uint64_t auxv_entry(pid_t pid)
{
	char path[64];
	uint64_t av[2], entry = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fread(av, sizeof(av), 1, f) == 1 && av[0] != 0)
		if (av[0] == 9 /* AT_ENTRY */)
			entry = av[1];
	fclose(f);
	return entry;
}

/* Forget the old image; stop at the new one's entry point, where its
 * libraries are loaded, to set up. */
static void teardown_image(tracer *tr)
{
	symbols_destroy(&tr->sym);
	forget_modules(tr);
	unwinder_free(tr->unw);
	tr->unw = NULL;
	ms_dwfl_free(tr->dwfl);
	tr->dwfl = NULL;
	tr->nbps = 0;
	tr->scratch = 0;
	tr->rbrk_addr = 0;
	tr->tracing = false;
	memset(tr->stub_used, 0, sizeof(tr->stub_used));
	memset(tr->stub_done, 0, sizeof(tr->stub_done));
	tr->nretired = 0;
	tr->narmed = 0;
}

static void start_image(tracer *tr, thread *th)
{
	static const uint8_t int3 = 0xcc;

	target_mem_close(&tr->mem);
	if (target_mem_open(&tr->mem, tr->pid) < 0) {
		tracer_msg("cannot open /proc/%d/mem: %s", (int)tr->pid,
			   strerror(errno));
		want_detach = 1;
		return;
	}
	tr->entry_addr = auxv_entry(tr->pid);
	if (!tr->entry_addr ||
	    target_read(&tr->mem, tr->entry_addr, &tr->entry_orig, 1) < 0 ||
	    target_write(&tr->mem, tr->entry_addr, &int3, 1) < 0) {
		tracer_msg("cannot set a breakpoint at the entry of %d",
			   (int)tr->pid);
		tr->entry_addr = 0;
		want_detach = 1;
	}
	/* the libraries' constructors run before the entry point: set up
	 * as soon as the dynamic linker has mapped and relocated them */
	insert_rbrk(tr);
	(void)th;
}

static void handle_entry_point(tracer *tr, thread *th,
			       struct user_regs_struct *regs)
{
	char err[512];

	target_write(&tr->mem, tr->entry_addr, &tr->entry_orig, 1);
	tr->entry_addr = 0;
	regs->rip--;
	ptrace(PTRACE_SETREGS, th->tid, 0, regs);
	if (!tr->tracing &&
	    setup_breakpoints(tr, th->tid, err, sizeof(err)) < 0) {
		tracer_msg("%s", err);
		tr->exit_code = EXIT_TRACER_UNSUPPORTED;
		want_detach = 1;
		return;
	}
	resume(th, 0);
}

/* ------------------------------------------------ the dynamic linker */

/* The dynamic linker calls _dl_debug_state (r_debug.r_brk), an empty
 * function, before and after each change of the link map: at start-up
 * once every library is mapped and relocated, before any constructor
 * runs, and at each dlopen and dlclose. An int3 there, never lifted: its
 * hit is emulated as the function's return. */
static void write_rbrk(tracer *tr, bool in)
{
	static const uint8_t int3 = 0xcc;

	if (tr->rbrk_addr)
		target_write(&tr->mem, tr->rbrk_addr,
			     in ? &int3 : &tr->rbrk_orig, 1);
}

static void insert_rbrk(tracer *tr)
{
	uint64_t brk, rdebug;

	if (tr->rbrk_addr ||
	    symbols_dynamic_linker(tr->pid, &brk, &rdebug) < 0 ||
	    target_read(&tr->mem, brk, &tr->rbrk_orig, 1) < 0)
		return;
	tr->rbrk_addr = brk;
	tr->rdebug_addr = rdebug;
	write_rbrk(tr, true);
	VERBOSE(tr, "dynamic linker's r_brk at %#llx",
		(unsigned long long)brk);
}

typedef struct module_scan {
	tracer *tr;
	bool present[MAX_ALLOCATORS - 1];
} module_scan;

static bool same_module(const module_id *id, const char *path, uint64_t bias)
{
	return id->bias == bias && strcmp(id->path, path) == 0;
}

/* One module of the link map after a change: a module loaded after the
 * set-up that defines malloc and free is one more allocator, traced as
 * the first is (its code has not run yet: nothing needs holding). */
static void scan_loaded(void *arg, const char *path, uint64_t bias)
{
	module_scan *ms = arg;
	tracer *tr = ms->tr;
	uint64_t fn[FN_COUNT];
	dl_allocator *a;
	char err[256];

	for (size_t i = 0; i < tr->ninitial; i++)
		if (same_module(&tr->initial[i], path, bias))
			return;
	for (size_t i = 0; i < tr->ndlalloc; i++)
		if (same_module(&tr->dlalloc[i].module, path, bias)) {
			ms->present[i] = true;
			return;
		}
	symbols_module_entries(path, bias, fn);
	if (!fn[FN_MALLOC] || !fn[FN_FREE])
		return;
	if (tr->ndlalloc == MAX_ALLOCATORS - 1) {
		tracer_msg("warning: %s defines another allocator: not traced "
			   "(at most %d allocators)", path, MAX_ALLOCATORS);
		return;
	}
	a = &tr->dlalloc[tr->ndlalloc];
	memset(a, 0, sizeof(*a));
	if (!(a->module.path = strdup(path)))
		return;
	a->module.bias = bias;
	VERBOSE(tr, "allocator dlopen'd: %s", path);
	for (int f = 0; f < FN_COUNT; f++) {
		breakpoint *bp;
		if (!fn[f])
			continue;
		if (!(bp = new_breakpoint(tr, f, fn[f], err, sizeof(err)))) {
			tracer_msg("warning: %s", err);
			continue;
		}
		if (!bp->inserted && breakpoint_insert(&tr->mem, bp) == 0)
			a->addrs[a->naddrs++] = bp->addr;
	}
	ms->present[tr->ndlalloc++] = true;
}

/* Allocators dlopen'd since the last change come in; those of unloaded
 * modules go, without a write: their pages are gone. */
static void dlopened_allocators(tracer *tr)
{
	module_scan ms;

	memset(&ms, 0, sizeof(ms));
	ms.tr = tr;
	if (symbols_each_module(tr->pid, &tr->mem, scan_loaded, &ms) < 0)
		return;
	for (size_t i = tr->ndlalloc; i-- > 0;) {
		dl_allocator *a = &tr->dlalloc[i];
		if (ms.present[i])
			continue;
		VERBOSE(tr, "allocator unloaded: %s", a->module.path);
		for (size_t k = 0; k < a->naddrs; k++) {
			breakpoint *bp = find_bp(tr, a->addrs[k]);
			if (!bp)
				continue;
			*bp = tr->bps[--tr->nbps];
			/* arming entries belong to an index: the moved one
			 * gets its new place's, or none */
			if (bp != &tr->bps[tr->nbps] &&
			    (bp - tr->bps >= FN_COUNT || arm_code(tr, bp) < 0))
				bp->arm = false;
		}
		free(a->module.path);
		*a = tr->dlalloc[--tr->ndlalloc];
		ms.present[i] = ms.present[tr->ndlalloc];
	}
}

/* The link map changed while tracing (dlopen, dlclose): new modules bring
 * wrappers to skip and unwind tables, an unloaded one's pages may be
 * reused by the next. */
static void link_map_changed(tracer *tr)
{
	symbols fresh;
	char err[512];

	if (tr->unw)
		unwinder_flush(tr->unw);
	if (symbols_resolve(&fresh, tr->pid, &tr->mem, err, sizeof(err)) < 0)
		return;
	free(tr->sym.wrappers);
	tr->sym.wrappers = fresh.wrappers;
	tr->sym.nwrappers = fresh.nwrappers;
	fresh.wrappers = NULL;
	symbols_destroy(&fresh);
	VERBOSE(tr, "link map changed: %zu wrapper functions",
		tr->sym.nwrappers);
	if (!tr->stepper)
		dlopened_allocators(tr);
}

static void handle_rbrk(tracer *tr, thread *th, struct user_regs_struct *regs)
{
	char err[512];
	uint64_t ret;
	int32_t state = -1;

	/* ret */
	if (target_read(&tr->mem, regs->rsp, &ret, 8) < 0) {
		tracer_msg("cannot read the stack of thread %d", (int)th->tid);
		want_detach = 1;
		return;
	}
	regs->rip = ret;
	regs->rsp += 8;
	ptrace(PTRACE_SETREGS, th->tid, 0, regs);
	/* r_debug.r_state: RT_CONSISTENT (0) once a change is complete */
	if (target_read(&tr->mem, tr->rdebug_addr + 24, &state, 4) < 0 ||
	    state != 0) {
		resume(th, 0);
		return;
	}
	if (tr->tracing) {
		link_map_changed(tr);
	} else {
		/* start-up: the entry point is not needed any more */
		if (tr->entry_addr)
			target_write(&tr->mem, tr->entry_addr,
				     &tr->entry_orig, 1);
		tr->entry_addr = 0;
		if (setup_breakpoints(tr, th->tid, err, sizeof(err)) < 0) {
			tracer_msg("%s", err);
			tr->exit_code = EXIT_TRACER_UNSUPPORTED;
			want_detach = 1;
			return;
		}
		VERBOSE(tr, "set up when the dynamic linker had loaded the "
			"libraries");
	}
	resume(th, 0);
}

static const char *unsupported_path(const char *path);

/* After an exec: a new image that cannot be traced ends the session
 * (memsnap detaches; the program goes on untraced). */
static bool refuse_image(tracer *tr)
{
	char exe[64], path[4096];
	const char *why;
	ssize_t n;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)tr->pid);
	if (!(why = unsupported_path(exe)))
		return false;
	n = readlink(exe, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = 0;
	tracer_msg("process %d exec'd %s, not an x86-64 program (%s): not "
		   "supported, detaching", (int)tr->pid, path, why);
	tr->refusal = EXIT_TRACER_UNSUPPORTED;
	want_detach = 1;
	return true;
}

static void handle_exec(tracer *tr, thread *th)
{
	unsigned long former;

	pid_t tid = th->tid;

	ptrace(PTRACE_GETEVENTMSG, th->tid, 0, &former);
	/* the other threads are gone; the execing one is now the leader */
	for (size_t i = tr->nthreads; i-- > 0;)
		if (tr->threads[i].tid != tid)
			remove_thread(tr, &tr->threads[i]);
	th = find_thread(tr, tid);
	if (!th)
		return;
	th->tid = tr->pid;
	th->nshadow = 0; /* the stubs went with the old image */
	teardown_image(tr);
	ms_table_clear(tr->table);
	mappings_clear(&tr->maps);
	if (refuse_image(tr))
		return; /* stopped, for the detach */
	VERBOSE(tr, "process %d exec'd: a new trace set", (int)tr->pid);
	start_image(tr, th);
	resume(th, 0);
}

/* ----------------------------------------------------- fork and vfork */

static child *find_child(tracer *tr, pid_t pid, bool add)
{
	for (size_t i = 0; i < tr->nchildren; i++)
		if (tr->children[i].pid == pid)
			return &tr->children[i];
	if (!add)
		return NULL;
	if (tr->nchildren == tr->children_cap) {
		size_t cap = tr->children_cap ? tr->children_cap * 2 : 4;
		child *v = realloc(tr->children, cap * sizeof(*v));
		if (!v)
			return NULL;
		tr->children = v;
		tr->children_cap = cap;
	}
	memset(&tr->children[tr->nchildren], 0, sizeof(child));
	tr->children[tr->nchildren].pid = pid;
	return &tr->children[tr->nchildren++];
}

/* Put the real return address back in a stack slot that still holds the
 * trampoline or the entry's stub (a slot of a frame gone by longjmp holds
 * something else now). */
static void restore_slot(tracer *tr, const target_mem *m,
			 const shadow_entry *e)
{
	uint64_t cur;

	if (target_read(m, e->slot, &cur, 8) == 0 &&
	    (cur == trampoline(tr) ||
	     (e->stub >= 0 && cur == stub_code(tr, e->stub))))
		target_write(m, e->slot, &e->ret, 8);
}

/* The child of a fork has a copy of every breakpoint, swapped return
 * address and the scratch page: take them all out, then let it go. */
static void release_child(tracer *tr, child *c)
{
	if (c->kind == PTRACE_EVENT_FORK && tr->tracing) {
		target_mem cm;
		thread *parent = find_thread(tr, c->parent_tid);
		if (target_mem_open(&cm, c->pid) == 0) {
			for (size_t i = 0; i < tr->nbps; i++)
				if (tr->bps[i].inserted)
					target_write(&cm, tr->bps[i].addr,
						     tr->bps[i].orig, 1);
			if (tr->rbrk_addr)
				target_write(&cm, tr->rbrk_addr,
					     &tr->rbrk_orig, 1);
			collect_stubs(tr);
			for (size_t i = 0; parent && i < parent->nshadow; i++)
				restore_slot(tr, &cm, &parent->shadow[i]);
			if (tr->scratch) {
				uint64_t args[6] = { tr->scratch, SCRATCH_SIZE,
						     0, 0, 0, 0 };
				uint64_t ret;
				scratch_syscall(c->pid, &cm, 0, SYS_munmap,
						args, &ret);
			}
			target_mem_close(&cm);
		}
	}
	VERBOSE(tr, "%s child %d released",
		c->kind == PTRACE_EVENT_FORK ? "fork" : "vfork", (int)c->pid);
	ptrace(PTRACE_DETACH, c->pid, 0, 0);
	*c = tr->children[--tr->nchildren];
}

static void child_event(tracer *tr, thread *th, int event)
{
	unsigned long cpid;
	child *c;

	ptrace(PTRACE_GETEVENTMSG, th->tid, 0, &cpid);
	c = find_child(tr, (pid_t)cpid, true);
	if (!c)
		return;
	if (tr->o->verbose > 1)
		tracer_msg("%d: %s child %d (%s)", (int)th->tid,
			   event == PTRACE_EVENT_FORK ? "fork" : "vfork",
			   (int)cpid, c->stopped ? "stopped" : "running");
	c->kind = event;
	c->parent_tid = th->tid;
	if (event == PTRACE_EVENT_VFORK && tr->tracing) {
		/* The child shares our memory: the breakpoints go out until
		 * it execs or exits, with every other thread held. */
		pid_t tid = th->tid;
		stop_all(tr, th);
		for (size_t i = 0; i < tr->nbps; i++)
			breakpoint_remove(&tr->mem, &tr->bps[i]);
		write_rbrk(tr, false);
		tr->vforker = find_thread(tr, tid);
		c = find_child(tr, (pid_t)cpid, false);
	}
	if (c && c->stopped)
		release_child(tr, c);
}

static void vfork_done(tracer *tr, thread *th)
{
	if (tr->vforker != th)
		return;
	for (size_t i = 0; i < tr->nbps; i++)
		breakpoint_insert(&tr->mem, &tr->bps[i]);
	write_rbrk(tr, true);
	tr->vforker = NULL;
}

/* ------------------------------------------------------------ snapshots */

static void add_meta(tracer *tr, ms_capture *c)
{
	char buf[4096], path[64];
	ms_domain_stats st;
	uint64_t unknown = 0, in_flight = 0;
	ssize_t n;
	int fd;

	snprintf(buf, sizeof(buf), "%d", (int)tr->pid);
	ms_capture_meta(c, MS_META_PID, buf, NULL);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)tr->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			for (ssize_t i = 0; i < n - 1; i++)
				if (!buf[i])
					buf[i] = ' ';
			buf[n] = 0;
			ms_capture_meta(c, MS_META_CMDLINE, buf, NULL);
		}
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)time(NULL));
	ms_capture_meta(c, MS_META_TIME, buf, NULL);
	if (gethostname(buf, sizeof(buf)) == 0) {
		buf[sizeof(buf) - 1] = 0;
		ms_capture_meta(c, MS_META_HOST, buf, NULL);
	}
	if (tr->sym.hooked)
		ms_capture_meta(c, MS_META_HOOKED, tr->sym.hooked, NULL);
	for (uint32_t d = 0; d < ms_table_ndomains(tr->table); d++) {
		st = ms_table_domain_stats(tr->table, d);
		unknown += st.unknown_frees;
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)unknown);
	ms_capture_meta(c, MS_META_UNKNOWN_FREES, buf, NULL);
	st = ms_table_domain_stats(tr->table, MS_DOMAIN_MALLOC);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.peak_size);
	ms_capture_meta(c, MS_META_PEAK_SIZE, buf, NULL);
	for (size_t i = 0; i < tr->nthreads; i++)
		in_flight += tr->threads[i].nshadow;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)in_flight);
	ms_capture_meta(c, MS_META_IN_FLIGHT, buf, NULL);
	if (!tr->crash_sig)
		return;
	/* keys documented in docs/FORMAT.md, shown by `memsnap info` */
	snprintf(buf, sizeof(buf), "%d", tr->crash_sig);
	ms_capture_meta(c, "signal", buf, NULL);
	snprintf(buf, sizeof(buf), "%d", tr->crash_code);
	ms_capture_meta(c, "signal_code", buf, NULL);
	snprintf(buf, sizeof(buf), "%d", (int)tr->crash_tid);
	ms_capture_meta(c, "fault_tid", buf, NULL);
	if (tr->crash_has_addr) {
		snprintf(buf, sizeof(buf), "0x%llx",
			 (unsigned long long)tr->crash_addr);
		ms_capture_meta(c, "fault_address", buf, NULL);
	}
}

/* Take a snapshot while every thread is stopped, symbolize it after they
 * run again, write it to path. live: the process still exists. */
static void set_err(ms_error *err, const char *fmt, ...) TRACER_PRINTF(2, 3);
static void set_err(ms_error *err, const char *fmt, ...)
{
	va_list ap;

	err->code = MS_EIO;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* A snapshot taken while every thread is stopped, symbolized after they
 * run again. live: the process still exists. */
static ms_snapshot *capture_snapshot(tracer *tr, bool live, ms_error *err)
{
	ms_capture *c;
	ms_error derr;
	ms_symbolizer sym, counted = { NULL, NULL };
	progress_symbolizer ps;
	bool held = live && !tr->stepper && !tr->vforker && !tr->stopping;

	if (held && stop_all(tr, NULL) < 0) {
		set_err(err, "cannot stop the threads of process %d: %s",
			(int)tr->pid, strerror(errno));
		return NULL;
	}
	if (live)
		collect_stubs(tr);
	c = ms_capture_take(tr->table, tr->o->frames, err);
	if (c)
		add_meta(tr, c);
	/* without symbols the snapshot still has its PCs */
	if (c && live && !tr->dwfl)
		tr->dwfl = ms_dwfl_new_pid(tr->pid, NULL, &derr);
	else if (c && live)
		ms_dwfl_refresh(tr->dwfl, &derr);
	if (held)
		resume_all(tr);
	if (!c)
		return NULL;
	if (tr->dwfl) {
		sym = ms_dwfl_symbolizer(tr->dwfl);
		counted = progress_wrap(&ps, &sym);
	}
	return ms_capture_finish(c, tr->dwfl ? &counted : NULL, err);
}

/* Take a snapshot and write it to path. */
static int take_snapshot(tracer *tr, const char *path, bool live)
{
	ms_error err;
	ms_snapshot *s;

	progress_begin("snapshot %s", path);
	s = capture_snapshot(tr, live, &err);
	if (!s) {
		progress_end();
		tracer_msg("cannot take a snapshot: %s", err.message);
		return -1;
	}
	if (ms_snapshot_dump_progress(s, path, progress_engine(), &err) < 0) {
		progress_end();
		tracer_msg("cannot write snapshot %s: %s", path, err.message);
		ms_snapshot_free(s);
		return -1;
	}
	progress_end();
	VERBOSE(tr, "snapshot %s: %zu traces", path, ms_snapshot_ntraces(s));
	ms_snapshot_free(s);
	return 0;
}

/* `take` of the live command line (on the tracer thread). */
static ms_snapshot *live_take(void *arg, ms_error *err)
{
	tracer *tr = arg;

	if (tr->ended || !tr->tracing) {
		set_err(err, "take: process %d %s", (int)tr->pid,
			tr->ended ? "has ended" : "is not traced any more");
		return NULL;
	}
	return capture_snapshot(tr, true, err);
}

static void snapshot_on_demand(tracer *tr)
{
	char path[4096];

	live_output_path(tr->live, tr->pid, path, sizeof(path));
	tr->nsnapshots++;
	if (take_snapshot(tr, path, true) == 0)
		live_output_written(tr->live, path);
}

/* Every thread of an exiting process stops at PTRACE_EVENT_EXIT; at the
 * last one, the address space is still there to symbolize against. */
static void maybe_dump_on_exit(tracer *tr)
{
	if (!tr->o->dump_on_exit || tr->exit_dumped)
		return;
	for (size_t i = 0; i < tr->nthreads; i++)
		if (!tr->threads[i].exiting)
			return;
	tr->exit_dumped = true;
	take_snapshot(tr, tr->o->dump_on_exit, true);
}

/* ------------------------------------------------------------ crashes */

static int detach_all(tracer *tr);

/* Whether signal sig, about to be delivered to the process, kills it: its
 * default action is to terminate (with or without a core) and the process
 * neither catches nor ignores it. Dispositions are per thread group. */
static bool signal_is_fatal(const tracer *tr, int sig)
{
	char path[64], line[256];
	unsigned long long cgt = 0, ign = 0;
	bool found = false;
	FILE *f;

	switch (sig) {
	case SIGCHLD: case SIGURG: case SIGWINCH: case SIGCONT:
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
	case SIGKILL: /* never reaches a signal-delivery-stop */
		return false;
	default:
		if (sig < 1 || sig > 64)
			return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tr->pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "SigIgn: %llx", &ign) == 1)
			continue;
		if (sscanf(line, "SigCgt: %llx", &cgt) == 1)
			found = true;
	}
	fclose(f);
	return found && !((cgt | ign) & (1ULL << (sig - 1)));
}

/* With --dump-on-crash, a signal-delivery-stop (status) of th for a fatal
 * signal: write the final snapshot with the signal, the faulting address
 * and the thread, then detach as from SIGINT (every byte restored, the
 * scratch page unmapped) with the signal delivered at the detach, so that
 * the kernel writes the core of the untouched process. Returns whether it
 * did so (the session is over). */
static bool dump_on_crash(tracer *tr, thread *th, int status)
{
	int sig = WSTOPSIG(status), st = 0;
	siginfo_t si;

	if (!tr->o->dump_on_crash || tr->crash_sig || !tr->tracing ||
	    !signal_is_fatal(tr, sig))
		return false;
	tr->crash_sig = sig;
	tr->crash_tid = th->tid;
	if (ptrace(PTRACE_GETSIGINFO, th->tid, 0, &si) == 0) {
		tr->crash_si = si;
		tr->crash_has_si = true;
		tr->crash_code = si.si_code;
		/* si_addr means something only for a fault the kernel
		 * raised, not for kill() or tgkill() (si_code <= 0) */
		tr->crash_has_addr = si.si_code > 0 &&
			(sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
			 sig == SIGFPE || sig == SIGTRAP);
		tr->crash_addr = (uint64_t)(uintptr_t)si.si_addr;
	}
	tracer_msg("process %d: thread %d got signal %d (%s)%s: writing %s",
		   (int)tr->pid, (int)th->tid, sig, strsignal(sig),
		   tr->crash_has_addr ? " at a fault" : "",
		   tr->o->dump_on_crash);
	if (!tr->stepper && !tr->vforker) {
		pid_t tid = th->tid;

		stop_all(tr, th);
		th = find_thread(tr, tid);
	}
	/* the detach delivers it: it stays pending on th meanwhile */
	if (th) {
		th->has_pending = true;
		th->pending = status;
	}
	/* every thread is held now: take_snapshot must not let any go
	 * (its resume_all would deliver the signal before the detach) */
	tr->stopping = true;
	take_snapshot(tr, tr->o->dump_on_crash, true);
	if (tr->o->dump_on_exit && !tr->exit_dumped) {
		tr->exit_dumped = true;
		take_snapshot(tr, tr->o->dump_on_exit, true);
	}
	tr->stopping = false;
	if (detach_all(tr) < 0)
		tracer_msg("detach from %d was not clean", (int)tr->pid);
	tr->ended = true;
	if (tr->o->run) {
		pid_t w;

		while ((w = waitpid(tr->pid, &st, 0)) < 0 && errno == EINTR)
			;
		tr->exit_code = w != tr->pid ? EXIT_TRACER_ERROR :
				WIFEXITED(st) ? WEXITSTATUS(st) :
				WIFSIGNALED(st) ? 128 + WTERMSIG(st) :
						  EXIT_TRACER_ERROR;
	}
	return true;
}

/* ------------------------------------------------------------- events */

static void handle_trap(tracer *tr, thread *th, int status)
{
	struct user_regs_struct regs;
	breakpoint *bp;
	uint64_t t0 = prof_start();

	bool lazy;

	if (ptrace(PTRACE_GETREGS, th->tid, 0, &regs) < 0)
		return; /* gone: its exit is on the way */
	prof_mark(PROF_GETREGS, t0);
	bp = tr->tracing ? find_bp(tr, regs.rip - 1) : NULL;
	lazy = bp && bp->inserted && retiring(tr, th);
	if (!lazy)
		collect_stubs(tr);
	if (tr->stepper == th) {
		finish_step(tr, th);
		return;
	}
	if (tr->tracing && regs.rip - 1 == trampoline(tr)) {
		handle_return(tr, th, &regs);
		return;
	}
	if (bp && bp->inserted) {
		handle_entry(tr, th, bp, &regs, lazy);
		return;
	}
	if (tr->entry_addr && regs.rip - 1 == tr->entry_addr) {
		handle_entry_point(tr, th, &regs);
		return;
	}
	if (tr->rbrk_addr && regs.rip - 1 == tr->rbrk_addr) {
		handle_rbrk(tr, th, &regs);
		return;
	}
	if (dump_on_crash(tr, th, status))
		return;
	resume(th, SIGTRAP); /* the program's own */
}

static void new_thread(tracer *tr, pid_t tid, int status)
{
	thread *th = add_thread(tr, tid);

	if (!th)
		return;
	th->stopped = true;
	if (tr->stopping)
		return; /* held; its initial stop needs no replay */
	resume(th, 0);
}

/* A thread named by its creator's clone event. Its own first stop, and
 * even its exit, may have been reported first: one already reaped must
 * not come back as a thread that never stops (stop_all would wait for it
 * for ever). */
static thread *announce_thread(tracer *tr, pid_t tid)
{
	if (!find_thread(tr, tid) && !thread_exists(tr, tid))
		return NULL;
	return add_thread(tr, tid);
}

static void handle_status(tracer *tr, pid_t tid, int status)
{
	thread *th = find_thread(tr, tid);
	int sig, event;

	if (!th) {
		child *c = find_child(tr, tid, false);
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (c)
				*c = tr->children[--tr->nchildren];
			return;
		}
		if (!c && tgid_of(tid) == tr->pid) {
			new_thread(tr, tid, status);
			return;
		}
		if (!c)
			c = find_child(tr, tid, true);
		if (c) {
			c->stopped = true;
			if (c->kind)
				release_child(tr, c);
		}
		return;
	}
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		if (tid == tr->pid) {
			tr->ended = true;
			tr->exit_code = WIFEXITED(status) ?
						WEXITSTATUS(status) :
						128 + WTERMSIG(status);
		}
		remove_thread(tr, th);
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	th->stopped = true;
	sig = WSTOPSIG(status);
	event = status >> 16;
	if (th == tr->stepper) {
		stepper_stop(tr, th, status);
		return;
	}
	if (tr->stopping && tr->stepper != th) {
		if (event == PTRACE_EVENT_STOP && sig == SIGTRAP)
			return; /* our interrupt */
		if (event == PTRACE_EVENT_CLONE) {
			unsigned long ntid;
			ptrace(PTRACE_GETEVENTMSG, tid, 0, &ntid);
			announce_thread(tr, (pid_t)ntid);
			th = find_thread(tr, tid);
		}
		if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) {
			unsigned long cpid;
			child *c;
			ptrace(PTRACE_GETEVENTMSG, tid, 0, &cpid);
			c = find_child(tr, (pid_t)cpid, true);
			/* a fork child needs nothing from the held threads:
			 * release it now and let the parent stop again on
			 * the interrupt it has pending */
			if (c && !c->kind && event == PTRACE_EVENT_FORK) {
				c->kind = event;
				c->parent_tid = tid;
				if (c->stopped)
					release_child(tr, c);
				resume(th, 0);
				return;
			}
			/* a vfork child waits for its parent's replayed
			 * event; stop_all must not wait for that event */
			if (c && !c->kind)
				c->parent_tid = tid;
		}
		th->has_pending = true;
		th->pending = status;
		return;
	}
	switch (event) {
	case 0:
		if (sig == SIGTRAP)
			handle_trap(tr, th, status);
		else if (!dump_on_crash(tr, th, status))
			resume(th, sig);
		return;
	case PTRACE_EVENT_CLONE: {
		unsigned long ntid;
		thread *nt;
		ptrace(PTRACE_GETEVENTMSG, tid, 0, &ntid);
		nt = announce_thread(tr, (pid_t)ntid);
		(void)nt;
		resume(find_thread(tr, tid), 0);
		return;
	}
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		child_event(tr, th, event);
		resume(find_thread(tr, tid), 0);
		return;
	case PTRACE_EVENT_VFORK_DONE:
		vfork_done(tr, th);
		resume(th, 0);
		resume_all(tr);
		return;
	case PTRACE_EVENT_EXEC:
		handle_exec(tr, th);
		return;
	case PTRACE_EVENT_EXIT:
		if (tr->nretired)
			collect_stubs(tr); /* while the memory is there */
		th->exiting = true;
		maybe_dump_on_exit(tr);
		th = find_thread(tr, tid);
		if (th)
			resume(th, 0);
		return;
	case PTRACE_EVENT_STOP:
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
		    sig == SIGTTOU) {
			/* group-stop: stay stopped, but keep reporting */
			if (ptrace(PTRACE_LISTEN, tid, 0, 0) == 0)
				th->stopped = false;
			return;
		}
		resume(th, 0);
		return;
	default:
		resume(th, 0);
		return;
	}
}

/* -------------------------------------------------------------- detach */

static uint64_t real_pc(tracer *tr, const breakpoint *bp, uint64_t rip)
{
	/* arming: the displaced instruction has not run (an emulated one,
	 * a mov or a jmp, runs again the same) */
	if (bp->arm && rip >= arm_entry(tr, bp, 0) &&
	    rip < arm_entry(tr, bp, ARM_STUBS))
		return bp->addr;
	if (bp->ool && rip >= bp->ool && rip < bp->ool + DISPLACED_SLOT)
		return rip < bp->ool + bp->insn.len ?
			       bp->addr + (rip - bp->ool) :
			       bp->addr + bp->insn.len;
	return rip;
}

static bool sigtrap_queued(pid_t pid, pid_t tid)
{
	char path[64], line[256];
	unsigned long long pnd = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid,
		 (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigPnd: %llx", &pnd) == 1)
			break;
	fclose(f);
	return pnd & (1ull << (SIGTRAP - 1));
}

/* A thread that hit an int3 just as stop_all's interrupt came reports the
 * interrupt first, with rip past the int3 and its SIGTRAP still queued:
 * detached like that it would die of it. Take that stop now, kept like
 * any stop reported while held, for restore_thread. */
static void take_queued_trap(tracer *tr, thread *th)
{
	pid_t tid = th->tid;

	if (!th->stopped || th->has_pending ||
	    (tr->crash_sig && tid == tr->crash_tid) ||
	    !sigtrap_queued(tr->pid, tid))
		return;
	VERBOSE(tr, "thread %d: a SIGTRAP is queued behind the interrupt",
		(int)tid);
	run_to_next_stop(tr, tid);
}

/* Put one stopped thread back as if memsnap had never been there. Returns
 * the signal to deliver at detach. */
static int restore_thread(tracer *tr, thread *th)
{
	struct user_regs_struct regs;
	int sig = 0;
	bool changed = false;

	if (ptrace(PTRACE_GETREGS, th->tid, 0, &regs) < 0)
		return 0;
	/* an event stop stays pending: injector() may still need it */
	if (th->has_pending && th->pending >> 16 == 0) {
		int st = th->pending, s = WSTOPSIG(st);
		th->has_pending = false;
		if ((st >> 16) == 0 && s == SIGTRAP && tr->tracing &&
		    regs.rip - 1 == trampoline(tr)) {
			/* a return not handled yet: complete it */
			VERBOSE(tr, "thread %d: a return completed at detach",
				(int)th->tid);
			/* not handle_return: the thread must stay stopped */
			complete_return(tr, th, &regs);
			ptrace(PTRACE_GETREGS, th->tid, 0, &regs);
		} else if ((st >> 16) == 0 && s == SIGTRAP &&
			   ((tr->tracing && find_bp(tr, regs.rip - 1)) ||
			    (tr->entry_addr && regs.rip - 1 == tr->entry_addr) ||
			    (tr->rbrk_addr && regs.rip - 1 == tr->rbrk_addr))) {
			regs.rip--; /* re-run the original instruction */
			changed = true;
		} else if ((st >> 16) == 0 && tr->stepper != th) {
			sig = s;
		}
	}
	for (size_t i = 0; tr->scratch && i < tr->nbps; i++) {
		uint64_t pc = real_pc(tr, &tr->bps[i], regs.rip);
		if (pc != regs.rip) {
			regs.rip = pc;
			changed = true;
		}
	}
	if (tr->scratch && regs.rip >= tr->scratch + SCRATCH_STUBS &&
	    regs.rip < tr->scratch + SCRATCH_STUB_DATA) {
		/* returning through a stub: finish its work */
		int stub = (int)((regs.rip - tr->scratch - SCRATCH_STUBS) /
				 STUB_SIZE);
		stub_data d;
		for (size_t i = th->nshadow; i-- > 0;)
			if (th->shadow[i].stub == stub) {
				record_return(tr, &th->shadow[i], regs.rax);
				regs.rip = th->shadow[i].ret;
				remove_shadow(tr, th, i);
				changed = true;
				break;
			}
		if (!changed && target_read(&tr->mem, stub_data_addr(tr, stub),
					    &d, sizeof(d)) == 0) {
			regs.rip = d.ret;
			changed = true;
		}
	}
	for (size_t i = th->nshadow; i-- > 0;)
		restore_slot(tr, &tr->mem, &th->shadow[i]);
	if (tr->scratch && regs.rip - 1 == trampoline(tr) && th->nshadow) {
		regs.rip = th->shadow[th->nshadow - 1].ret;
		changed = true;
	}
	while (th->nshadow)
		pop_shadow(tr, th);
	if (changed)
		ptrace(PTRACE_SETREGS, th->tid, 0, &regs);
	return sig;
}

static int detach_all(tracer *tr)
{
	int rc = 0;
	int *sigs;
	size_t nsigs;
	thread *inj = NULL;

	if (tr->ended)
		return 0;
	if (tr->stepper)
		VERBOSE(tr, "detach while thread %d single-steps",
			(int)tr->stepper->tid);
	if (stop_all(tr, NULL) < 0 || tr->ended)
		return tr->ended ? 0 : -1;
	/* backwards: a thread that exits meanwhile is replaced by the last */
	for (size_t i = tr->nthreads; i-- > 0;)
		take_queued_trap(tr, &tr->threads[i]);
	collect_stubs(tr);
	if (tr->stepper) {
		/* interrupted mid-step: the original byte is in place */
		tr->step_bp->inserted = false;
		tr->stepper = NULL;
	}
	nsigs = tr->nthreads;
	sigs = calloc(nsigs + 1, sizeof(int));
	if (!sigs)
		return -1;
	for (size_t i = 0; i < tr->nthreads; i++)
		sigs[i] = restore_thread(tr, &tr->threads[i]);
	for (size_t i = 0; i < tr->nbps; i++)
		if (breakpoint_remove(&tr->mem, &tr->bps[i]) < 0)
			rc = -1;
	if (tr->entry_addr)
		target_write(&tr->mem, tr->entry_addr, &tr->entry_orig, 1);
	write_rbrk(tr, false);
	if (tr->scratch && tr->nthreads) {
		uint64_t args[6] = { tr->scratch, SCRATCH_SIZE, 0, 0, 0, 0 };
		uint64_t ret = 1;
		pid_t tid;
		/* Choosing it may let a thread out of an event stop (the
		 * breakpoints are out now): what it or a new thread stops
		 * on is restored as above. */
		inj = injector(tr, true);
		tid = inj ? inj->tid : 0;
		if (tr->nthreads > nsigs) {
			int *v = realloc(sigs, (tr->nthreads + 1) * sizeof(int));
			if (!v) {
				free(sigs);
				return -1;
			}
			sigs = v;
			for (size_t i = nsigs; i < tr->nthreads; i++)
				sigs[i] = 0;
		}
		for (size_t i = 0; i < tr->nthreads; i++)
			if (i >= nsigs || (tr->threads[i].has_pending &&
					   tr->threads[i].pending >> 16 == 0))
				sigs[i] = restore_thread(tr, &tr->threads[i]);
		nsigs = tr->nthreads;
		/* from outside the page being unmapped */
		if (!tid) {
			tracer_msg("the scratch page stays mapped in process "
				   "%d: no thread can run a syscall now",
				   (int)tr->pid);
			rc = -1;
		} else if (scratch_syscall(tid, &tr->mem, 0, SYS_munmap, args,
					   &ret) < 0 || ret != 0) {
			rc = -1;
		}
		tr->scratch = 0;
	}
	for (size_t i = 0; i < tr->nthreads; i++) {
		/* the injected munmap stopped the crashing thread again: its
		 * signal goes with the kernel's siginfo, not one from us */
		if (tr->crash_has_si && tr->threads[i].tid == tr->crash_tid)
			ptrace(PTRACE_SETSIGINFO, tr->crash_tid, 0,
			       &tr->crash_si);
		ptrace(PTRACE_DETACH, tr->threads[i].tid, 0,
		       i < nsigs ? sigs[i] : 0);
		free_shadow(&tr->threads[i]);
	}
	free(sigs);
	tr->nthreads = 0;
	return rc;
}

/* ------------------------------------------------------------- sessions */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_snapshot = 1;
	else if (sig == SIGALRM)
		want_timer = 1;
	else if (sig != SIGUSR2) /* SIGUSR2: a command line is ready */
		want_detach = 1;
	/* wake the loop out of waitpid with a stop it will resume */
	if (wake_tid > 0)
		ptrace(PTRACE_INTERRUPT, wake_tid, 0, 0);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void arm_timer(double seconds)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	if (seconds > 0) {
		it.it_value.tv_sec = (time_t)seconds;
		it.it_value.tv_usec =
			(suseconds_t)((seconds - (double)(time_t)seconds) *
				      1e6);
		if (!it.it_value.tv_sec && !it.it_value.tv_usec)
			it.it_value.tv_usec = 1;
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

static int loop(tracer *tr)
{
	double start = now(), next_every = start + tr->o->every;
	double end = tr->o->duration > 0 ? start + tr->o->duration : 0;

	for (;;) {
		double t = now(), wake = 0, live_wake = 0;
		if (tr->ended)
			return 0;
		if (want_detach || (end && t >= end))
			return 1;
		if (tr->o->every > 0 && t >= next_every) {
			next_every = t + tr->o->every;
			want_snapshot = 1;
		}
		if (want_snapshot && tr->tracing && !tr->stepper &&
		    !tr->vforker) {
			want_snapshot = 0;
			snapshot_on_demand(tr);
		}
		/* commands run where a snapshot can be taken */
		if (tr->tracing && !tr->stepper && !tr->vforker &&
		    live_service(tr->live, now(), &live_wake))
			return 1;
		if (tr->o->every > 0)
			wake = next_every;
		if (live_wake && (!wake || live_wake < wake))
			wake = live_wake;
		if (end && (!wake || end < wake))
			wake = end;
		if (want_timer || wake) {
			double left = wake - now();

			want_timer = 0;
			/* a snapshot may outlast the period: a deadline
			 * already past must fire at once, not disarm */
			arm_timer(!wake ? 0 : left > 1e-6 ? left : 1e-6);
		}
		if (wait_event(tr) < 0) {
			if (errno == ECHILD) {
				tr->ended = true;
				return 0;
			}
			tracer_msg("waitpid: %s", strerror(errno));
			return -1;
		}
	}
}

/* ------------------------------------------------------------ refusals */

static int read_status_field(pid_t pid, const char *key, char *out,
			     size_t len)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			char *v = line + klen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			v[strcspn(v, "\n")] = 0;
			snprintf(out, len, "%s", v);
			fclose(f);
			return 0;
		}
	fclose(f);
	return -1;
}

static int seize_error(pid_t pid, pid_t tid);

/* Why the ELF file open on fd cannot be traced ("32-bit", "other
 * architecture"), or NULL (x86-64, or not ELF: exec will tell). */
static const char *unsupported_elf(int fd)
{
	unsigned char ident[20];

	if (pread(fd, ident, sizeof(ident), 0) != (ssize_t)sizeof(ident) ||
	    memcmp(ident, "\177ELF", 4) != 0)
		return NULL;
	if (ident[4] != 2 /* ELFCLASS64 */)
		return "32-bit";
	if ((ident[18] | ident[19] << 8) != 62 /* EM_X86_64 */)
		return "other architecture";
	return NULL;
}

static const char *unsupported_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const char *why;

	if (fd < 0)
		return NULL;
	why = unsupported_elf(fd);
	close(fd);
	return why;
}

/* The file execvp would run for name, or name itself when none is
 * found (the exec then says why). */
static void find_program(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");

	snprintf(out, len, "%s", name);
	if (strchr(name, '/') || !*name)
		return;
	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		struct stat st;
		snprintf(out, len, "%.*s%s%s", (int)n, path, n ? "/" : "",
			 name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return;
		path += n + (path[n] == ':');
	}
	snprintf(out, len, "%s", name);
}

static int check_target(pid_t pid)
{
	char buf[256], path[64], comm[64] = "?";
	const char *why;
	int fd;
	long tracer_pid;

	if (read_status_field(pid, "State", buf, sizeof(buf)) < 0) {
		tracer_msg("no such process: %d", (int)pid);
		return EXIT_TRACER_NOPROC;
	}
	if (buf[0] == 'Z' || buf[0] == 'X') {
		tracer_msg("process %d is a zombie: nothing to trace",
			   (int)pid);
		return EXIT_TRACER_NOPROC;
	}
	if (read_status_field(pid, "TracerPid", buf, sizeof(buf)) == 0 &&
	    (tracer_pid = atol(buf)) != 0) {
		read_status_field((pid_t)tracer_pid, "Name", comm,
				  sizeof(comm));
		tracer_msg("process %d is already traced by process %ld (%s)",
			   (int)pid, tracer_pid, comm);
		return EXIT_TRACER_PERM;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM) {
			long uid = -1;
			/* another user's: ptrace_scope is not the reason */
			if (read_status_field(pid, "Uid", buf, sizeof(buf)) == 0)
				uid = atol(buf);
			if (uid >= 0 && uid != (long)geteuid()) {
				tracer_msg("no permission to trace process %d: "
					   "it runs as uid %ld, memsnap as uid "
					   "%ld (run memsnap as that user or as "
					   "root)", (int)pid, uid,
					   (long)geteuid());
				return EXIT_TRACER_PERM;
			}
			errno = EPERM;
			return seize_error(pid, pid);
		}
		return 0; /* kernel thread or gone: seize will tell */
	}
	if ((why = unsupported_elf(fd))) {
		close(fd);
		tracer_msg("process %d is not an x86-64 program (%s): not "
			   "supported", (int)pid, why);
		return EXIT_TRACER_UNSUPPORTED;
	}
	close(fd);
	return 0;
}

static int seize_error(pid_t pid, pid_t tid)
{
	if (errno == EPERM) {
		char buf[64];
		long ptrace_scope = -1;
		FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
		if (f) {
			if (fgets(buf, sizeof(buf), f))
				ptrace_scope = atol(buf);
			fclose(f);
		}
		if (ptrace_scope > 0)
			tracer_msg("no permission to trace process %d "
				   "(kernel.yama.ptrace_scope is %ld: run as "
				   "root or set it to 0)", (int)pid,
				   ptrace_scope);
		else
			tracer_msg("no permission to trace process %d",
				   (int)pid);
		return EXIT_TRACER_PERM;
	}
	if (errno == ESRCH) {
		tracer_msg("no such process: %d", (int)pid);
		return EXIT_TRACER_NOPROC;
	}
	tracer_msg("cannot trace thread %d of process %d: %s", (int)tid,
		   (int)pid, strerror(errno));
	return EXIT_TRACER_ERROR;
}

/* A thread created by one already seized is auto-attached: seizing it
 * again says EPERM, and it is ours. */
static bool traced_by_us(pid_t tid)
{
	char buf[64];
	int e = errno;
	bool ours = read_status_field(tid, "TracerPid", buf, sizeof(buf)) == 0 &&
		    atol(buf) == (long)getpid();

	errno = e; /* the caller reports the seize's errno */
	return ours;
}

/* A thread that could not be seized because it is exiting (the kernel
 * says EPERM then, not ESRCH): gone or a zombie within a short while. */
static bool thread_exiting(pid_t tid)
{
	char state[64];

	/* a loaded machine may take a while to finish an exit */
	for (int i = 0; i < 1000; i++) {
		struct timespec ts = { 0, 2000000 };
		if (read_status_field(tid, "State", state, sizeof(state)) < 0 ||
		    state[0] == 'Z' || state[0] == 'X')
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Seize every thread; new ones may appear while we go, so repeat until a
 * pass adds none (threads born after their creator was seized are
 * auto-attached). */
static int seize_all(tracer *tr)
{
	char path[64];
	bool added = true;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)tr->pid);
	while (added) {
		DIR *d = opendir(path);
		struct dirent *de;
		added = false;
		if (!d) {
			tracer_msg("no such process: %d", (int)tr->pid);
			return EXIT_TRACER_NOPROC;
		}
		while ((de = readdir(d))) {
			pid_t tid = (pid_t)atoi(de->d_name);
			thread *th;
			if (tid <= 0 || find_thread(tr, tid))
				continue;
			if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_OPTIONS) < 0 &&
			    !(errno == EPERM && traced_by_us(tid))) {
				int e = errno;
				if ((e == ESRCH || e == EPERM) &&
				    tid != tr->pid && thread_exiting(tid))
					continue; /* it just exited */
				errno = e;
				int rc = seize_error(tr->pid, tid);
				closedir(d);
				return rc;
			}
			th = add_thread(tr, tid);
			if (!th) {
				closedir(d);
				return EXIT_TRACER_ERROR;
			}
			added = true;
		}
		closedir(d);
	}
	return 0;
}

static int start_run(tracer *tr)
{
	char prog[4096];
	const char *why;
	int status;
	pid_t pid;

	find_program(tr->o->argv[0], prog, sizeof(prog));
	if ((why = unsupported_path(prog))) {
		tracer_msg("%s is not an x86-64 program (%s): not supported",
			   tr->o->argv[0], why);
		return EXIT_TRACER_UNSUPPORTED;
	}
	pid = fork();
	if (pid < 0) {
		tracer_msg("fork: %s", strerror(errno));
		return EXIT_TRACER_ERROR;
	}
	if (pid == 0) {
		raise(SIGSTOP);
		execvp(tr->o->argv[0], tr->o->argv);
		fprintf(stderr, "memsnap: cannot run %s: %s\n",
			tr->o->argv[0], strerror(errno));
		_exit(127);
	}
	tr->pid = pid;
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status) ||
	    ptrace(PTRACE_SEIZE, pid, 0, PTRACE_OPTIONS) < 0) {
		tracer_msg("cannot trace the child: %s", strerror(errno));
		kill(pid, SIGKILL);
		return EXIT_TRACER_ERROR;
	}
	add_thread(tr, pid);
	kill(pid, SIGCONT);
	/* from here the loop waits for the exec event, then the entry */
	return 0;
}

/* Whether th stands in the dynamic linker (the program's start-up). */
static bool in_dynamic_linker(tracer *tr, thread *th)
{
	struct user_regs_struct regs;
	char path[64], line[512];
	bool found = false;
	FILE *f;

	if (ptrace(PTRACE_GETREGS, th->tid, 0, &regs) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)tr->pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		const char *name = strrchr(line, '/');
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 &&
		    regs.rip >= lo && regs.rip < hi)
			found = name && strncmp(name, "/ld-", 4) == 0;
		if (regs.rip >= lo && regs.rip < hi)
			break;
	}
	fclose(f);
	return found;
}

static int start_attach(tracer *tr)
{
	char err[512];
	thread *inj;
	int rc;

	tr->pid = tr->o->pid;
	if ((rc = check_target(tr->pid)) != 0)
		return rc;
	if (target_mem_open(&tr->mem, tr->pid) < 0)
		return seize_error(tr->pid, tr->pid);
	if ((rc = seize_all(tr)) != 0)
		return rc;
	if (stop_all(tr, NULL) < 0 || tr->ended) {
		tracer_msg("process %d ended while being attached",
			   (int)tr->pid);
		return EXIT_TRACER_NOPROC;
	}
	if (!(inj = injector(tr, false))) {
		tracer_msg("cannot attach to %d now: every thread is inside a "
			   "syscall that creates or ends a thread; retry",
			   (int)tr->pid);
		detach_all(tr);
		return EXIT_TRACER_ERROR;
	}
	if (setup_breakpoints(tr, inj->tid, err, sizeof(err)) < 0 &&
	    in_dynamic_linker(tr, &tr->threads[0])) {
		/* attached during start-up: libc is not loaded yet; set up
		 * at the entry point, as `run` does */
		symbols_destroy(&tr->sym);
		start_image(tr, &tr->threads[0]);
		VERBOSE(tr, "attached to %d in its start-up", (int)tr->pid);
		resume_all(tr);
		return 0;
	}
	if (!tr->tracing) {
		tracer_msg("%s", err);
		detach_all(tr);
		return strstr(err, "no allocator") ? EXIT_TRACER_UNSUPPORTED :
						     EXIT_TRACER_ERROR;
	}
	VERBOSE(tr, "attached to %d (%zu threads)", (int)tr->pid,
		tr->nthreads);
	resume_all(tr);
	return 0;
}

int tracer_main(const tracer_options *o)
{
	tracer tr;
	ms_error err;
	int rc, status = EXIT_TRACER_OK;

	memset(&tr, 0, sizeof(tr));
	tr.o = o;
	prof_enabled = getenv("MEMSNAP_PROFILE") != NULL;
	tr.mem.fd = -1;
	tr.table = ms_table_new(&err);
	if (!tr.table) {
		tracer_msg("%s", err.message);
		return EXIT_TRACER_ERROR;
	}
	tr.live = live_new(o, live_take, &tr, &err);
	if (!tr.live) {
		tracer_msg("%s", err.message);
		ms_table_free(tr.table);
		return EXIT_TRACER_ERROR;
	}
	install_signals();
	rc = o->run ? start_run(&tr) : start_attach(&tr);
	if (rc != 0) {
		for (size_t i = 0; i < tr.nthreads; i++)
			free_shadow(&tr.threads[i]);
		free(tr.threads);
		free(tr.children);
		target_mem_close(&tr.mem);
		ms_table_free(tr.table);
		live_free(tr.live);
		return rc;
	}
	wake_tid = tr.pid;
	if (live_start(tr.live, tr.pid) < 0)
		want_detach = 1;
	rc = loop(&tr);
	wake_tid = 0;
	if (rc < 0)
		status = EXIT_TRACER_ERROR;
	if (!tr.ended)
		live_finish(tr.live, false);
	if (!tr.ended) {
		if (o->dump_on_exit && !tr.exit_dumped && tr.tracing) {
			tr.exit_dumped = true;
			take_snapshot(&tr, o->dump_on_exit, true);
		}
		if (detach_all(&tr) < 0) {
			tracer_msg("detach from %d was not clean", (int)tr.pid);
			status = EXIT_TRACER_ERROR;
		}
		VERBOSE(&tr, "detached from %d after %llu events",
			(int)tr.pid, (unsigned long long)tr.events);
	} else {
		if (o->dump_on_exit && !tr.exit_dumped)
			take_snapshot(&tr, o->dump_on_exit, false);
		if (o->run && status == EXIT_TRACER_OK)
			status = tr.exit_code;
	}
	if (o->run && !tr.ended)
		status = tr.exit_code ? tr.exit_code : status;
	if (tr.ended) {
		if (live_interactive(tr.live)) {
			fputc('\n', stderr); /* off the prompt's line */
			tracer_msg("process %d has ended (status %d)",
				   (int)tr.pid, tr.exit_code);
		}
		/* the commands left run on what was taken */
		live_finish(tr.live, true);
	}
	if (tr.refusal)
		status = tr.refusal;
	if (status == EXIT_TRACER_OK)
		status = live_status(tr.live);
	live_free(tr.live);
	prof_print();
	teardown_image(&tr);
	target_mem_close(&tr.mem);
	for (size_t i = 0; i < tr.nthreads; i++)
		free_shadow(&tr.threads[i]);
	for (size_t i = 0; i < RETIRED_MAX; i++)
		free(tr.retired[i].e.pcs);
	free(tr.threads);
	free(tr.children);
	mappings_clear(&tr.maps);
	ms_table_free(tr.table);
	return status;
}
