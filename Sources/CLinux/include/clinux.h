/* SPDX-License-Identifier: MIT */
/* CLinux: Linux system headers that Swift's Glibc module does not import. */
#ifndef CLINUX_H
#define CLINUX_H

#include <stdint.h>
#include <sys/signalfd.h>

/* Keeps only the capabilities whose bits are set in `keep` (bit N = capability N) in the calling
 * thread's effective, permitted and inheritable sets, clears its ambient set, and drops the others
 * from its bounding set where it may (CAP_SETPCAP). Returns 0, or -errno of capset(2). */
int clinux_keep_capabilities(uint64_t keep);

#endif
