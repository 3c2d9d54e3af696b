/* error.c - error codes and the caller's error context. */
#include "config.h"
#include "memsnapP.h"

#include <stdio.h>
#include <string.h>

#define MS__ERRMSG(name, msg) msg,
static const char *const messages[] = { MS_ERRORS(MS__ERRMSG) };
#undef MS__ERRMSG

const char *ms_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code >= MS__NERRORS)
		return "unknown error";
	return messages[code];
}

void ms_error_clear(ms_error *err)
{
	if (!err)
		return;
	err->code = MS_OK;
	err->message[0] = '\0';
}

int ms__fail(ms_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;

		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return -code;
}

int ms__nomem(ms_error *err, const char *what)
{
	return ms__fail(err, MS_ENOMEM, "out of memory while %s", what);
}
