/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Shared between BPFPrograms/conn.bpf.c and the ConnCommand module: the one definition of the
 * configuration and of the event sent per established TCP connection. Fixed-width fields only,
 * explicit padding.
 */
#ifndef NETMON_CONN_H
#define NETMON_CONN_H

#include "netmon/types.h"

/* The most local ports `-P` takes; the kernel side scans them linearly (at most 64 compares). */
#define CONN_MAX_PORTS 64

/* conn_event.direction and conn_config.direction */
#define CONN_DIRECTION_ANY 0
#define CONN_DIRECTION_CONNECT 1
#define CONN_DIRECTION_ACCEPT 2

/* conn_event.ip_version and conn_config.ip_version (0: either) */
#define CONN_IP_ANY 0
#define CONN_IP_V4 4
#define CONN_IP_V6 6

/* Read-only configuration, set by userspace before load (.rodata: `conn_config`). A zero field
 * means "no filter"; the verifier sees the values as constants and drops the disabled tests. */
struct conn_config {
    __u32 tgid;                        /* -p: only this process (the kernel's tgid) */
    __u8 ip_version;                   /* -4/-6: CONN_IP_V4 or CONN_IP_V6 (IPv4-mapped counts as 4) */
    __u8 count_only;                   /* 1 (netmon serve): count in conn_counts, send no events */
    __u16 port_count;                  /* -P: how many entries of local_ports are used */
    __u16 local_ports[CONN_MAX_PORTS]; /* -P: local ports (host order) to report */
};

/*
 * One established connection (ring buffer `conn_events`). Addresses are in network order: for
 * IPv4 (ip_version 4) the first 4 bytes, for IPv6 all 16. An IPv4-mapped IPv6 connection is
 * already converted to IPv4 here, so userspace and the filters agree on what "IPv4" means.
 */
struct conn_event {
    __u64 timestamp_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) when it was established or accepted */
    __u32 pid;          /* the process (tgid) that called connect() or accept() */
    __u32 tid;          /* the thread that did */
    char comm[16];      /* the process's name (its main thread's comm) */
    __u8 saddr[16];     /* local address */
    __u8 daddr[16];     /* remote address */
    __u16 sport;        /* local port, host order */
    __u16 dport;        /* remote port, host order */
    __u8 ip_version;    /* CONN_IP_V4 or CONN_IP_V6 */
    __u8 direction;     /* CONN_DIRECTION_CONNECT or CONN_DIRECTION_ACCEPT */
    __u8 reserved[2];
};

/*
 * netmon serve's counts (conn_config.count_only = 1): every connection is counted in the kernel,
 * so the counts are exact whatever the rate, with no event and no reader in between. By
 * direction, version and process name in `conn_counts_0` or `conn_counts_1` (per-CPU hashes of at
 * most CONN_COUNT_MAX_KEYS keys, used in turn: `conn_counts_generation` picks the one the programs
 * add to; userspace flips it and empties the other at each read, so a map holds the names of one
 * read's interval); a connection whose key finds its map full is counted in
 * `conn_counts_overflow` instead (a per-CPU array of CONN_COUNT_OVERFLOW_SLOTS running totals, at
 * conn_count_overflow_slot()), under no name.
 */
#define CONN_COUNT_MAX_KEYS 4096
#define CONN_COUNT_OVERFLOW_SLOTS 4

struct conn_count_key {
    __u8 direction;     /* CONN_DIRECTION_CONNECT or CONN_DIRECTION_ACCEPT */
    __u8 ip_version;    /* CONN_IP_V4 or CONN_IP_V6 */
    __u8 reserved[2];
    char comm[16];      /* the process's name, as in conn_event */
};

/* The overflow slot of a direction and version. */
static inline __u32 conn_count_overflow_slot(__u8 direction, __u8 ip_version)
{
    return (direction == CONN_DIRECTION_ACCEPT ? 2 : 0) + (ip_version == CONN_IP_V6 ? 1 : 0);
}

#endif
