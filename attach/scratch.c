/* scratch.c - a page of the target's own address space for the tracer.
 *
 * It holds the int3 that return addresses are swapped for, the return
 * stubs and their arming code (tracer.h), the out-of-line copies of
 * displaced instructions, and a "syscall; int3" for injected syscalls. It is mapped by making a stopped thread run one mmap syscall
 * (no code is loaded into the target, no dlopen). */
#include "config.h"

#include "tracer.h"

#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int scratch_syscall(pid_t tid, const target_mem *m, uint64_t code,
		    long nr, const uint64_t args[6], uint64_t *ret)
{
	static const uint8_t seq[3] = { 0x0f, 0x05, 0xcc };
	struct user_regs_struct saved, regs;
	uint8_t orig[3];
	int status, deferred = 0, rc = -1;
	bool wrote = false;

	if (ptrace(PTRACE_GETREGS, tid, 0, &saved) < 0)
		return -1;
	if (code == 0) {
		code = saved.rip;
		if (target_read(m, code, orig, 3) < 0 ||
		    target_write(m, code, seq, 3) < 0)
			return -1;
		wrote = true;
	}
	regs = saved;
	regs.rax = (unsigned long long)nr;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	regs.rip = code;
	/* Not a syscall restart: the thread may have been stopped inside an
	 * interrupted syscall, whose restart the saved registers will bring
	 * back when they are restored. */
	regs.orig_rax = (unsigned long long)-1;
	if (ptrace(PTRACE_SETREGS, tid, 0, &regs) < 0)
		goto restore_code;
	if (ptrace(PTRACE_CONT, tid, 0, 0) < 0)
		goto restore;
	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			goto restore;
		}
		if (!WIFSTOPPED(status))
			return -1; /* the thread is gone: nothing to restore */
		int sig = WSTOPSIG(status);
		if (sig == SIGTRAP && (status >> 16) == 0) {
			if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0)
				goto restore;
			if (regs.rip == code + 3)
				break;
		}
		/* A signal arriving meanwhile is re-sent once the thread is
		 * back where it was. */
		if ((status >> 16) == 0 && sig != SIGTRAP)
			deferred = sig;
		if (ptrace(PTRACE_CONT, tid, 0, 0) < 0)
			goto restore;
	}
	*ret = regs.rax;
	rc = 0;
restore:
	if (ptrace(PTRACE_SETREGS, tid, 0, &saved) < 0)
		rc = -1;
restore_code:
	if (wrote && target_write(m, code, orig, 3) < 0)
		rc = -1;
	if (deferred)
		syscall(SYS_tgkill, m->pid, tid, deferred);
	return rc;
}

/* lea stub(%rip), %r11; xchg %r11, (%rsp); mov %r11, ret(%rip);
 * jmp *cont: at a function's entry r11 is free (no argument, no saved
 * value), and one xchg leaves [rsp] either untouched or swapped. */
void scratch_arm_code(uint8_t *buf, uint64_t scratch, int b, uint64_t cont)
{
	static const uint8_t tmpl[ARM_ENTRY] = {
		0x4c, 0x8d, 0x1d, 0, 0, 0, 0,
		0x4c, 0x87, 0x1c, 0x24,
		0x4c, 0x89, 0x1d, 0, 0, 0, 0,
		0xff, 0x25, 0, 0, 0, 0 };

	for (int i = 0; i < ARM_STUBS; i++) {
		uint8_t *p = buf + i * ARM_ENTRY;
		uint64_t at = scratch + SCRATCH_ARM +
			      ((uint64_t)b * ARM_STUBS + (uint64_t)i) *
				      ARM_ENTRY;
		memcpy(p, tmpl, sizeof(tmpl));
		ms_put_rel32(p + 3, scratch + SCRATCH_STUBS +
				 (uint64_t)i * STUB_SIZE, at + 7);
		ms_put_rel32(p + 14, scratch + SCRATCH_STUB_DATA +
				  (uint64_t)i * sizeof(stub_data) +
				  offsetof(stub_data, ret), at + 18);
		memcpy(p + 24, &cont, 8);
	}
}

int scratch_map(pid_t tid, const target_mem *m, uint64_t hint,
		uint64_t *addr)
{
	uint8_t page[SCRATCH_SIZE];
	uint64_t args[6] = { 0, SCRATCH_SIZE, PROT_READ | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0 };
	uint64_t ret = (uint64_t)-1, prot = 1;

	/* Near the hooked code so that RIP-relative operands of out-of-line
	 * copies reach their targets. */
	for (int i = 1; hint && i <= 16; i++) {
		args[0] = hint - (uint64_t)i * 16 * SCRATCH_SIZE;
		args[3] = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
		if (scratch_syscall(tid, m, 0, SYS_mmap, args, &ret) < 0)
			return -1;
		if (ret == args[0])
			break;
		if (ret < (uint64_t)-4096) {
			/* an old kernel took the hint as a hint */
			uint64_t un[6] = { ret, SCRATCH_SIZE, 0, 0, 0, 0 };
			(void)scratch_syscall(tid, m, 0, SYS_munmap, un, &ret);
		}
		ret = (uint64_t)-1;
	}
	if (ret >= (uint64_t)-4096) {
		args[0] = 0;
		args[3] = MAP_PRIVATE | MAP_ANONYMOUS;
		if (scratch_syscall(tid, m, 0, SYS_mmap, args, &ret) < 0)
			return -1;
		if (ret >= (uint64_t)-4096) {
			errno = (int)-ret;
			return -1;
		}
	}
	args[0] = ret + SCRATCH_STUB_DATA;
	args[1] = 4096;
	args[2] = PROT_READ | PROT_WRITE;
	if (scratch_syscall(tid, m, 0, SYS_mprotect, args, &prot) < 0 ||
	    prot != 0) {
		args[0] = ret;
		args[1] = SCRATCH_SIZE;
		(void)scratch_syscall(tid, m, 0, SYS_munmap, args, &ret);
		return -1;
	}
	memset(page, 0xcc, sizeof(page));
	page[SCRATCH_SYSCALL] = 0x0f;
	page[SCRATCH_SYSCALL + 1] = 0x05;
	page[SCRATCH_SYSCALL + 2] = 0xcc;
	for (int i = 0; i < NSTUBS; i++)
		ms_return_stub_write(page + SCRATCH_STUBS + i * STUB_SIZE,
			   ret + SCRATCH_STUBS + (uint64_t)i * STUB_SIZE,
			   ret + SCRATCH_STUB_DATA +
				   (uint64_t)i * sizeof(stub_data));
	memset(page + SCRATCH_STUB_DATA, 0, 4096);
	if (target_write(m, ret, page, sizeof(page)) < 0) {
		args[0] = ret;
		args[1] = SCRATCH_SIZE;
		(void)scratch_syscall(tid, m, 0, SYS_munmap, args, &ret);
		return -1;
	}
	*addr = ret;
	return 0;
}

int scratch_unmap(pid_t tid, const target_mem *m, uint64_t addr)
{
	uint64_t args[6] = { addr, SCRATCH_SIZE, 0, 0, 0, 0 };
	uint64_t ret;

	if (scratch_syscall(tid, m, addr + SCRATCH_SYSCALL, SYS_munmap, args,
			    &ret) < 0)
		return -1;
	return ret == 0 ? 0 : -1;
}
