/* noalloc.c - a static program without any allocator: memsnap must refuse
 * it. Built with -nostdlib; sleeps in a loop until killed. */
void _start(void);
void _start(void)
{
	static const long ts[2] = { 1, 0 };

	for (;;) {
		long ret;
		__asm__ volatile("syscall"
				 : "=a"(ret)
				 : "a"(35 /* nanosleep */), "D"(ts), "S"(0)
				 : "rcx", "r11", "memory");
	}
}
