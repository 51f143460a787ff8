/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Shared between BPFPrograms/nic.bpf.c and the NicCommand module: the one definition of the
 * configuration and the per-queue counters. Fixed-width fields only, no padding holes.
 */
#ifndef NETMON_NIC_H
#define NETMON_NIC_H

#include "netmon/types.h"

/* Read-only configuration, set by userspace before load (.rodata: `nic_config`). */
struct nic_config {
    __u32 ifindex;     /* the watched interface's index ... */
    __u32 netns_inum;  /* ... inside this network namespace (inode number of /proc/self/ns/net) */
    /* 1 when the device's counters include the link-layer header (Ethernet drivers, veth), 0 when
     * they do not (the loopback driver counts after eth_type_trans has pulled it). */
    __u32 counts_link_header;
    __u32 reserved;
};

/*
 * Value of the per-CPU queue maps `nic_tx_queues` and `nic_rx_queues` (key: __u32 queue index).
 * Counters only grow; userspace diffs two readings, so no increment is lost to a reset.
 * `bytes` is what the device itself counts (see `counts_link_header`).
 */
struct nic_queue_counters {
    __u64 bytes;
    __u64 packets;
};

#endif
