// cxx.cc - operator new/new[]/delete go through malloc/free; frames inside
// operator new and strdup are skipped, so the call site is the caller's
// line. Built by the test itself (the project has no C++ compiler check).
#include <cstring>
#include <new>

#include "target.h"

struct Obj {
	char bytes[48];
};

Obj *volatile one;
int *volatile many;
char *volatile copy;
long *volatile nothrow_one;

int main(int argc, char **argv)
{
	target_wait_hooked(argc, argv);
	one = new Obj; // @new 48
	many = new int[25]; // @new_array 100
	nothrow_one = new (std::nothrow) long; // @new_nothrow 8
	int *volatile gone = new int(5);
	delete gone;
	int *volatile gone_array = new int[7];
	delete[] gone_array;
	copy = strdup("hello"); // @strdup 6
	target_ready();
	return 0;
}
