// SPDX-License-Identifier: GPL-2.0-only
//
// netmon nic: bytes and packets per TX and RX queue of one interface, aggregated in per-CPU maps.
// Nothing is sent to userspace per packet; NicCommand reads the counters once per interval.
// With nic_config.all_interfaces (netmon serve) it counts every interface of the namespace instead,
// keyed by ifindex in a hash.
//
// Two variants of each hook live in this one object. The loader enables the BTF-typed tracepoint
// (tp_btf, Linux 5.5+: direct field access, the cheapest) when the kernel has it, and otherwise the
// raw tracepoint (raw_tp, 4.17+, fields read with BPF_CORE_READ).
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "netmon.bpf.h"
#include "netmon/nic.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct nic_config nic_config = {};

// Sized by userspace before load to the device's queue count.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct nic_queue_counters);
} nic_tx_queues SEC(".maps"), nic_rx_queues SEC(".maps");

// All-interfaces mode (netmon serve): one entry per interface, queue and direction, made on the
// first packet; sized by userspace. Entries are never deleted, so counters only grow.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 1);
    __type(key, struct nic_queue_key);
    __type(value, struct nic_queue_counters);
} nic_all_queues SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} nic_uncounted SEC(".maps");

static __always_inline bool watched(__u32 ifindex, __u32 netns_inum)
{
    if (nic_config.all_interfaces)
        return netns_inum == nic_config.netns_inum;
    return ifindex == nic_config.ifindex && netns_inum == nic_config.netns_inum;
}

static __always_inline struct nic_queue_counters *all_queues_slot(__u32 ifindex, __u32 queue, __u8 direction)
{
    struct nic_queue_key key = { .ifindex = ifindex, .queue = queue, .direction = direction };
    struct nic_queue_counters *c = bpf_map_lookup_elem(&nic_all_queues, &key);
    if (c)
        return c;
    struct nic_queue_counters zero = {};
    bpf_map_update_elem(&nic_all_queues, &key, &zero, BPF_NOEXIST);  // another CPU may have won
    c = bpf_map_lookup_elem(&nic_all_queues, &key);
    if (!c) {
        __u32 index = 0;
        __u64 *uncounted = bpf_map_lookup_elem(&nic_uncounted, &index);
        if (uncounted)
            *uncounted += 1;
    }
    return c;
}

static __always_inline void count(void *queues, __u32 ifindex, __u32 queue, __u8 direction, __u64 bytes)
{
    // A queue beyond the map (the device grew queues while we watch) has no slot; NicCommand
    // re-reads the queue count each interval and says so.
    struct nic_queue_counters *c = nic_config.all_interfaces ? all_queues_slot(ifindex, queue, direction)
                                                             : bpf_map_lookup_elem(queues, &queue);
    if (!c)
        return;
    c->bytes += bytes;
    c->packets += 1;
}

// Whether the device's counters include the link-layer header: configured for the one watched
// interface; in all-interfaces mode every device but a loopback device's.
static __always_inline bool counts_link_header(__u32 dev_flags)
{
    return nic_config.all_interfaces ? !(dev_flags & IFF_LOOPBACK) : nic_config.counts_link_header;
}

// What the device counts per frame. Ethernet drivers and veth count the whole frame; by
// netif_receive_skb the driver has pulled the link-layer header (eth_type_trans), so RX adds it
// back. The loopback driver counts after that pull on both sides, so its TX leaves it out.
static __always_inline __u64 rx_bytes(bool with_link_header, __u32 len, __u64 head, __u64 data, __u16 mac_header)
{
    if (!with_link_header || mac_header == (__u16)~0U)
        return len;
    __u64 data_offset = data - head;
    return data_offset > mac_header ? len + (data_offset - mac_header) : len;
}

static __always_inline __u64 tx_bytes(bool with_link_header, __u32 len, __u16 mac_header, __u16 network_header)
{
    if (with_link_header || mac_header == (__u16)~0U || network_header <= mac_header)
        return len;
    __u32 link_header = network_header - mac_header;
    return len > link_header ? len - link_header : len;
}

// An RX queue is recorded as queue_mapping = queue + 1; 0 means none was recorded (queue 0).
static __always_inline __u32 rx_queue(__u16 queue_mapping)
{
    return queue_mapping ? queue_mapping - 1 : 0;
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(nic_tx_btf, const struct sk_buff *skb, const struct net_device *dev)
{
    if (!watched(dev->ifindex, dev->nd_net.net->ns.inum))
        return 0;
    __u64 bytes = tx_bytes(counts_link_header(dev->flags), skb->len, skb->mac_header, skb->network_header);
    count(&nic_tx_queues, dev->ifindex, skb->queue_mapping, NIC_DIRECTION_TX, bytes);
    return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(nic_rx_btf, struct sk_buff *skb)
{
    const struct net_device *dev = skb->dev;
    if (!dev || !watched(dev->ifindex, dev->nd_net.net->ns.inum))
        return 0;
    __u64 bytes = rx_bytes(counts_link_header(dev->flags), skb->len, (__u64)skb->head, (__u64)skb->data,
                           skb->mac_header);
    count(&nic_rx_queues, dev->ifindex, rx_queue(skb->queue_mapping), NIC_DIRECTION_RX, bytes);
    return 0;
}

SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(nic_tx_raw, const struct sk_buff *skb, const struct net_device *dev)
{
    __u32 ifindex = BPF_CORE_READ(dev, ifindex);
    if (!watched(ifindex, BPF_CORE_READ(dev, nd_net.net, ns.inum)))
        return 0;
    __u64 bytes = tx_bytes(counts_link_header(BPF_CORE_READ(dev, flags)), BPF_CORE_READ(skb, len),
                           BPF_CORE_READ(skb, mac_header), BPF_CORE_READ(skb, network_header));
    count(&nic_tx_queues, ifindex, BPF_CORE_READ(skb, queue_mapping), NIC_DIRECTION_TX, bytes);
    return 0;
}

SEC("raw_tp/netif_receive_skb")
int BPF_PROG(nic_rx_raw, struct sk_buff *skb)
{
    const struct net_device *dev = BPF_CORE_READ(skb, dev);
    if (!dev)
        return 0;
    __u32 ifindex = BPF_CORE_READ(dev, ifindex);
    if (!watched(ifindex, BPF_CORE_READ(dev, nd_net.net, ns.inum)))
        return 0;
    __u64 bytes = rx_bytes(counts_link_header(BPF_CORE_READ(dev, flags)), BPF_CORE_READ(skb, len),
                           (__u64)BPF_CORE_READ(skb, head), (__u64)BPF_CORE_READ(skb, data),
                           BPF_CORE_READ(skb, mac_header));
    count(&nic_rx_queues, ifindex, rx_queue(BPF_CORE_READ(skb, queue_mapping)), NIC_DIRECTION_RX, bytes);
    return 0;
}
