// ctorcxx.cc - a shared library with a C++ static constructor that
// allocates with new and new[] (ctors.test).
struct Registry {
	int *cells;
	long *head;
	Registry()
	{
		cells = new int[25]; // @cxx_static_array 100
		head = new long(7); // @cxx_static_new 8
	}
};

Registry registry;
