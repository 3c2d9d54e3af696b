/* breakpoint.c - int3 written through /proc/PID/mem.
 *
 * /proc/PID/mem writes go through the kernel's FOLL_FORCE path, which
 * breaks copy-on-write of read-only text like PTRACE_POKETEXT but takes any
 * length in one call. */
#include "config.h"

#include "tracer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

int target_mem_open(target_mem *m, pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	m->pid = pid;
	m->fd = open(path, O_RDWR | O_CLOEXEC);
	return m->fd < 0 ? -1 : 0;
}

void target_mem_close(target_mem *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

int target_read(const target_mem *m, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	/* process_vm_readv skips the file descriptor layer; fall back to
	 * /proc/PID/mem for pages it cannot read (PROT_NONE, guard). */
	if (process_vm_readv(m->pid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return 0;
	if (pread(m->fd, buf, len, (off_t)addr) == (ssize_t)len)
		return 0;
	return -1;
}

int target_write(const target_mem *m, uint64_t addr, const void *buf,
		 size_t len)
{
	ssize_t n = pwrite(m->fd, buf, len, (off_t)addr);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

int breakpoint_insert(const target_mem *m, breakpoint *bp)
{
	static const uint8_t int3 = 0xcc;

	if (bp->inserted)
		return 0;
	if (target_write(m, bp->addr, &int3, 1) < 0)
		return -1;
	bp->inserted = true;
	return 0;
}

int breakpoint_remove(const target_mem *m, breakpoint *bp)
{
	if (!bp->inserted)
		return 0;
	if (target_write(m, bp->addr, bp->orig, 1) < 0)
		return -1;
	bp->inserted = false;
	return 0;
}
