/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The ring-buffer wakeup contract between the BPF programs that emit events (netmon.bpf.h,
 * netmon_ringbuf_flags) and their reader (NetmonCLI's Runner.forEachEvent).
 *
 * Waking the reader costs the submitting program an irq_work self-IPI: measured 5.6 us on this
 * project's virtual machine (bpf_ringbuf_submit with BPF_RB_FORCE_WAKEUP, against 0.1 us without),
 * ten times the program itself. So a record submitted less than NETMON_WAKEUP_WINDOW_NS after the
 * last wakeup does not wake the reader, and the reader, once woken, keeps reading (pausing briefly
 * between reads) until it has seen no record for longer than the window. Every record is read, a
 * lone event still at once, and a stream of events costs at most one wakeup per window (100 a
 * second) whatever its rate: with a 1 ms window, a stream of 2,000 events a second still paid a
 * wakeup every second event.
 */
#ifndef NETMON_RINGBUF_H
#define NETMON_RINGBUF_H

#define NETMON_WAKEUP_WINDOW_NS 10000000ULL /* 10 ms */

#endif
