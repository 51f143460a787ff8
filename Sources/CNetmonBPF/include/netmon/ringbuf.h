/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The ring-buffer wakeup contract between the BPF programs that emit events (netmon.bpf.h,
 * netmon_ringbuf_flags) and their reader (NetmonCLI's Runner.forEachEvent).
 *
 * Waking the reader costs the submitting program an irq_work self-IPI, about 1 us on a virtual
 * machine: several times the program itself. So a record submitted less than
 * NETMON_WAKEUP_WINDOW_NS after the last wakeup does not wake the reader, and the reader, once
 * woken, keeps reading (pausing briefly between reads) until it has seen no record for longer
 * than the window. Every record is read, a lone event still at once, and a burst costs about one
 * wakeup per window instead of one per record.
 */
#ifndef NETMON_RINGBUF_H
#define NETMON_RINGBUF_H

#define NETMON_WAKEUP_WINDOW_NS 1000000ULL /* 1 ms */

#endif
