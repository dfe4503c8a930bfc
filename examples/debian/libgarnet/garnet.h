#ifndef GARNET_H
#define GARNET_H
#include <stdint.h>

#define GARNET_VERSION "1.2.0"

/* The library's version, as it was built. */
const char *garnet_version(void);
/* FNV-1a, 32 bits, of a NUL-terminated string. */
uint32_t garnet_fnv1a(const char *text);

#endif
