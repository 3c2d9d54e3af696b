/* tracer.h - internals of the ptrace attacher (attach/).
 *
 * One tracer thread owns everything here; nothing is thread-safe.
 * Files: tracer.c (threads, events, the ptrace loop, detach), breakpoint.c
 * (int3 written through /proc/PID/mem, never lifted while tracing),
 * displaced.c (the first instruction under each breakpoint), scratch.c (the
 * page mapped in the target: trampoline, out-of-line copies, syscall
 * injection), unwind.c (libunwind-ptrace over a bulk stack copy), symbols.c
 * (allocator entry points from the modules' ELF symbol tables). */
#ifndef MEMSNAP_TRACER_H
#define MEMSNAP_TRACER_H

#include "return_stub.h"
#include "memsnap.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#define TRACER_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ------------------------------------------------------------- functions */

/* The hooked entry points. Semantics of each are in tracer.c. */
#define TRACER_FUNCTIONS(X)                                              \
	X(FN_MALLOC, "malloc")                                           \
	X(FN_CALLOC, "calloc")                                           \
	X(FN_REALLOC, "realloc")                                         \
	X(FN_REALLOCARRAY, "reallocarray")                               \
	X(FN_FREE, "free")                                               \
	X(FN_POSIX_MEMALIGN, "posix_memalign")                           \
	X(FN_ALIGNED_ALLOC, "aligned_alloc")                             \
	X(FN_MEMALIGN, "memalign")                                       \
	X(FN_VALLOC, "valloc")                                           \
	X(FN_PVALLOC, "pvalloc")                                         \
	X(FN_MMAP, "mmap")                                               \
	X(FN_MUNMAP, "munmap")                                           \
	X(FN_MREMAP, "mremap")

#define TRACER__FNENUM(e, name) e,
enum tracer_fn { TRACER_FUNCTIONS(TRACER__FNENUM) FN_COUNT };
#undef TRACER__FNENUM
extern const char *const tracer_fn_names[FN_COUNT];

/* ------------------------------------------------------------ memory I/O */

/* Target memory through /proc/PID/mem (writes reach read-only text). */
typedef struct target_mem {
	pid_t pid;
	int fd;
} target_mem;

int target_mem_open(target_mem *m, pid_t pid);
void target_mem_close(target_mem *m);
int target_read(const target_mem *m, uint64_t addr, void *buf, size_t len);
int target_write(const target_mem *m, uint64_t addr, const void *buf,
		 size_t len);

/* ------------------------------------------------------ displaced insns */

/* How the first instruction under a breakpoint is executed while the int3
 * stays in place. */
enum displaced_how {
	DISP_EMULATE,    /* done by the tracer on the saved registers */
	DISP_OUTOFLINE,  /* copy in the scratch page + jump back */
	DISP_STEP,       /* restore, single-step with other threads held */
};
/* --displaced: auto picks the cheapest that applies; the others force a
 * strategy wherever it applies (tests use them to cover each path). */
enum displaced_mode { DMODE_AUTO, DMODE_OUTOFLINE, DMODE_STEP };

enum emulate_op {
	EMU_NOP,        /* endbr64, nop: nothing but rip */
	EMU_PUSH,       /* push reg */
	EMU_MOV_REG,    /* mov reg, reg (32 or 64 bits) */
	EMU_MOV_IMM,    /* mov reg, imm */
	EMU_JMP,        /* jmp rel */
	EMU_CALL,       /* call rel */
};

typedef struct displaced {
	uint8_t len;
	enum displaced_how how;
	enum emulate_op op;
	int dst, src;          /* register indexes (see displaced.c) */
	bool wide;             /* 64-bit operand */
	uint64_t imm;          /* immediate or branch target */
	bool rip_relative;
	int32_t disp;          /* RIP-relative displacement */
	uint8_t disp_offset;   /* where the displacement sits in the insn */
	char text[200];        /* "push r12", for --verbose */
} displaced;

/* Decode the instruction at addr (code holds its bytes) and pick how to run
 * it. Returns 0, or -1 when capstone cannot decode it. */
int displaced_decode(displaced *d, uint64_t addr, const uint8_t *code,
		     size_t len, enum displaced_mode mode);
/* Apply an emulated instruction to regs (push writes target memory). */
int displaced_emulate(const displaced *d, const target_mem *m,
		      struct user_regs_struct *regs, uint64_t addr);
/* Whether the emulated instruction at addr leaves [rsp], rsp and r11 alone
 * (its stop may then go through arming code); *next is where it
 * continues. */
bool displaced_emulated_next(const displaced *d, uint64_t addr,
			     uint64_t *next);
/* Write the out-of-line copy of the instruction at addr, followed by a jump
 * back to addr + len, into buf (at least DISPLACED_SLOT bytes) that will
 * live at slot. Returns 0 or -1 when the RIP-relative operand cannot reach
 * from the slot. */
#define DISPLACED_SLOT 32
int displaced_relocate(const displaced *d, const uint8_t *code, uint64_t addr,
		       uint64_t slot, uint8_t *buf);

/* ------------------------------------------------------------ breakpoints */

typedef struct breakpoint {
	uint64_t addr;
	unsigned fns;          /* bit set of enum tracer_fn at this address */
	uint8_t orig[16];      /* original bytes, orig[0] replaced by 0xcc */
	displaced insn;
	uint64_t ool;          /* out-of-line slot, 0 when none */
	bool arm;              /* has arming code (SCRATCH_ARM) */
	bool inserted;
} breakpoint;

int breakpoint_insert(const target_mem *m, breakpoint *bp);
int breakpoint_remove(const target_mem *m, breakpoint *bp);

/* ------------------------------------------------------------- scratch */

/* Layout of the scratch pages: code (r-x), return stubs (r-x), stub data
 * (rw-), arming code (r-x). */
#define SCRATCH_SIZE (7 * 4096)
#define SCRATCH_TRAMPOLINE 0   /* int3: return capture with a stop */
#define SCRATCH_SYSCALL 8      /* syscall; int3: injected syscalls */
#define SCRATCH_SLOTS 64       /* out-of-line slots, DISPLACED_SLOT each */
/* Return stubs: return capture without a stop. Stub i stores rax into its
 * data, counts the return there and jumps to the real return address kept
 * there; the tracer collects the result at its next stop (a count other
 * than the one it last saw: a stub's data is never reset). It clobbers
 * r11, which no caller expects to survive a call. */
#define SCRATCH_STUBS 4096
#define SCRATCH_STUB_DATA 8192
#define STUB_SIZE MS_STUB_SIZE
#define NSTUBS (4096 / STUB_SIZE)
typedef ms_stub_data stub_data;
/* Arming code: the tracer arms stub i at the entry of breakpoint b by
 * setting rip alone, to entry (b, i), which swaps the return address at
 * [rsp] for stub i, keeps it in stub i's data and jumps to where the
 * breakpoint's displaced instruction continues (the out-of-line copy, or
 * past an emulated instruction); no write from the tracer. For the first
 * ARM_STUBS stubs; the others are armed by the tracer's own write. */
#define SCRATCH_ARM 12288
#define ARM_STUBS 32
#define ARM_ENTRY 32
/* Write the arming entries of breakpoint index b (FN_COUNT at most),
 * continuing at cont, into buf (ARM_STUBS * ARM_ENTRY bytes) that will
 * live at scratch + SCRATCH_ARM + b * ARM_STUBS * ARM_ENTRY. */
void scratch_arm_code(uint8_t *buf, uint64_t scratch, int b, uint64_t cont);
_Static_assert(SCRATCH_ARM + FN_COUNT * ARM_STUBS * ARM_ENTRY <= SCRATCH_SIZE,
	       "the arming code fits in the scratch pages");

/* Run one syscall in the stopped thread tid, which must be in a ptrace
 * stop with every other thread of the process stopped too. code is the
 * address of a "syscall; int3" sequence, or 0 to write one temporarily at
 * the thread's rip. Registers and bytes are restored. */
int scratch_syscall(pid_t tid, const target_mem *m, uint64_t code,
		    long nr, const uint64_t args[6], uint64_t *ret);
/* Map the scratch page (near hint) and fill its fixed parts. */
int scratch_map(pid_t tid, const target_mem *m, uint64_t hint,
		uint64_t *addr);
int scratch_unmap(pid_t tid, const target_mem *m, uint64_t addr);

/* -------------------------------------------------------------- symbols */

/* An address range of a function whose frames are skipped at record time
 * (operator new, strdup, ...). */
typedef struct addr_range {
	uint64_t start, end;
} addr_range;

typedef struct symbols {
	uint64_t fn_addr[FN_COUNT];    /* 0 when not found */
	char *fn_module[FN_COUNT];     /* module that defines it */
	addr_range *wrappers;
	size_t nwrappers;
	uint64_t libc_low;             /* lowest module address with hooks */
	char *hooked;                  /* "malloc,free,..." */
} symbols;

/* Resolve the entry points of process pid in the dynamic linker's lookup
 * order. Fills err on failure. */
int symbols_resolve(symbols *s, pid_t pid, const target_mem *m,
		    char *err, size_t errlen);
void symbols_destroy(symbols *s);
bool symbols_is_wrapper(const symbols *s, uint64_t pc);
/* The dynamic linker's debugger interface of process pid: the address of
 * _dl_debug_state (r_brk: the dynamic linker calls it before and after
 * each change of the link map) and of its r_debug. -1 when the process
 * has no dynamic linker (static executable) or it cannot be read. */
int symbols_dynamic_linker(pid_t pid, uint64_t *brk, uint64_t *rdebug);
/* Each module of the link map of pid in lookup order, the executable
 * first: cb(arg, path, bias). -1 when it cannot be read. */
int symbols_each_module(pid_t pid, const target_mem *m,
			void (*cb)(void *arg, const char *path, uint64_t bias),
			void *arg);
/* The entry points that the module at path, loaded at bias, defines
 * itself (0 for the others). */
void symbols_module_entries(const char *path, uint64_t bias,
			    uint64_t fn_addr[FN_COUNT]);

/* --------------------------------------------------------------- unwind */

typedef struct unwinder unwinder;
unwinder *unwinder_new(pid_t pid, const target_mem *m);
void unwinder_free(unwinder *u);
/* Drop every cache (exec, new mappings). */
void unwinder_flush(unwinder *u);
/* Unwind the stopped thread tid from regs, which are at the entry of an
 * allocator function (rsp points at the return address). Fills pcs with
 * the return addresses of the callers, most recent first, frames in
 * wrappers skipped, at most max; returns how many and sets *total to the
 * depth before truncation. */
/* The word at [rsp] of the last unwind's stack copy (0 when unread). */
uint64_t unwinder_return_address(const unwinder *u);
uint32_t unwinder_unwind(unwinder *u, pid_t tid,
			 const struct user_regs_struct *regs,
			 const symbols *sym, uint64_t *pcs, uint32_t max,
			 uint32_t *total);

/* -------------------------------------------------------------- profile */

/* MEMSNAP_PROFILE=1 in the environment: where the time of the stops goes,
 * printed at the end (docs/BENCHMARKS.md). Off, a mark costs one branch. */
enum prof_part {
	PROF_WAIT,      /* waitpid: the target running, the stop, the wake */
	PROF_GETREGS,
	PROF_STUBS,     /* collecting returns through stubs */
	PROF_STACK,     /* the bulk stack copy */
	PROF_UNWIND,
	PROF_ARM,       /* return stub or trampoline armed */
	PROF_RECORD,    /* the trace table */
	PROF_SETREGS,
	PROF_CONT,
	PROF_PARTS
};
extern bool prof_enabled;
extern uint64_t prof_ns[PROF_PARTS], prof_n[PROF_PARTS];
extern uint64_t prof_unwind_memo;     /* unwinds answered from memory */
uint64_t prof_clock(void);
static inline uint64_t prof_start(void)
{
	return prof_enabled ? prof_clock() : 0;
}
/* Adds the time since since to part; returns now. */
static inline uint64_t prof_mark(enum prof_part part, uint64_t since)
{
	uint64_t t;

	if (!prof_enabled)
		return 0;
	t = prof_clock();
	prof_ns[part] += t - since;
	prof_n[part]++;
	return t;
}

/* --------------------------------------------------------------- tracer */

typedef struct tracer_options {
	bool run;                 /* run argv, else attach to pid */
	pid_t pid;
	char **argv;
	uint32_t frames;          /* --frames */
	double every;             /* --every, 0 = off */
	double duration;          /* --duration, 0 = until the end */
	const char *output;       /* --output pattern for periodic/SIGUSR1 */
	const char *dump_on_exit; /* --dump-on-exit */
	const char *dump_on_crash;/* --dump-on-crash */
	enum displaced_mode displaced;
	bool return_stubs;        /* --return-capture stub (else trap) */
	int verbose;
	/* the live command line (session.c) */
	char **commands;          /* -c and --script lines, in order */
	size_t ncommands;
	bool interactive;         /* a prompt on the terminal */
	bool keep_going;          /* --every/--duration/--dump-on-exit: go on
				     tracing after the commands */
	unsigned keep;            /* --keep: newest -o files kept, 0 = all */
} tracer_options;

/* Exit statuses (documented in --help). */
enum {
	EXIT_TRACER_OK = 0,
	EXIT_TRACER_ERROR = 1,      /* internal error (process left as it was) */
	EXIT_TRACER_USAGE = 2,
	EXIT_TRACER_NOPROC = 3,     /* no such process / zombie */
	EXIT_TRACER_PERM = 4,       /* permission denied / already traced */
	EXIT_TRACER_UNSUPPORTED = 5,/* not x86-64, no allocator found */
};

/* Runs the whole session; returns an exit status (for `run`, the target's
 * own exit status when it ended normally). */
int tracer_main(const tracer_options *o);

void tracer_msg(const char *fmt, ...) TRACER_PRINTF(1, 2);

#endif /* MEMSNAP_TRACER_H */
