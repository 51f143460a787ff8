// SPDX-License-Identifier: MIT
#include "cbpfkit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
