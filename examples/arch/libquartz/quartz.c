#include "quartz.h"

const char *quartz_version(void)
{
	return QUARTZ_VERSION;
}

uint32_t quartz_fnv1a(const char *text)
{
	uint32_t hash = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		hash ^= *p;
		hash *= 16777619u;
	}
	return hash;
}
