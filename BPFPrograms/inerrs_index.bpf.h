/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netmon inerrs: the index of established and listening TCP sockets by the addresses a segment to
 * them carries, and the hand-off of a connect()ing socket's owner to its ESTABLISHED state. Used
 * by inerrs_owners.bpf.h (which keeps them) and inerrs.bpf.c (which reads them). Both are fixed
 * arrays, without allocation or lock: a state change is the hot path, and a hash map's update
 * or delete costs ~150 ns here.
 *   inerrs_sockets      1024 buckets of 8 slots (addresses, ports, network namespace -> socket and
 *                       holders). A socket goes into a free slot of its bucket when it reaches
 *                       ESTABLISHED or LISTEN (or is found at start-up) and leaves at CLOSE; a full
 *                       bucket leaves it out (never evicts). Lookups compare the whole key: exact.
 *   inerrs_connecting   1024 slots keyed by a hash of the socket's address, from connect() (when
 *                       the local port is not chosen yet) to ESTABLISHED; a second socket
 *                       connecting at once in the same slot takes it over.
 * Lock-free: a slot's socket is written last and cleared first; two CPUs filling the same bucket in
 * the same few nanoseconds can leave one socket out.
 */
#ifndef NETMON_INERRS_INDEX_BPF_H
#define NETMON_INERRS_INDEX_BPF_H

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, INERRS_INDEX_BUCKETS);
    __type(key, __u32);
    __type(value, struct inerrs_index_bucket);
} inerrs_sockets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, INERRS_CONNECTING_SLOTS);
    __type(key, __u32);
    __type(value, struct inerrs_connecting_slot);
} inerrs_connecting SEC(".maps");

static __always_inline void mapped_v4(__u8 out[16], __be32 address)
{
    __builtin_memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    __builtin_memcpy(out + 12, &address, 4);
}

/* :: or ::ffff:0.0.0.0, the two ways a socket says "every address". */
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

/* Reads a field of `sk`: a plain load where `sk` is a BTF pointer (no helper call: the state
 * change is the hot path), a CO-RE read where it is a plain kernel address (the accept exit). */
#define INERRS_SK_FIELD(btf, sk, field) ((btf) ? (sk)->field : BPF_CORE_READ(sk, field))

/* The socket's addresses in the form a segment to it would carry. A listener's remote side is
 * zero, and so is its local address when it listens on every address. `btf`: a compile-time
 * constant, see INERRS_SK_FIELD. */
static __always_inline void socket_tuple(const struct sock *sk, bool btf, bool listener, struct inerrs_tuple *tuple)
{
    __builtin_memset(tuple, 0, sizeof(*tuple));
    if (INERRS_SK_FIELD(btf, sk, __sk_common.skc_family) == AF_INET) {
        mapped_v4(tuple->local, INERRS_SK_FIELD(btf, sk, __sk_common.skc_rcv_saddr));
        if (!listener)
            mapped_v4(tuple->remote, INERRS_SK_FIELD(btf, sk, __sk_common.skc_daddr));
    } else if (btf) {
        __builtin_memcpy(tuple->local, &sk->__sk_common.skc_v6_rcv_saddr, 16);
        if (!listener)
            __builtin_memcpy(tuple->remote, &sk->__sk_common.skc_v6_daddr, 16);
    } else {
        BPF_CORE_READ_INTO(&tuple->local, sk, __sk_common.skc_v6_rcv_saddr);
        if (!listener)
            BPF_CORE_READ_INTO(&tuple->remote, sk, __sk_common.skc_v6_daddr);
    }
    tuple->netns = btf ? sk->__sk_common.skc_net.net->ns.inum : BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
    tuple->local_port = INERRS_SK_FIELD(btf, sk, __sk_common.skc_num);
    if (listener) {
        if (is_unspecified(tuple->local))
            __builtin_memset(tuple->local, 0, 16);
    } else {
        tuple->remote_port = bpf_ntohs(INERRS_SK_FIELD(btf, sk, __sk_common.skc_dport));
    }
}

/* States whose sockets are in inerrs_sockets (those a segment can reach after ESTABLISHED). */
static __always_inline bool indexed_state(int state)
{
    return state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
           state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING || state == TCP_LISTEN;
}

static __always_inline void add_holder(struct inerrs_owner *owner, const struct inerrs_owner *holder)
{
    if (owner->pid == 0) {
        *owner = *holder;
        return;
    }
    for (int i = 0; i < INERRS_HOLDERS; i++) {
        if (owner->holders[i] == holder->pid)
            return;
        if (owner->holders[i] == 0) {
            owner->holders[i] = holder->pid;
            return;
        }
    }
}

/* ---- the index ---- */

static __always_inline __u32 mix(__u32 hash, __u32 word)
{
    hash ^= word;
    hash *= 0x9e3779b1;
    return hash ^ (hash >> 15);
}

/* The bucket of `tuple`'s sockets (never NULL for the verifier's sake only: the index is in range). */
static __always_inline struct inerrs_index_bucket *index_bucket(const struct inerrs_tuple *tuple)
{
    const __u32 *words = (const __u32 *)tuple;
    __u32 hash = 0;
#pragma unroll
    for (int i = 0; i < sizeof(*tuple) / 4; i++)
        hash = mix(hash, words[i]);
    __u32 index = hash & (INERRS_INDEX_BUCKETS - 1);
    return bpf_map_lookup_elem(&inerrs_sockets, &index);
}

static __always_inline bool same_tuple(const struct inerrs_tuple *a, const struct inerrs_tuple *b)
{
    const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
    __u32 differ = 0;
#pragma unroll
    for (int i = 0; i < sizeof(*a) / 4; i++)
        differ |= x[i] ^ y[i];
    return differ == 0;
}

/* The slot of the socket with these addresses, or NULL. */
static __always_inline struct inerrs_index_slot *index_find(const struct inerrs_tuple *tuple)
{
    struct inerrs_index_bucket *bucket = index_bucket(tuple);
    if (!bucket)
        return NULL;
#pragma unroll
    for (int way = 0; way < INERRS_INDEX_WAYS; way++) {
        struct inerrs_index_slot *slot = &bucket->slots[way];
        if (slot->socket && same_tuple(&slot->key, tuple))
            return slot;
    }
    return NULL;
}

/* The slot of socket `sk` in the bucket of `tuple`, or NULL. */
static __always_inline struct inerrs_index_slot *index_slot_of(const struct sock *sk, const struct inerrs_tuple *tuple)
{
    struct inerrs_index_bucket *bucket = index_bucket(tuple);
    if (!bucket)
        return NULL;
#pragma unroll
    for (int way = 0; way < INERRS_INDEX_WAYS; way++) {
        if (bucket->slots[way].socket == (__u64)sk)
            return &bucket->slots[way];
    }
    return NULL;
}

/* Indexes socket `sk` under `tuple` with `owner` (NULL: an accepted socket before accept()
 * returns it), or updates its holders if it is there already. A full bucket leaves it out.
 * Lock-free: the socket is written last and cleared first, so a reader sees a slot whole
 * except when two CPUs fill the same bucket in the same few nanoseconds. */
static __always_inline void index_add(const struct sock *sk, const struct inerrs_tuple *tuple,
                                      const struct inerrs_owner *owner)
{
    struct inerrs_index_bucket *bucket = index_bucket(tuple);
    if (!bucket)
        return;
    int free = -1;
#pragma unroll
    for (int way = 0; way < INERRS_INDEX_WAYS; way++) {
        struct inerrs_index_slot *slot = &bucket->slots[way];
        if (slot->socket == (__u64)sk) {
            if (owner)
                add_holder(&slot->owner, owner);
            return;
        }
        if (!slot->socket && free < 0)
            free = way;
    }
    if (free < 0)
        return;
    struct inerrs_index_slot *slot = &bucket->slots[free & (INERRS_INDEX_WAYS - 1)];
    slot->key = *tuple;
    if (owner)
        slot->owner = *owner;
    else
        __builtin_memset(&slot->owner, 0, sizeof(slot->owner));
    slot->socket = (__u64)sk;
}

/* Indexes an established or listening socket by its addresses (see index_add). */
static __always_inline void index_socket(const struct sock *sk, bool btf, bool listener,
                                         const struct inerrs_owner *owner)
{
    struct inerrs_tuple tuple;
    socket_tuple(sk, btf, listener, &tuple);
    index_add(sk, &tuple, owner);
}

static __always_inline void forget_socket(const struct sock *sk, bool listener)
{
    struct inerrs_tuple tuple;
    socket_tuple(sk, true, listener, &tuple);
    /* At the move to CLOSE, tcp_set_state has already released the port (skc_num = 0); the
     * source port the socket sends from is still there (in struct inet_sock, past struct sock). */
    if (tuple.local_port == 0) {
        struct tcp_sock *tcp = bpf_skc_to_tcp_sock((void *)sk);
        if (tcp)
            tuple.local_port = bpf_ntohs(tcp->inet_conn.icsk_inet.inet_sport);
    }
    struct inerrs_index_slot *slot = index_slot_of(sk, &tuple);
    if (slot)
        slot->socket = 0;
}

/* ---- connecting sockets ---- */

static __always_inline struct inerrs_connecting_slot *connecting_slot(__u64 socket)
{
    /* The verifier allows no arithmetic but + and - on a pointer: copy its value as a number. */
    __u64 address = 0;
    bpf_probe_read_kernel(&address, sizeof(address), &socket);
    /* Sockets are cache-line aligned slab objects: the low bits say nothing. */
    __u32 index = mix((__u32)(address >> 6), (__u32)(address >> 38)) & (INERRS_CONNECTING_SLOTS - 1);
    return bpf_map_lookup_elem(&inerrs_connecting, &index);
}

/* The owner recorded at connect() for a socket still connecting, or NULL. */
static __always_inline struct inerrs_owner *connecting_owner(__u64 socket)
{
    struct inerrs_connecting_slot *slot = connecting_slot(socket);
    return slot && slot->socket == socket ? &slot->owner : NULL;
}

/* listen() in the current process. */
#endif
