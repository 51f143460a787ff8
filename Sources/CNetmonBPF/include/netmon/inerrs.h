/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/* Shared between BPFPrograms/inerrs.bpf.c and the InerrsCommand module (not built yet). */
#ifndef NETMON_INERRS_H
#define NETMON_INERRS_H

#include "netmon/types.h"

#endif
