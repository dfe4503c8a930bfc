/* quartz: prints the FNV-1a hash of each argument, using libquartz. */
#include <stdio.h>
#include <string.h>
#include <quartz.h>

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("quartz %s (libquartz %s)\n", QUARTZ_VERSION, quartz_version());
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: quartz TEXT...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		printf("%08x  %s\n", (unsigned)quartz_fnv1a(argv[i]), argv[i]);
	return 0;
}
