#include "garnet.h"

const char *garnet_version(void)
{
	return GARNET_VERSION;
}

uint32_t garnet_fnv1a(const char *text)
{
	uint32_t hash = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		hash ^= *p;
		hash *= 16777619u;
	}
	return hash;
}
