/* format.c - report formatting helpers shared by the front-ends. */
#include "config.h"
#include "memsnapP.h"

#include <stdio.h>

static double abs_value(double v)
{
	return v < 0 ? -v : v;
}

/* tracemalloc._format_size's loop on a double: the unit is chosen so that
 * at most 4 or 5 digits show. Python divides by 1024 at each step; a double
 * holds size / 1024^k rounded exactly as Python's true division does,
 * because dividing by a power of two does not round again. */
static void format_size(char *buf, size_t len, double value, bool sign)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };

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

/* Bytes are an integer in Python; "%.0f" of the double prints it exactly
 * below 10 KiB, where bytes are shown. */
void ms_format_size(char *buf, size_t len, int64_t size, bool sign)
{
	format_size(buf, len, (double)size, sign);
}

/* Statistic's "average=" is size / count, a float in Python: 1003 / 2 is
 * 501.5 and "%.0f" rounds it half to even, "502 B". */
void ms_format_size_double(char *buf, size_t len, double size, bool sign)
{
	format_size(buf, len, size, sign);
}
