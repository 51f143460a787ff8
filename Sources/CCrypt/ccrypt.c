// SPDX-License-Identifier: MIT
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "ccrypt.h"

int ccrypt_verify(const char *password, const char *hash) {
    // crypt_data is 32 KiB: on the heap, not the server thread's stack.
    struct crypt_data *data = calloc(1, sizeof *data);
    if (data == NULL) return -1;
    const char *computed = crypt_rn(password, hash, data, sizeof *data);
    int result;
    if (computed == NULL || computed[0] == '*') {
        result = -1;
    } else {
        size_t length = strlen(hash);
        unsigned char difference = strlen(computed) != length;
        for (size_t i = 0; i < length && computed[i] != '\0'; i++) {
            difference |= (unsigned char)(computed[i] ^ hash[i]);
        }
        result = difference == 0;
    }
    explicit_bzero(data, sizeof *data);
    free(data);
    return result;
}
