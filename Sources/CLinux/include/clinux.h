/* SPDX-License-Identifier: MIT */
/* CLinux: Linux system headers that Swift's Glibc module does not import. */
#ifndef CLINUX_H
#define CLINUX_H

#include <sys/signalfd.h>

#endif
