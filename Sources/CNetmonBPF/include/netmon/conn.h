/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/* Shared between BPFPrograms/conn.bpf.c and the ConnCommand module (not built yet). */
#ifndef NETMON_CONN_H
#define NETMON_CONN_H

#include "netmon/types.h"

#endif
