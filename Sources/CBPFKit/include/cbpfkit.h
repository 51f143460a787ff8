/* SPDX-License-Identifier: MIT */
/*
 * CBPFKit: libbpf for Swift. Includes the libbpf headers and wraps only what Swift cannot use
 * directly: the option-struct macros, the va_list print callback, const-casts of libbpf 1.1's API.
 */
#ifndef CBPFKIT_H
#define CBPFKIT_H

#include <stdbool.h>
#include <stddef.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* bpf_object__open_mem with the object name set (libbpf otherwise names it by its address in
 * every message). NULL with errno set on failure. The bytes must outlive the object. */
struct bpf_object *cbpfkit_open_mem(const void *bytes, size_t size, const char *name);

/* The writable initial contents of a global-data map (.rodata, .bss) before load; NULL if none. */
void *cbpfkit_map_initial_value(struct bpf_map *map, size_t *size);

/* Where a global variable lives inside its data section: 0, or -ENOENT. */
int cbpfkit_datasec_variable(const struct btf *btf, const char *section, const char *variable,
                             unsigned int *offset, unsigned int *size);

/* Whether the BTF has a typedef / a function of this name (the kind constants are macros and
 * enumerators at once in the UAPI headers, which Swift cannot disambiguate). */
bool cbpfkit_btf_has_typedef(const struct btf *btf, const char *name);
bool cbpfkit_btf_has_function(const struct btf *btf, const char *name);

/* How many parameters kernel function `name` takes (or -ENOENT): what tells signatures apart when a
 * function loses or gains one (tcp_recvmsg lost `nonblock` in Linux 5.19). */
int cbpfkit_btf_function_param_count(const struct btf *btf, const char *name);

/* Whether the BTF has a struct or union called `name` with a member called `member` (at any depth of
 * anonymous members). */
bool cbpfkit_btf_has_member(const struct btf *btf, const char *name, const char *member);

/* Whether the BTF has a struct, union, enum or typedef called `name`. */
bool cbpfkit_btf_has_type(const struct btf *btf, const char *name);

/* The parameters of tracepoint `name` (its `btf_trace_<name>` typedef), without the leading context
 * pointer: how many there are (or -ENOENT), and the index-th one's type written as C ("struct sock *",
 * "int", "enum skb_drop_reason") into `buffer`. */
int cbpfkit_btf_tracepoint_param_count(const struct btf *btf, const char *name);
int cbpfkit_btf_tracepoint_param_type(const struct btf *btf, const char *name, unsigned int index,
                                      char *buffer, size_t size);

/* Whether the kernel accepts a BPF_PROG_TYPE_TRACING program of `attach_type` (BPF_TRACE_FENTRY,
 * BPF_TRACE_FEXIT, or BPF_TRACE_ITER on a bpf_iter_<target> function) on the kernel function with
 * BTF id `btf_id`: loads a two-instruction program and closes it. 0, or -errno (kernels can list a
 * function and still refuse: trampolines, or an iterator target, with EPERM). */
int cbpfkit_probe_tracing_program(int attach_type, int btf_id);

/* The BTF id of the kernel function `name`, or -ENOENT. */
int cbpfkit_btf_function_id(const struct btf *btf, const char *name);

/* Runs an iterator link once: creates the iterator and reads everything it writes into a malloc'd
 * buffer (*data, *size; caller frees). 0, or -errno. */
int cbpfkit_read_iterator(int link_fd, unsigned char **data, size_t *size);

/* Attaches an iterator program; for map iterators `map_fd` is the map (-1 for none). NULL with errno. */
struct bpf_link *cbpfkit_attach_iterator(struct bpf_program *program, int map_fd);

/* The index-th enumerator of `enum enum_name` (ENUM or ENUM64): 0, or -ENOENT past the end or
 * when there is no such enum. */
int cbpfkit_btf_enumerator(const struct btf *btf, const char *enum_name, unsigned int index,
                           const char **name, long long *value);

/*
 * libbpf's messages. They are captured (the verifier log arrives this way) so that a failing load
 * can carry them in its error; with `echo` they are also written to stderr as they come, debug
 * messages included.
 */
void cbpfkit_capture_messages(bool echo);
/* Installs the capture if it is not installed yet, leaving `echo` as it is. */
void cbpfkit_ensure_capture(void);
/* The messages captured since the last call, malloc'd (caller frees); NULL when there were none. */
char *cbpfkit_take_messages(void);

#endif
