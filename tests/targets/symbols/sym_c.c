/* sym_c - a C target for the symbolizer tests, made into variants by the
 * test (stripped with a split debug file, without debug info, without any
 * symbols, with MiniDebugInfo). Prints "LABEL 0xPC" return addresses, then
 * "ready", and exits at end of input. */
#include <stdio.h>

__attribute__((noinline)) void here(const char *label)
{
	printf("%s %p\n", label, __builtin_return_address(0));
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static int leaf_function(int x)
{
	here("leaf");
	return x * 3;
}

__attribute__((noinline)) int middle_function(int x)
{
	return leaf_function(x) + 1;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	volatile int r = middle_function(2);
	(void)r;
	printf("ready\n");
	char buf[64];
	while (fgets(buf, sizeof(buf), stdin))
		;
	return 0;
}
