/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Shared between BPFPrograms/bytes.bpf.c and the BytesCommand module: the one definition of the
 * configuration, the flow key and its counters. Fixed-width fields only, explicit padding.
 */
#ifndef NETMON_BYTES_H
#define NETMON_BYTES_H

#include "netmon/types.h"

#define BYTES_COMM_LEN 16

/* Default size of each of the two flow maps (`bytes_flows_0`, `bytes_flows_1`): the number of
 * distinct (process, connection) pairs that can move bytes within one interval. */
#define BYTES_DEFAULT_MAX_FLOWS 16384

/* Read-only configuration, set by userspace before load (.rodata: `bytes_config`). */
struct bytes_config {
    __u32 tgid;     /* count only this process (tgid); 0: every process */
    __u8 family;    /* 4: IPv4 only (IPv4-mapped included), 6: IPv6 only, 0: both */
    __u8 reserved[3];
};

/*
 * One process's traffic on one connection: the key of the flow maps. `family` is AF_INET or
 * AF_INET6; an IPv4-mapped IPv6 connection is stored as AF_INET. For AF_INET the first 4 bytes of
 * each address are used (network order), the rest are zero. Ports in host order.
 */
struct bytes_flow_key {
    __u32 tgid;
    __u16 family;
    __u16 sport;    /* local port */
    __u16 dport;    /* remote port */
    __u16 reserved;
    __u8 saddr[16]; /* local address */
    __u8 daddr[16]; /* remote address */
};

/* Bytes moved by the key's process on the key's connection since the map was last drained. */
struct bytes_flow_counters {
    __u64 rx_bytes;
    __u64 tx_bytes;
    char comm[BYTES_COMM_LEN]; /* the thread's name at the first transfer */
};

/* A flow and its counts as the socket iterator (`bytes_sockets_read`) writes them, one after another. */
struct bytes_flow_record {
    struct bytes_flow_key key;
    struct bytes_flow_counters counters;
};

/*
 * What the kernel keeps with each TCP socket that moved bytes (socket storage `bytes_sockets`): its
 * connection and its owner (the process that moved bytes on it first), read once, and the bytes the
 * owner moved since they were last taken. `portpair` and `addrpair` are the socket's own words for
 * its ports and IPv4 addresses when the entry was made: a socket disconnected and connected elsewhere
 * no longer matches them, and its later bytes go to the flow maps under the new connection.
 */
struct bytes_socket {
    struct bytes_flow_record flow; /* key.tgid: the owner */
    __u64 addrpair;
    __u32 portpair;
    __u8 ignored;   /* not counted: another family than the one asked for, or not IP */
    __u8 reserved[3];
};

#endif
