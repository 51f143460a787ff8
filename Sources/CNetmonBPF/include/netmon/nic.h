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
    /* 1: count every interface of the namespace in `nic_all_queues` (netmon serve), ignoring
     * `ifindex` and `counts_link_header` (each device's own loopback flag decides). */
    __u32 all_interfaces;
};

#define NIC_DIRECTION_TX 0
#define NIC_DIRECTION_RX 1

/* Key of the per-CPU hash `nic_all_queues` (all-interfaces mode). */
struct nic_queue_key {
    __u32 ifindex;
    __u16 queue;
    __u8 direction;  /* NIC_DIRECTION_* */
    __u8 reserved;
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

/* Index 0 of the per-CPU array `nic_uncounted`: packets of interfaces that found `nic_all_queues`
 * full, so that a loss is never silent. */

#endif
