/* libmica: a tiny example library for the quarters AOSC examples. */
#ifndef MICA_H
#define MICA_H

#include <stddef.h>

struct mica_counts {
	size_t lines;
	size_t words;
	size_t bytes;
};

/* Adds the lines, words and bytes of buf to counts; in_word carries a word across calls. */
void mica_count(const char *buf, size_t len, struct mica_counts *counts, int *in_word);

#endif
