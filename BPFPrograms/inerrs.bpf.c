// SPDX-License-Identifier: GPL-2.0-only
//
// netmon inerrs: every incoming TCP segment the kernel rejects, with the kernel's own drop reason.
//
// One hook sees every path: skb:kfree_skb carries `enum skb_drop_reason` (Linux 5.17+) wherever
// TCP drops a segment — in tcp_v4_rcv/tcp_v6_rcv before the socket lookup (checksum, header
// length, MD5/AO, min TTL), in tcp_v4_do_rcv/tcp_v6_do_rcv, and in tcp_validate_incoming,
// tcp_ack and tcp_data_queue afterwards. The seed tool hooked three functions and missed the
// first group. The program keeps only reasons userspace selected (a bitmap in .rodata), only
// received skbs (skb_iif set), and only IP packets whose protocol field is TCP.
//
// The destination socket is the one the kernel handed the drop (rx_sk), else the one early demux
// attached (skb->sk), else the one this program remembers for the segment's addresses (a drop
// before the lookup). Its owner is the process that called connect() or listen() on it: the
// kernel records no owning process in a socket, so two LRU maps, filled at
// sock:inet_sock_set_state, remember sockets and owners; an accepted socket belongs to its
// listener's process.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "netmon.bpf.h"
#include "netmon/inerrs.h"

char LICENSE[] SEC("license") = "GPL";


const volatile struct inerrs_config inerrs_config = {};

// Socket (kernel address) -> the process that made it. Both maps are LRU with 65536 entries
// (about 6-7 MB each): they must remember every live socket of the host, and connection churn
// evicts the least recently changed ones first, whose drops then show the dropping context
// instead of the owner. (At 8192 entries a burst of 10,000 connections elsewhere evicted the
// sockets under test; socket-local storage, freed with each socket, would need no bound at all.)
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, __u64);
    __type(value, struct inerrs_owner);
} inerrs_owners SEC(".maps");

// A socket's addresses -> the socket (established and listening sockets).
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct inerrs_tuple);
    __type(value, __u64);
} inerrs_sockets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} inerrs_events SEC(".maps");

NETMON_LOST_EVENTS_MAP();

static __always_inline void mapped_v4(__u8 out[16], __be32 address)
{
    __builtin_memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    __builtin_memcpy(out + 12, &address, 4);
}

// :: or ::ffff:0.0.0.0, the two ways a socket says "every address".
static __always_inline bool is_unspecified(const __u8 address[16])
{
    __u64 high, low;
    __builtin_memcpy(&high, address, 8);
    __builtin_memcpy(&low, address + 8, 8);
    if (high != 0)
        return false;
    __u8 mapped_any[8] = { 0, 0, 0xff, 0xff, 0, 0, 0, 0 };
    __u64 mapped;
    __builtin_memcpy(&mapped, mapped_any, 8);
    return low == 0 || low == mapped;
}

// The socket's addresses in the form a segment to it would carry. A listener's remote side is
// zero, and so is its local address when it listens on every address.
static __always_inline void socket_tuple(const struct sock *sk, bool listener, struct inerrs_tuple *tuple)
{
    __builtin_memset(tuple, 0, sizeof(*tuple));
    if (sk->__sk_common.skc_family == AF_INET) {
        mapped_v4(tuple->local, sk->__sk_common.skc_rcv_saddr);
        if (!listener)
            mapped_v4(tuple->remote, sk->__sk_common.skc_daddr);
    } else {
        bpf_probe_read_kernel(tuple->local, 16, &sk->__sk_common.skc_v6_rcv_saddr);
        if (!listener)
            bpf_probe_read_kernel(tuple->remote, 16, &sk->__sk_common.skc_v6_daddr);
    }
    tuple->local_port = sk->__sk_common.skc_num;
    if (listener) {
        if (is_unspecified(tuple->local))
            __builtin_memset(tuple->local, 0, 16);
    } else {
        tuple->remote_port = bpf_ntohs(sk->__sk_common.skc_dport);
    }
}

// Remembers sockets and their owners as TCP moves them between states, and forgets them at close.
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inerrs_state, const struct sock *sk, const int oldstate, const int newstate)
{
    if (sk->sk_protocol != IPPROTO_TCP)
        return 0;
    __u64 key = (__u64)sk;
    struct inerrs_tuple tuple;

    if (newstate == TCP_CLOSE) {
        bpf_map_delete_elem(&inerrs_owners, &key);
        socket_tuple(sk, oldstate == TCP_LISTEN, &tuple);
        __u64 *known = bpf_map_lookup_elem(&inerrs_sockets, &tuple);
        if (known && *known == key)  // a newer socket may have the same addresses by now
            bpf_map_delete_elem(&inerrs_sockets, &tuple);
        return 0;
    }
    // connect() and listen() run in the process that makes the socket.
    if (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN) {
        struct inerrs_owner owner = { .pid = bpf_get_current_pid_tgid() >> 32 };
        bpf_get_current_comm(owner.comm, sizeof(owner.comm));
        bpf_map_update_elem(&inerrs_owners, &key, &owner, BPF_ANY);
    }
    // Only now are both ports known (connect() picks the local port after SYN_SENT).
    if (newstate == TCP_ESTABLISHED || newstate == TCP_LISTEN) {
        socket_tuple(sk, newstate == TCP_LISTEN, &tuple);
        bpf_map_update_elem(&inerrs_sockets, &tuple, &key, BPF_ANY);
    }
    return 0;
}

// The listener for local address:port, on that address or on every address; 0 when none.
static __always_inline __u64 find_listener(struct inerrs_tuple *tuple)
{
    __builtin_memset(tuple->remote, 0, 16);
    tuple->remote_port = 0;
    __u64 *listener = bpf_map_lookup_elem(&inerrs_sockets, tuple);
    if (listener)
        return *listener;
    __builtin_memset(tuple->local, 0, 16);
    listener = bpf_map_lookup_elem(&inerrs_sockets, tuple);
    return listener ? *listener : 0;
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

// The one way every drop program reports (inerrs_legacy.bpf.h too): keeps selected reasons of
// received TCP segments of the selected family and owner, finds the socket's owner and emits
// the event. ctx is the calling program's context; rx_sk may be NULL.
static __always_inline void report_drop(void *ctx, struct sk_buff *skb, __u32 reason, const struct sock *rx_sk)
{
    // Cheapest tests first: most freed skbs are not drops with a selected reason, or not received.
    if (!reason_selected(reason) || skb->skb_iif == 0)
        return;

    struct inerrs_event event = { .reason = reason };
    struct inerrs_tuple tuple = {};
    unsigned char *network = skb->head + skb->network_header;
    __u32 transport_offset;
    if (skb->protocol == bpf_htons(ETH_P_IP)) {
        struct iphdr ip;
        if (bpf_probe_read_kernel(&ip, sizeof(ip), network) || ip.protocol != IPPROTO_TCP)
            return;
        event.ip_version = 4;
        __builtin_memcpy(event.saddr, &ip.saddr, 4);
        __builtin_memcpy(event.daddr, &ip.daddr, 4);
        mapped_v4(tuple.remote, ip.saddr);
        mapped_v4(tuple.local, ip.daddr);
        transport_offset = ip.ihl * 4;
    } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr ip;
        // Segments behind IPv6 extension headers are not parsed (nexthdr is then not TCP).
        if (bpf_probe_read_kernel(&ip, sizeof(ip), network) || ip.nexthdr != IPPROTO_TCP)
            return;
        event.ip_version = 6;
        __builtin_memcpy(event.saddr, &ip.saddr, 16);
        __builtin_memcpy(event.daddr, &ip.daddr, 16);
        __builtin_memcpy(tuple.remote, &ip.saddr, 16);
        __builtin_memcpy(tuple.local, &ip.daddr, 16);
        transport_offset = sizeof(ip);
    } else {
        return;
    }
    if (inerrs_config.ip_version && inerrs_config.ip_version != event.ip_version)
        return;

    // The transport header offset may not be set yet, so it comes from the IP header.
    struct tcphdr tcp;
    if (bpf_probe_read_kernel(&tcp, sizeof(tcp), network + (transport_offset & 0x3f)))
        return;
    event.sport = bpf_ntohs(tcp.source);
    event.dport = bpf_ntohs(tcp.dest);
    tuple.remote_port = event.sport;
    tuple.local_port = event.dport;

    // The socket: the kernel's, early demux's, or the one remembered for these addresses.
    __u64 socket = (__u64)rx_sk;
    if (!socket)
        socket = (__u64)skb->sk;
    if (!socket) {
        __u64 *known = bpf_map_lookup_elem(&inerrs_sockets, &tuple);
        if (known)
            socket = *known;
    }
    __u64 listener = 0;
    if (socket) {
        event.state = BPF_CORE_READ((struct sock *)socket, __sk_common.skc_state);
    } else {
        listener = find_listener(&tuple);
        // Before its lookup, the kernel would hand a listener only a SYN of a new connection.
        if (listener && tcp.syn && !tcp.ack) {
            socket = listener;
            event.state = TCP_LISTEN;
        }
    }

    // The owner: the socket's, else its listener's (accepted sockets, request sockets). A
    // TIME_WAIT socket belongs to no process any more.
    struct inerrs_owner *owner = socket ? bpf_map_lookup_elem(&inerrs_owners, &socket) : NULL;
    if (!owner && event.state != TCP_TIME_WAIT) {
        if (!listener && socket)
            listener = find_listener(&tuple);
        if (listener)
            owner = bpf_map_lookup_elem(&inerrs_owners, &listener);
    }
    if (inerrs_config.owner_pid && (!owner || owner->pid != inerrs_config.owner_pid))
        return;
    if (owner) {
        event.pid = owner->pid;
        __builtin_memcpy(event.comm, owner->comm, sizeof(event.comm));
        event.owner_known = 1;
    } else {
        event.pid = bpf_get_current_pid_tgid() >> 32;
        bpf_get_current_comm(event.comm, sizeof(event.comm));
    }
    event.time_ns = bpf_ktime_get_ns();
    if (bpf_ringbuf_output(&inerrs_events, &event, sizeof(event), netmon_ringbuf_flags(event.time_ns)))
        netmon_count_lost();
    return;
}

// Linux 6.13+: the tracepoint also names the socket the segment was delivered to.
SEC("tp_btf/kfree_skb")
int BPF_PROG(inerrs_drop, struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk)
{
    report_drop(ctx, skb, reason, rx_sk);
    return 0;
}

// Linux 5.17-6.12: no rx_sk argument; the socket comes from skb->sk or the remembered addresses.
SEC("tp_btf/kfree_skb")
int BPF_PROG(inerrs_drop_without_rx_sk, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
    report_drop(ctx, skb, reason, NULL);
    return 0;
}

#include "inerrs_legacy.bpf.h"
