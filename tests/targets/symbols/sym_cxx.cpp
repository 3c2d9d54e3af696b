// sym_cxx - a C++ target for the symbolizer tests.
//
// Prints "LABEL 0xPC" for return addresses taken inside code reached
// through inline functions, templates, namespaces and lambdas, and inside
// libc (a qsort comparator's return address) and libstdc++ (a new-handler's
// return address, inside operator new), then
// "ready", and then waits for commands on stdin:
//   dlopen   loads libz.so.1 and prints "dl 0xADDR" (zlibVersion)
//   dlclose  unloads it and prints "closed"
// It exits at end of input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <new>

static void report(const char *label, void *pc)
{
	std::printf("%s %p\n", label, pc);
}

extern "C" __attribute__((noinline)) void here(const char *label)
{
	report(label, __builtin_return_address(0));
	asm volatile("" ::: "memory"); // not a tail call: keep the frame
}

static inline __attribute__((always_inline)) void inline_inner()
{
	here("inline");
}

static inline __attribute__((always_inline)) void inline_outer()
{
	inline_inner();
}

__attribute__((noinline)) void run_inline()
{
	inline_outer();
	asm volatile("");
}

namespace geo {
template <typename T> struct Box {
	T side;
	__attribute__((noinline)) T area() const
	{
		here("template");
		return side * side;
	}
};
} // namespace geo

namespace outer {
namespace inner {
__attribute__((noinline)) int answer(int x)
{
	here("namespace");
	return x + 42;
}
} // namespace inner
} // namespace outer

template <typename F> __attribute__((noinline)) int apply(F f, int x)
{
	return f(x) + 1;
}

__attribute__((noinline)) static int compare(const void *a, const void *b)
{
	static bool once;
	if (!once) {
		once = true;
		report("libc", __builtin_return_address(0));
	}
	return *(const int *)a - *(const int *)b;
}

// operator new calls the handler when malloc fails; the second round throws
__attribute__((noinline)) static void new_handler()
{
	report("libstdcxx", __builtin_return_address(0));
	std::set_new_handler(nullptr);
}

int main()
{
	setvbuf(stdout, nullptr, _IOLBF, 0);
	run_inline();
	geo::Box<long> box{3};
	volatile long a = box.area();
	volatile int n = outer::inner::answer(1);
	int base = 7;
	volatile int l = apply([&](int x) {
		here("lambda");
		return x + base;
	}, 2);
	int v[8] = {5, 3, 8, 1, 9, 2, 7, 4};
	std::qsort(v, 8, sizeof(int), compare);
	std::set_new_handler(new_handler);
	try {
		volatile size_t huge = SIZE_MAX / 2;
		delete[] new char[huge];
	} catch (const std::bad_alloc &) {
	}
	here("main");
	(void)a, (void)n, (void)l;
	std::printf("ready\n");

	char cmd[64];
	void *lib = nullptr;
	while (std::fgets(cmd, sizeof(cmd), stdin)) {
		if (std::strncmp(cmd, "dlopen", 6) == 0) {
			lib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
			std::printf("dl %p\n", lib ? dlsym(lib, "zlibVersion")
						   : nullptr);
		} else if (std::strncmp(cmd, "dlclose", 7) == 0) {
			if (lib)
				dlclose(lib);
			lib = nullptr;
			std::printf("closed\n");
		}
	}
	return 0;
}
