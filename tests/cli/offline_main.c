/* offline_main.c - a stand-alone `memsnap` for the offline subcommands,
 * used by the CLI tests until the attacher's main() dispatches to them. */
#include "config.h"
#include <stdio.h>
#include <string.h>

#include "offline.h"

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		ms_cli_offline_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? MS_EXIT_USAGE : MS_EXIT_OK;
	}
	return ms_cli_offline(argc - 1, argv + 1);
}
