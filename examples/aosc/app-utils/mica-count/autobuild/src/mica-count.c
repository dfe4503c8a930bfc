/* mica-count: prints the lines, words and bytes of its standard input, using libmica. */
#include <stdio.h>
#include <mica.h>

int main(void)
{
	struct mica_counts counts = { 0, 0, 0 };
	int in_word = 0;
	char buf[4096];
	size_t n;

	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
		mica_count(buf, n, &counts, &in_word);
	if (ferror(stdin)) {
		perror("mica-count: standard input");
		return 1;
	}
	printf("%zu %zu %zu\n", counts.lines, counts.words, counts.bytes);
	return 0;
}
