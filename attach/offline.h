/* offline.h - the subcommands of `memsnap` that work on snapshot files
 * only (no process): stats, compare, filter, show, info, block, export. */
#ifndef MEMSNAP_OFFLINE_H
#define MEMSNAP_OFFLINE_H

#include <stdbool.h>
#include <stdio.h>

/* Exit statuses of the offline subcommands. */
#define MS_EXIT_OK 0
#define MS_EXIT_RUNTIME 1   /* missing or corrupt file, unknown block... */
#define MS_EXIT_USAGE 2     /* unknown option, bad number, bad pattern... */

/* Whether name is an offline subcommand ("stats", "compare", ...). */
bool ms_cli_offline_is_command(const char *name);

/* Runs one offline subcommand: argv[0] is its name ("stats"), the rest its
 * arguments. Prints to stdout; errors go to stderr as one line
 * "memsnap: ...". Returns an MS_EXIT_* status. */
int ms_cli_offline(int argc, char **argv);

/* A usage error: prints "memsnap: MESSAGE" on stderr and returns
 * MS_EXIT_USAGE (the live commands' exit status 2 too). */
int ms_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The offline part of `memsnap --help`. */
void ms_cli_offline_usage(FILE *f);

#endif /* MEMSNAP_OFFLINE_H */
