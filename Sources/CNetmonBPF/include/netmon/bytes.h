/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/* Shared between BPFPrograms/bytes.bpf.c and the BytesCommand module (not built yet). */
#ifndef NETMON_BYTES_H
#define NETMON_BYTES_H

#include "netmon/types.h"

#endif
