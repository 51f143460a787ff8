// SPDX-License-Identifier: GPL-2.0-only
//
// netmon inerrs: every incoming TCP segment the kernel rejects, with the kernel's own drop reason.
//
// One hook sees every path: skb:kfree_skb carries `enum skb_drop_reason` (Linux 5.17+) wherever
// TCP drops a segment — in tcp_v4_rcv/tcp_v6_rcv before the socket lookup (checksum, header
// length, MD5/AO, min TTL), in tcp_v4_do_rcv/tcp_v6_do_rcv, and in tcp_validate_incoming,
// tcp_ack and tcp_data_queue afterwards. The program keeps only reasons userspace selected (a
// bitmap in .rodata), only received skbs (skb_iif set), and only IP packets whose protocol (after
// any IPv6 extension headers) is TCP.
//
// The destination socket is the one the kernel handed the drop (rx_sk), else the one early demux
// attached (skb->sk), else the one indexed under the segment's addresses (a drop before the
// lookup). Its owner is a process that holds it (inerrs_owners.bpf.h); an accepted socket that no
// process has accepted yet, and a request socket, are reported with their listener's holder.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "netmon.bpf.h"
#include "sockets.bpf.h"
#include "netmon/inerrs.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct inerrs_config inerrs_config = {};

#include "inerrs_owners.bpf.h"

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} inerrs_events SEC(".maps");

NETMON_LOST_EVENTS_MAP();

// netmon serve's counts (netmon/inerrs.h).
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, INERRS_COUNT_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} inerrs_counts SEC(".maps");

// Counts one rejected segment for netmon serve. Atomic although per-CPU: the legacy drop programs
// (inerrs_legacy.bpf.h) hook several places, and one in softirq can interrupt another in process
// context on the same CPU in the middle of its add.
static __always_inline void count_rejected(__u32 reason, __u8 ip_version)
{
    __u32 slot = inerrs_count_slot(reason, ip_version);
    __u64 *counter = bpf_map_lookup_elem(&inerrs_counts, &slot);
    if (counter)
        __sync_fetch_and_add(counter, 1);
}

// The listener for local address:port, on that address or on every address.
static __always_inline struct inerrs_index_slot *find_listener(struct inerrs_tuple *tuple)
{
    __builtin_memset(tuple->remote, 0, 16);
    tuple->remote_port = 0;
    struct inerrs_index_slot *listener = index_find(tuple);
    if (listener)
        return listener;
    __builtin_memset(tuple->local, 0, 16);
    return index_find(tuple);
}

static __always_inline bool held_by(const struct inerrs_owner *owner, __u32 pid)
{
    for (int i = 0; i < INERRS_HOLDERS; i++) {
        if (owner->holders[i] == pid)
            return true;
    }
    return false;
}

static __always_inline bool reason_selected(__u32 reason)
{
    if (reason >= INERRS_REASON_LIMIT)
        return false;
    __u32 word = reason / 64;
    // Without the barrier clang folds the mask into the bound check above, and the verifier
    // then cannot see that the index stays inside the array.
    barrier_var(word);
    word &= INERRS_REASON_LIMIT / 64 - 1;
    return inerrs_config.reasons[word] & (1ULL << (reason % 64));
}

// IPv6 extension headers netmon walks to reach TCP (IPPROTO_* of the UAPI, macros vmlinux.h lacks).
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60
// More than any real packet carries before TCP; the kernel itself bounds nothing, so a segment
// behind more headers is not reported.
#define INERRS_MAX_EXTENSION_HEADERS 6

// The offset of the TCP header after the IPv6 header at `network`, or -1: not TCP, a fragment
// other than the first, or too many extension headers.
static __always_inline int ipv6_tcp_offset(const unsigned char *network, __u8 nexthdr)
{
    int offset = sizeof(struct ipv6hdr);
    for (int i = 0; i < INERRS_MAX_EXTENSION_HEADERS; i++) {
        if (nexthdr == IPPROTO_TCP)
            return offset;
        __u8 header[4];
        if (bpf_probe_read_kernel(header, sizeof(header), network + (offset & 0x3ff)))
            return -1;
        if (nexthdr == NEXTHDR_FRAGMENT) {
            __u16 fragment_offset = ((__u16)header[2] << 8 | header[3]) & 0xfff8;
            if (fragment_offset != 0)
                return -1;
            offset += 8;
        } else if (nexthdr == NEXTHDR_AUTH) {
            offset += (header[1] + 2) * 4;
        } else if (nexthdr == NEXTHDR_HOP || nexthdr == NEXTHDR_ROUTING || nexthdr == NEXTHDR_DEST) {
            offset += (header[1] + 1) * 8;
        } else {
            return -1;
        }
        nexthdr = header[0];
    }
    return nexthdr == IPPROTO_TCP ? offset : -1;
}

// The one way every drop program reports (inerrs_legacy.bpf.h too): keeps selected reasons of
// received TCP segments of the selected family and holder, finds the socket's holder and emits
// the event. ctx is the calling program's context; rx_sk may be NULL. skb and rx_sk are read
// with CO-RE reads only, so that any program type may call it; socket-local storage is read only
// when inerrs_config.drop_reads_storage says the caller is a BTF-typed program.
static __always_inline void report_drop(void *ctx, struct sk_buff *skb, __u32 reason, const struct sock *rx_sk)
{
    // Cheapest tests first: most freed skbs are not drops with a selected reason, or not received.
    if (!reason_selected(reason) || BPF_CORE_READ(skb, skb_iif) == 0)
        return;

    struct inerrs_event event = { .reason = reason };
    struct inerrs_tuple tuple = {};
    unsigned char *network = BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, network_header);
    __u16 protocol = BPF_CORE_READ(skb, protocol);
    int transport_offset;
    if (protocol == bpf_htons(ETH_P_IP)) {
        struct iphdr ip;
        if (bpf_probe_read_kernel(&ip, sizeof(ip), network) || ip.protocol != IPPROTO_TCP)
            return;
        event.ip_version = 4;
        __builtin_memcpy(event.saddr, &ip.saddr, 4);
        __builtin_memcpy(event.daddr, &ip.daddr, 4);
        mapped_v4(tuple.remote, ip.saddr);
        mapped_v4(tuple.local, ip.daddr);
        transport_offset = ip.ihl * 4;
    } else if (protocol == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr ip;
        if (bpf_probe_read_kernel(&ip, sizeof(ip), network))
            return;
        transport_offset = ipv6_tcp_offset(network, ip.nexthdr);
        if (transport_offset < 0)
            return;
        event.ip_version = 6;
        __builtin_memcpy(event.saddr, &ip.saddr, 16);
        __builtin_memcpy(event.daddr, &ip.daddr, 16);
        __builtin_memcpy(tuple.remote, &ip.saddr, 16);
        __builtin_memcpy(tuple.local, &ip.daddr, 16);
    } else {
        return;
    }
    if (inerrs_config.ip_version && inerrs_config.ip_version != event.ip_version)
        return;

    // The transport header offset may not be set yet, so it comes from the IP header.
    struct tcphdr tcp;
    if (bpf_probe_read_kernel(&tcp, sizeof(tcp), network + (transport_offset & 0x3ff)))
        return;
    if (inerrs_config.count_only) {
        count_rejected(reason, event.ip_version);
        return;
    }
    event.sport = bpf_ntohs(tcp.source);
    event.dport = bpf_ntohs(tcp.dest);
    tuple.remote_port = event.sport;
    tuple.local_port = event.dport;

    // The socket: the kernel's, early demux's, or the one indexed under these addresses in the
    // namespace of the socket, else of the receiving device (TCP reuses skb->dev once the
    // segment reached a socket, so the device is read only before).
    __u64 socket = (__u64)rx_sk;
    if (!socket)
        socket = (__u64)BPF_CORE_READ(skb, sk);
    if (socket)
        tuple.netns = BPF_CORE_READ((struct sock *)socket, __sk_common.skc_net.net, ns.inum);
    else
        tuple.netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
    struct inerrs_index_slot *known = index_find(&tuple);
    if (!socket && known)
        socket = known->socket;

    const struct inerrs_owner *owner = NULL;
    struct inerrs_index_slot *listener = NULL;
    if (socket) {
        event.state = BPF_CORE_READ((struct sock *)socket, __sk_common.skc_state);
        if (known && known->socket == socket && known->owner.pid)
            owner = &known->owner;
    } else {
        listener = find_listener(&tuple);
        // Before its lookup, the kernel would hand a listener only a SYN of a new connection.
        if (listener && tcp.syn && !tcp.ack) {
            socket = listener->socket;
            event.state = TCP_LISTEN;
            owner = &listener->owner;
        }
    }
    // Sockets that are not indexed (connecting ones; the index was full): their own record.
    if (!owner && socket) {
        if (inerrs_config.drop_reads_storage) {
            struct sock *sk = rx_sk ? (struct sock *)rx_sk : skb->sk;
            if (sk)
                owner = bpf_sk_storage_get(&inerrs_owners, sk, 0, 0);
        }
        if (!owner)
            owner = connecting_owner(socket);
    }
    // Not accepted yet, or a request socket: the listener's holder. A TIME_WAIT socket belongs
    // to no process any more.
    if (!owner && socket && event.state != TCP_TIME_WAIT) {
        if (!listener)
            listener = find_listener(&tuple);
        if (listener)
            owner = &listener->owner;
    }
    // Read once: a holder being rewritten on another CPU (accept, a scan) is the old or the new one.
    __u32 owner_pid = owner ? *(volatile __u32 *)&owner->pid : 0;
    if (owner_pid == 0)
        owner = NULL;
    if (inerrs_config.owner_pid && (!owner || !held_by(owner, inerrs_config.owner_pid)))
        return;
    if (owner) {
        event.pid = owner_pid;
        __builtin_memcpy(event.comm, owner->comm, sizeof(event.comm));
        event.owner_known = 1;
    } else {
        event.pid = bpf_get_current_pid_tgid() >> 32;
        bpf_get_current_comm(event.comm, sizeof(event.comm));
    }
    event.time_ns = bpf_ktime_get_ns();
    if (bpf_ringbuf_output(&inerrs_events, &event, sizeof(event), netmon_ringbuf_flags(event.time_ns)))
        netmon_count_lost();
}

// Linux 6.13+: the tracepoint also names the socket the segment was delivered to.
SEC("tp_btf/kfree_skb")
int BPF_PROG(inerrs_drop, struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk)
{
    report_drop(ctx, skb, reason, rx_sk);
    return 0;
}

// Linux 5.17-6.12: no rx_sk argument; the socket comes from skb->sk or the indexed addresses.
SEC("tp_btf/kfree_skb")
int BPF_PROG(inerrs_drop_without_rx_sk, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
    report_drop(ctx, skb, reason, NULL);
    return 0;
}

#include "inerrs_legacy.bpf.h"
