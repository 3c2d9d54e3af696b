/* format.c - report formatting helpers shared by the front-ends. */
#include "config.h"
#include "memsnapP.h"

#include <stdio.h>

static double abs_value(double v)
{
	return v < 0 ? -v : v;
}

/* tracemalloc._format_size: the unit is chosen so that at most 4 or 5 digits
 * show. Bytes are an integer in Python, later units a float (size / 1024);
 * a double holds size / 1024^k rounded exactly as Python's true division
 * does, because dividing by a power of two does not round again. */
void ms_format_size(char *buf, size_t len, int64_t size, bool sign)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double value = (double)size;

	if (!buf || !len)
		return;
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		bool last = u + 1 == sizeof(units) / sizeof(units[0]);

		if (abs_value(value) < 100.0 && u != 0) {
			snprintf(buf, len, sign ? "%+.1f %s" : "%.1f %s", value,
				 units[u]);
			return;
		}
		if (abs_value(value) < 10.0 * 1024.0 || last) {
			snprintf(buf, len, sign ? "%+.0f %s" : "%.0f %s", value,
				 units[u]);
			return;
		}
		value /= 1024.0;
	}
}
