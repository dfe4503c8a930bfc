#include "mica.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void mica_count(const char *buf, size_t len, struct mica_counts *counts, int *in_word)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			counts->lines++;
		if (is_blank(buf[i])) {
			*in_word = 0;
		} else if (!*in_word) {
			*in_word = 1;
			counts->words++;
		}
	}
	counts->bytes += len;
}
