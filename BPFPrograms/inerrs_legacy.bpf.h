/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netmon inerrs on kernels without drop reasons (before 5.17; included by inerrs.bpf.c after
 * report_drop). These programs decide that TCP rejected a segment and why, and hand it to
 * report_drop with a reason of enum inerrs_legacy_reason, named like the newer kernels' reasons.
 *
 * Before 5.17, skb:kfree_skb passes only the skb and `location`, the address it was freed from,
 * and it fires only where TCP calls kfree_skb(): in tcp_v4_rcv/tcp_v6_rcv (before the socket
 * lookup, and for segments no socket takes) and in tcp_v4_do_rcv/tcp_v6_do_rcv. Every later drop
 * goes through tcp_drop(), an inlined sk_drops_add() + __kfree_skb() that no tracepoint sees. So:
 *   - inerrs_drop_location (skb:kfree_skb): userspace gives the address ranges of those functions;
 *     a segment freed there whose checksum failed is TCP_CSUM (__skb_checksum_complete marks the
 *     skb: csum_complete_sw set, csum_valid clear), one whose TCP header is shorter than 20 bytes
 *     or than its data offset is PKT_TOO_SMALL (in tcp_v4_rcv/tcp_v6_rcv only). The other drops
 *     there (no socket, TIME_WAIT, min TTL, XFRM, MD5, socket filter, backlog) look alike: not
 *     reported (NOT_SPECIFIED) — except, with the fexit programs, a segment tcp_v4_rcv/tcp_v6_rcv
 *     answered with a reset for no socket (fentry tcp_v4_send_reset/tcp_v6_send_reset with sk NULL
 *     saw it first): NO_SOCKET.
 *   - inerrs_check_incoming (fexit tcp_validate_incoming, returned false): the checks of RFC 793
 *     and RFC 7323 in their order — PAWS, sequence window, RST, SYN — evaluated again on what the
 *     function left behind (it changes none of it when it drops).
 *   - inerrs_check_ack (fexit tcp_ack, returned < 0 on the slow path, whose callers then drop):
 *     an ACK of data never sent, or older than the send window.
 *   - inerrs_check_md5_v4/_v6 (fexit tcp_v4_inbound_md5_hash/tcp_v6_inbound_md5_hash, returned
 *     true; loaded only where the kernel has them, before 5.19): no MD5 option where a key is
 *     expected, an option where the socket has no key at all, else a wrong hash.
 * Not seen on such kernels: checksum failures found after the lookup (segments longer than
 * 76 bytes whose checksum no NIC verified, checked in tcp_rcv_established), and the drops of
 * tcp_data_queue (TCP_OLD_DATA, TCP_OFOMERGE, TCP_ZEROWINDOW: --all only on newer kernels).
 */
#ifndef NETMON_INERRS_LEGACY_BPF_H
#define NETMON_INERRS_LEGACY_BPF_H

const volatile struct inerrs_legacy_config inerrs_legacy_config = {};

/* From include/net/tcp.h, the same on every kernel netmon supports. */
#define LEGACY_TCP_PAWS_WINDOW 1
#define LEGACY_TCP_PAWS_24DAYS (60 * 60 * 24 * 24)
#define LEGACY_FLAG_SLOWPATH 0x100 /* tcp_ack() flag: called from the slow path, which drops on < 0 */

static __always_inline bool seq_before(__u32 a, __u32 b)
{
    return (__s32)(a - b) < 0;
}

static __always_inline __u32 legacy_place(__u64 location)
{
    for (int i = 0; i < INERRS_LEGACY_RANGES; i++) {
        const volatile struct inerrs_code_range *range = &inerrs_legacy_config.ranges[i];
        if (location >= range->start && location < range->end)
            return range->place;
    }
    return INERRS_LEGACY_ELSEWHERE;
}

/* __skb_checksum_complete() leaves this mark on a segment whose checksum it found wrong. */
static __always_inline bool legacy_checksum_failed(const struct sk_buff *skb)
{
    return BPF_CORE_READ_BITFIELD_PROBED(skb, csum_complete_sw) && !BPF_CORE_READ_BITFIELD_PROBED(skb, csum_valid);
}

/* tcp_v4_rcv's and tcp_v6_rcv's first checks: a whole TCP header, and a data offset that is at
 * least 5 words and inside the segment. Lengths come from the IP header. */
static __always_inline bool legacy_header_too_short(const struct sk_buff *skb)
{
    unsigned char *network = BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, network_header);
    __u32 tcp_offset, tcp_length;
    if (BPF_CORE_READ(skb, protocol) == bpf_htons(ETH_P_IP)) {
        struct iphdr ip;
        if (bpf_probe_read_kernel(&ip, sizeof(ip), network) || ip.protocol != IPPROTO_TCP)
            return false;
        tcp_offset = ip.ihl * 4;
        tcp_length = bpf_ntohs(ip.tot_len) - tcp_offset;
    } else {
        struct ipv6hdr ip;
        if (bpf_probe_read_kernel(&ip, sizeof(ip), network) || ip.nexthdr != IPPROTO_TCP)
            return false;
        tcp_offset = sizeof(ip);
        tcp_length = bpf_ntohs(ip.payload_len);
    }
    if ((__s32)tcp_length < (__s32)sizeof(struct tcphdr))
        return true;
    struct tcphdr tcp;
    if (bpf_probe_read_kernel(&tcp, sizeof(tcp), network + (tcp_offset & 0x3f)))
        return false;
    return tcp.doff < 5 || tcp.doff * 4 > tcp_length;
}

/* Per CPU: the segment tcp_v4_rcv/tcp_v6_rcv last answered with a reset because no socket took it
 * (its address; 0 once its drop was seen). The answer and the drop follow each other on one CPU. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} inerrs_legacy_unanswered SEC(".maps");

static __always_inline bool legacy_had_no_socket(const struct sk_buff *skb)
{
    __u32 zero = 0;
    __u64 *unanswered = bpf_map_lookup_elem(&inerrs_legacy_unanswered, &zero);
    if (!unanswered || *unanswered != (__u64)skb)
        return false;
    *unanswered = 0;
    return true;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(inerrs_drop_location, struct sk_buff *skb, void *location)
{
    __u32 place = legacy_place((__u64)location);
    if (place == INERRS_LEGACY_ELSEWHERE)
        return 0;
    bool no_socket = place == INERRS_LEGACY_RECEIVE && legacy_had_no_socket(skb);
    if (legacy_checksum_failed(skb))
        report_drop(ctx, skb, INERRS_LEGACY_TCP_CSUM, NULL);
    else if (place == INERRS_LEGACY_RECEIVE && legacy_header_too_short(skb))
        report_drop(ctx, skb, INERRS_LEGACY_PKT_TOO_SMALL, NULL);
    else if (no_socket)
        report_drop(ctx, skb, INERRS_LEGACY_NO_SOCKET, NULL);
    return 0;
}

static __always_inline void legacy_note_reset(const struct sock *sk, const struct sk_buff *skb)
{
    __u32 zero = 0;
    __u64 *unanswered = bpf_map_lookup_elem(&inerrs_legacy_unanswered, &zero);
    if (unanswered && !sk)  // with a socket it is a TIME_WAIT or request socket's reset
        *unanswered = (__u64)skb;
}

SEC("fentry/tcp_v4_send_reset")
int BPF_PROG(inerrs_note_reset_v4, const struct sock *sk, struct sk_buff *skb)
{
    legacy_note_reset(sk, skb);
    return 0;
}

SEC("fentry/tcp_v6_send_reset")
int BPF_PROG(inerrs_note_reset_v6, const struct sock *sk, struct sk_buff *skb)
{
    legacy_note_reset(sk, skb);
    return 0;
}

/* tcp_paws_discard() without its exception for a disordered pure ACK (such an ACK passes PAWS;
 * if tcp_validate_incoming still drops it, it is reported as PAWS rather than by its later check). */
static __always_inline bool legacy_paws_rejects(const struct tcp_sock *tp)
{
    const struct tcp_options_received *options = &tp->rx_opt;
    if (!BPF_CORE_READ_BITFIELD_PROBED(options, saw_tstamp))
        return false;
    __u32 recent = BPF_CORE_READ(options, ts_recent);
    __u32 value = BPF_CORE_READ(options, rcv_tsval);
    __s32 recent_stamp = BPF_CORE_READ(options, ts_recent_stamp);
    if ((__s32)(recent - value) <= LEGACY_TCP_PAWS_WINDOW || recent == 0)
        return false;
    // ts_recent older than 24 days no longer counts (ktime_get_seconds is CLOCK_MONOTONIC).
    __u32 now = bpf_ktime_get_ns() / 1000000000;
    return (__s32)(now - (__u32)(recent_stamp + LEGACY_TCP_PAWS_24DAYS)) < 0;
}

/* tcp_sequence(): 0 when the segment overlaps the receive window, else the newer kernels' reason. */
static __always_inline __u32 legacy_sequence_reason(const struct tcp_sock *tp, const struct sk_buff *skb)
{
    const struct tcp_skb_cb *cb = (const struct tcp_skb_cb *)skb->cb;
    __u32 seq = BPF_CORE_READ(cb, seq), end_seq = BPF_CORE_READ(cb, end_seq);
    __u32 rcv_wup = BPF_CORE_READ(tp, rcv_wup), rcv_nxt = BPF_CORE_READ(tp, rcv_nxt);
    __s32 window = (__s32)(rcv_wup + BPF_CORE_READ(tp, rcv_wnd) - rcv_nxt);
    if (window < 0)
        window = 0;
    if (seq_before(end_seq, rcv_wup))
        return INERRS_LEGACY_TCP_OLD_SEQUENCE;
    if (seq_before(rcv_nxt + window, seq))
        return INERRS_LEGACY_TCP_INVALID_SEQUENCE;
    return 0;
}

/* tcp_validate_incoming's test for a reset it acts on: at rcv_nxt, or one before it in the states
 * tcp_reset_check() names (the peer may not have seen our FIN's ACK yet). */
static __always_inline bool legacy_reset_accepted(const struct tcp_sock *tp, const struct sk_buff *skb)
{
    __u32 seq = BPF_CORE_READ((const struct tcp_skb_cb *)skb->cb, seq);
    __u32 rcv_nxt = BPF_CORE_READ(tp, rcv_nxt);
    if (seq == rcv_nxt)
        return true;
    __u8 state = BPF_CORE_READ((const struct sock *)tp, __sk_common.skc_state);
    return seq == rcv_nxt - 1 && (state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING);
}

SEC("fexit/tcp_validate_incoming")
int BPF_PROG(inerrs_check_incoming, struct sock *sk, struct sk_buff *skb, const struct tcphdr *th,
             int syn_inerr, bool accepted)
{
    if (accepted)
        return 0;
    struct tcphdr header;
    if (bpf_probe_read_kernel(&header, sizeof(header), th))
        return 0;
    const struct tcp_sock *tp = (const struct tcp_sock *)sk;
    __u32 reason;
    if (!header.rst && legacy_paws_rejects(tp)) {
        reason = INERRS_LEGACY_TCP_RFC7323_PAWS;
    } else if ((reason = legacy_sequence_reason(tp, skb))) {
        if (header.syn && !header.rst)  // answered with a challenge ACK, like any SYN
            reason = INERRS_LEGACY_TCP_INVALID_SYN;
    } else if (header.rst) {
        // A reset the kernel accepted (exact sequence) closed the connection: no drop reason on the
        // newer kernels either. One in the window but not exact got a challenge ACK: TCP_RESET.
        if (legacy_reset_accepted(tp, skb))
            return 0;
        reason = INERRS_LEGACY_TCP_RESET;
    } else if (header.syn) {
        reason = INERRS_LEGACY_TCP_INVALID_SYN;
    } else {
        return 0;  // a check this code does not know
    }
    report_drop(ctx, skb, reason, sk);
    return 0;
}

SEC("fexit/tcp_ack")
int BPF_PROG(inerrs_check_ack, struct sock *sk, const struct sk_buff *skb, int flag, int result)
{
    if (result >= 0 || !(flag & LEGACY_FLAG_SLOWPATH))
        return 0;
    // tcp_ack() leaves snd_una alone when it refuses an ACK.
    __u32 ack = BPF_CORE_READ((const struct tcp_skb_cb *)skb->cb, ack_seq);
    __u32 reason = seq_before(ack, BPF_CORE_READ((const struct tcp_sock *)sk, snd_una))
        ? INERRS_LEGACY_TCP_TOO_OLD_ACK : INERRS_LEGACY_TCP_ACK_UNSENT_DATA;
    report_drop(ctx, (struct sk_buff *)skb, reason, sk);
    return 0;
}

/* Whether the segment's TCP options carry an MD5 signature (kind 19, RFC 2385). */
static __always_inline bool legacy_has_md5_option(const struct sk_buff *skb)
{
    unsigned char *transport = BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, transport_header);
    struct tcphdr tcp;
    __u8 options[64] = {};
    if (bpf_probe_read_kernel(&tcp, sizeof(tcp), transport))
        return false;
    __u32 length = tcp.doff * 4 - sizeof(tcp);
    if (length > 40 || bpf_probe_read_kernel(options, 40, transport + sizeof(tcp)))
        return false;
    __u32 offset = 0;
    for (int i = 0; i < 40 && offset < length; i++) {
        __u8 kind = options[offset & 63];
        if (kind == 0)         // end of options
            return false;
        if (kind == 1) {       // no-operation
            offset++;
            continue;
        }
        if (kind == 19)
            return true;
        __u8 size = options[(offset + 1) & 63];
        if (size < 2)
            return false;
        offset += size;
    }
    return false;
}

/* tcp_v4_inbound_md5_hash()/tcp_v6_inbound_md5_hash() returned true: which of their three tests
 * failed. A socket with keys, but none for this peer, counts as a wrong hash here (the kernel: an
 * unexpected option). */
static __always_inline void legacy_md5_rejected(void *ctx, const struct sock *sk, const struct sk_buff *skb)
{
    __u32 reason;
    if (!legacy_has_md5_option(skb))
        reason = INERRS_LEGACY_TCP_MD5NOTFOUND;
    else if (!BPF_CORE_READ((const struct tcp_sock *)sk, md5sig_info))
        reason = INERRS_LEGACY_TCP_MD5UNEXPECTED;
    else
        reason = INERRS_LEGACY_TCP_MD5FAILURE;
    report_drop(ctx, (struct sk_buff *)skb, reason, sk);
}

SEC("fexit/tcp_v4_inbound_md5_hash")
int BPF_PROG(inerrs_check_md5_v4, const struct sock *sk, const struct sk_buff *skb, int dif, int sdif, bool rejected)
{
    if (rejected)
        legacy_md5_rejected(ctx, sk, skb);
    return 0;
}

SEC("fexit/tcp_v6_inbound_md5_hash")
int BPF_PROG(inerrs_check_md5_v6, const struct sock *sk, const struct sk_buff *skb, int dif, int sdif, bool rejected)
{
    if (rejected)
        legacy_md5_rejected(ctx, sk, skb);
    return 0;
}

#endif
