// SPDX-License-Identifier: MIT
#include "cbpfkit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct bpf_object *cbpfkit_open_mem(const void *bytes, size_t size, const char *name) {
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name);
    struct bpf_object *obj = bpf_object__open_mem(bytes, size, &opts);
    if (!obj && errno == 0) {
        errno = EINVAL;
    }
    return obj;
}

void *cbpfkit_map_initial_value(struct bpf_map *map, size_t *size) {
    // libbpf 1.1 returns const, but the memory is the mutable image it loads from (skeletons
    // write through the same pointer).
    return (void *)bpf_map__initial_value(map, size);
}

int cbpfkit_datasec_variable(const struct btf *btf, const char *section, const char *variable,
                             unsigned int *offset, unsigned int *size) {
    int id = btf__find_by_name_kind(btf, section, BTF_KIND_DATASEC);
    if (id < 0) {
        return -ENOENT;
    }
    const struct btf_type *sec = btf__type_by_id(btf, id);
    const struct btf_var_secinfo *info = btf_var_secinfos(sec);
    for (unsigned int i = 0; i < btf_vlen(sec); i++, info++) {
        const struct btf_type *var = btf__type_by_id(btf, info->type);
        const char *name = btf__name_by_offset(btf, var->name_off);
        if (name && strcmp(name, variable) == 0) {
            *offset = info->offset;
            *size = info->size;
            return 0;
        }
    }
    return -ENOENT;
}

bool cbpfkit_btf_has_typedef(const struct btf *btf, const char *name) {
    return btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) >= 0;
}

bool cbpfkit_btf_has_function(const struct btf *btf, const char *name) {
    return btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) >= 0;
}

int cbpfkit_btf_function_param_count(const struct btf *btf, const char *name) {
    int id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
    if (id < 0) {
        return -ENOENT;
    }
    const struct btf_type *proto = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
    if (!proto || !btf_is_func_proto(proto)) {
        return -ENOENT;
    }
    return (int)btf_vlen(proto);
}

int cbpfkit_btf_enumerator(const struct btf *btf, const char *enum_name, unsigned int index,
                           const char **name, long long *value) {
    int id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
    if (id < 0) {
        id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM64);
    }
    if (id < 0) {
        return -ENOENT;
    }
    const struct btf_type *t = btf__type_by_id(btf, id);
    if (index >= btf_vlen(t)) {
        return -ENOENT;
    }
    if (btf_is_enum(t)) {
        const struct btf_enum *e = btf_enum(t) + index;
        *name = btf__name_by_offset(btf, e->name_off);
        *value = e->val;
    } else {
        const struct btf_enum64 *e = btf_enum64(t) + index;
        *name = btf__name_by_offset(btf, e->name_off);
        *value = (long long)btf_enum64_value(e);
    }
    return 0;
}

// The captured messages. netmon is single-threaded while it loads, so no lock is needed.
static char *messages;
static size_t messages_length;
static bool messages_echo;
enum { messages_limit = 4 << 20 };  // a verifier log can be long; keep up to 4 MiB of it

static int capture(enum libbpf_print_level level, const char *format, va_list args) {
    if (level == LIBBPF_DEBUG && !messages_echo) {
        return 0;
    }
    // One message can be a whole verifier log: measure it first, then format it in place.
    va_list measure;
    va_copy(measure, args);
    int n = vsnprintf(NULL, 0, format, measure);
    va_end(measure);
    if (n <= 0 || messages_length + (size_t)n + 1 > messages_limit) {
        return 0;
    }
    char *grown = realloc(messages, messages_length + (size_t)n + 1);
    if (!grown) {
        return 0;
    }
    messages = grown;
    vsnprintf(messages + messages_length, (size_t)n + 1, format, args);
    if (messages_echo) {
        fputs(messages + messages_length, stderr);
    }
    messages_length += (size_t)n;
    return 0;
}

static bool capture_installed;

void cbpfkit_capture_messages(bool echo) {
    messages_echo = echo;
    libbpf_set_print(capture);
    capture_installed = true;
}

void cbpfkit_ensure_capture(void) {
    if (!capture_installed) {
        cbpfkit_capture_messages(messages_echo);
    }
}

char *cbpfkit_take_messages(void) {
    char *taken = messages;
    messages = NULL;
    messages_length = 0;
    return taken;
}

// ---- BTF probes ----

// The type behind typedefs and modifiers (const, volatile, restrict, type tags).
static const struct btf_type *skip_modifiers(const struct btf *btf, int id, int *out_id) {
    const struct btf_type *t = btf__type_by_id(btf, id);
    while (t && (btf_is_mod(t) || btf_is_typedef(t) || btf_kind(t) == BTF_KIND_TYPE_TAG)) {
        id = t->type;
        t = btf__type_by_id(btf, id);
    }
    if (out_id) {
        *out_id = id;
    }
    return t;
}

static bool composite_has_member(const struct btf *btf, const struct btf_type *t, const char *member, int depth) {
    if (!t || !btf_is_composite(t) || depth > 8) {
        return false;
    }
    const struct btf_member *m = btf_members(t);
    for (unsigned int i = 0; i < btf_vlen(t); i++, m++) {
        const char *name = btf__name_by_offset(btf, m->name_off);
        if (name && name[0] != '\0') {
            if (strcmp(name, member) == 0) {
                return true;
            }
        } else if (composite_has_member(btf, skip_modifiers(btf, m->type, NULL), member, depth + 1)) {
            return true;  // an anonymous struct or union: its members are the outer type's
        }
    }
    return false;
}

bool cbpfkit_btf_has_member(const struct btf *btf, const char *name, const char *member) {
    int kinds[] = {BTF_KIND_STRUCT, BTF_KIND_UNION};
    for (unsigned int k = 0; k < 2; k++) {
        int id = btf__find_by_name_kind(btf, name, kinds[k]);
        if (id >= 0 && composite_has_member(btf, btf__type_by_id(btf, id), member, 0)) {
            return true;
        }
    }
    return false;
}

bool cbpfkit_btf_has_type(const struct btf *btf, const char *name) {
    int kinds[] = {BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_TYPEDEF};
    for (unsigned int k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (btf__find_by_name_kind(btf, name, kinds[k]) >= 0) {
            return true;
        }
    }
    return false;
}

// The FUNC_PROTO of tracepoint `name`: btf_trace_<name> is a typedef of a pointer to it.
static const struct btf_type *tracepoint_proto(const struct btf *btf, const char *name) {
    char typedef_name[256];
    if (snprintf(typedef_name, sizeof typedef_name, "btf_trace_%s", name) >= (int)sizeof typedef_name) {
        return NULL;
    }
    int id = btf__find_by_name_kind(btf, typedef_name, BTF_KIND_TYPEDEF);
    if (id < 0) {
        return NULL;
    }
    const struct btf_type *t = skip_modifiers(btf, id, NULL);
    if (!t || !btf_is_ptr(t)) {
        return NULL;
    }
    t = btf__type_by_id(btf, t->type);
    return t && btf_is_func_proto(t) ? t : NULL;
}

int cbpfkit_btf_tracepoint_param_count(const struct btf *btf, const char *name) {
    const struct btf_type *proto = tracepoint_proto(btf, name);
    if (!proto || btf_vlen(proto) == 0) {
        return -ENOENT;
    }
    return (int)btf_vlen(proto) - 1;  // the first parameter is the context (void *__data)
}

int cbpfkit_btf_tracepoint_param_type(const struct btf *btf, const char *name, unsigned int index,
                                      char *buffer, size_t size) {
    const struct btf_type *proto = tracepoint_proto(btf, name);
    if (!proto || index + 1 >= btf_vlen(proto)) {
        return -ENOENT;
    }
    const struct btf_param *param = btf_params(proto) + index + 1;
    int pointers = 0, id = 0;
    const struct btf_type *t = skip_modifiers(btf, param->type, &id);
    while (t && id != 0 && btf_is_ptr(t)) {
        pointers++;
        t = skip_modifiers(btf, t->type, &id);
    }
    if (id == 0) {
        t = NULL;  // void
    }
    const char *kind = "";
    if (t && btf_is_struct(t)) kind = "struct ";
    else if (t && btf_is_union(t)) kind = "union ";
    else if (t && (btf_is_enum(t) || btf_is_enum64(t))) kind = "enum ";
    const char *type_name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
    if (!type_name || type_name[0] == '\0') {
        type_name = t ? "(anon)" : "void";
    }
    snprintf(buffer, size, "%s%s%s%.*s", kind, type_name, pointers ? " " : "", pointers, "********");
    return 0;
}

int cbpfkit_btf_function_id(const struct btf *btf, const char *name) {
    int id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
    return id < 0 ? -ENOENT : id;
}

int cbpfkit_probe_tracing_program(int attach_type, int btf_id) {
    // r0 = 0; exit
    struct bpf_insn insns[2] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = (enum bpf_attach_type)attach_type,
                .attach_btf_id = (unsigned int)btf_id);
    int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "netmon_probe", "GPL", insns, 2, &opts);
    if (fd < 0) {
        return fd < -1 ? fd : -errno;
    }
    close(fd);
    return 0;
}

// ---- iterators ----

struct bpf_link *cbpfkit_attach_iterator(struct bpf_program *program, int map_fd) {
    union bpf_iter_link_info info;
    memset(&info, 0, sizeof info);
    LIBBPF_OPTS(bpf_iter_attach_opts, opts);
    if (map_fd >= 0) {
        info.map.map_fd = (unsigned int)map_fd;
        opts.link_info = &info;
        opts.link_info_len = sizeof info;
    }
    return bpf_program__attach_iter(program, &opts);
}

int cbpfkit_read_iterator(int link_fd, unsigned char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    int fd = bpf_iter_create(link_fd);
    if (fd < 0) {
        return -errno;
    }
    size_t capacity = 1 << 16, length = 0;
    unsigned char *buffer = malloc(capacity);
    int result = 0;
    while (buffer) {
        if (capacity - length < 4096) {
            unsigned char *grown = realloc(buffer, capacity * 2);
            if (!grown) {
                result = -ENOMEM;
                break;
            }
            buffer = grown;
            capacity *= 2;
        }
        ssize_t n = read(fd, buffer + length, capacity - length);
        if (n < 0) {
            if (errno == EINTR) continue;
            // EAGAIN: the iterator asked to be restarted (a seq_file overflow); the caller may retry.
            result = -errno;
            break;
        }
        if (n == 0) {
            break;
        }
        length += (size_t)n;
    }
    close(fd);
    if (!buffer) {
        return -ENOMEM;
    }
    if (result < 0) {
        free(buffer);
        return result;
    }
    *data = buffer;
    *size = length;
    return 0;
}
