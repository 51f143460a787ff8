/* SPDX-License-Identifier: MIT */
/* CCrypt: libxcrypt's crypt_rn for Swift (bcrypt password hashes of the web config file). */
#ifndef CCRYPT_H
#define CCRYPT_H

/* 1 when `password` hashes to `hash` under `hash`'s own method and salt, 0 when it does not, -1
 * when libxcrypt cannot read `hash` (an unknown method or a malformed salt). The comparison takes
 * the same time wherever the two hashes differ. */
int ccrypt_verify(const char *password, const char *hash);

#endif
