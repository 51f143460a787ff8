/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The fixed-width types every shared header uses. BPF programs get them from vmlinux.h (included
 * first); Swift and other userspace C get them from the UAPI header.
 */
#ifndef NETMON_TYPES_H
#define NETMON_TYPES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#endif
