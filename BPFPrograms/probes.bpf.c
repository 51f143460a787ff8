// SPDX-License-Identifier: GPL-2.0-only
//
// Programs netmon only loads, never attaches: each asks the verifier one question that neither the
// kernel's BTF nor its version answers (KernelFeature.programLoads). Kept to the one construct in
// question, so that a load costs next to nothing.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_SK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, __u32);
} probe_storage SEC(".maps");

// Whether the socket of an open file (bpf_sock_from_file(file)->sk) may be given to
// bpf_sk_storage_get, as inerrs_holders does: Linux 5.11-6.12 accept it; Linux 6.18 types the
// pointer untrusted and refuses it.
SEC("iter/task_file")
int probe_storage_of_file_socket(struct bpf_iter__task_file *ctx)
{
    struct file *file = ctx->file;
    if (!file)
        return 0;
    struct socket *socket = bpf_sock_from_file(file);
    if (!socket || !socket->sk)
        return 0;
    bpf_sk_storage_get(&probe_storage, socket->sk, 0, 0);
    return 0;
}
