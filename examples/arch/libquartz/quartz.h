/* libquartz: a tiny example library for the quarters build examples. */
#ifndef QUARTZ_H
#define QUARTZ_H

#include <stdint.h>

#define QUARTZ_VERSION "1.2.0"

/* The library's version at run time, to compare with QUARTZ_VERSION at build time. */
const char *quartz_version(void);

/* The 32-bit FNV-1a hash of a NUL-terminated string. */
uint32_t quartz_fnv1a(const char *text);

#endif
