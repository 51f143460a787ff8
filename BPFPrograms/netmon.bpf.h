/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by every netmon BPF program. Include after vmlinux.h and the libbpf headers.
 */
#ifndef NETMON_BPF_H
#define NETMON_BPF_H

#include "netmon/ringbuf.h"

/* UAPI constants that vmlinux.h cannot carry (they are macros, not types). */
#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* The kernel-side count of events the ring buffer had no room for. Programs that emit events
 * declare the map with NETMON_LOST_EVENTS_MAP() and call netmon_count_lost(); userspace sums the
 * per-CPU slots and reports the growth (`netmon: lost N events (ring buffer full)`). */
#define NETMON_LOST_EVENTS_MAP()                               \
    struct {                                                   \
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);               \
        __uint(max_entries, 1);                                \
        __type(key, __u32);                                    \
        __type(value, __u64);                                  \
    } lost_events SEC(".maps")

#define netmon_count_lost()                                    \
    do {                                                       \
        __u32 zero_ = 0;                                       \
        __u64 *lost_ = bpf_map_lookup_elem(&lost_events, &zero_); \
        if (lost_)                                             \
            *lost_ += 1;                                       \
    } while (0)

/* Flags for bpf_ringbuf_submit/bpf_ringbuf_output under the wakeup contract of netmon/ringbuf.h:
 * force a wakeup when the last one is older than the window, otherwise none. (Forced, not the
 * default: with unread records queued the default would not wake a reader that sleeps.) `now_ns`
 * is bpf_ktime_get_ns(). The last wakeup time is shared by all CPUs without a lock: a race costs
 * at most an extra wakeup. */
static __u64 netmon_last_wakeup_ns;

static __always_inline __u64 netmon_ringbuf_flags(__u64 now_ns)
{
    if (now_ns - netmon_last_wakeup_ns < NETMON_WAKEUP_WINDOW_NS)
        return BPF_RB_NO_WAKEUP;
    netmon_last_wakeup_ns = now_ns;
    return BPF_RB_FORCE_WAKEUP;
}

#endif
