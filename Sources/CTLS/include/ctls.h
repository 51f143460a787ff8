/* SPDX-License-Identifier: MIT */
/*
 * CTLS: OpenSSL (libssl) for Swift. Builds a TLS server context from plain settings and runs
 * non-blocking server sessions; wraps what Swift cannot call (the SSL_CTX_ctrl macros, the
 * verify callback) and turns OpenSSL's error queue into one message.
 */
#ifndef CTLS_H
#define CTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/* exporter-toolkit's client_auth_type values, as Go's crypto/tls defines them. */
enum ctls_client_auth {
    CTLS_NO_CLIENT_CERT = 0,
    CTLS_REQUEST_CLIENT_CERT = 1,
    CTLS_REQUIRE_ANY_CLIENT_CERT = 2,
    CTLS_VERIFY_CLIENT_CERT_IF_GIVEN = 3,
    CTLS_REQUIRE_AND_VERIFY_CLIENT_CERT = 4,
};

struct ctls_server_settings {
    /* Each a file path or PEM text; exactly one of a pair is non-NULL (the CA may be neither). */
    const char *cert_file, *cert_pem;
    const char *key_file, *key_pem;
    const char *client_ca_file, *client_ca_pem;
    enum ctls_client_auth client_auth;
    int min_version, max_version;      /* TLS1_VERSION … TLS1_3_VERSION */
    const char *cipher_list;           /* OpenSSL names for TLS 1.2 and older, ':'-separated, or NULL */
    const char *groups;                /* "X25519:P-256", or NULL for OpenSSL's default */
    bool prefer_server_ciphers;
};

/* A server context, or NULL with `*failed` set to the settings field that failed ("cert_file",
 * "key_file", "client_ca_file", "cipher_suites", …) and a message in `error`. */
SSL_CTX *ctls_server_context_new(const struct ctls_server_settings *settings, const char **failed,
                                 char *error, size_t error_size);

/* The OpenSSL name of an IANA cipher suite name ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" →
 * "ECDHE-RSA-AES128-GCM-SHA256"), or NULL when this OpenSSL does not know it. */
const char *ctls_openssl_cipher_name(const char *iana_name);

/* A server session on the accepted socket `fd`, or NULL. */
SSL *ctls_session_new(SSL_CTX *context, int fd);

/* The outcome of a session call: done (or a byte count), or what to poll for before calling it
 * again, or the end. */
enum ctls_status {
    CTLS_DONE = 0,
    CTLS_WANT_READ = 1,
    CTLS_WANT_WRITE = 2,
    CTLS_CLOSED = 3,   /* the peer closed the connection */
    CTLS_FAILED = 4,   /* a protocol error; ctls_last_error says which */
};

enum ctls_status ctls_accept(SSL *session);
/* Reads up to `size` bytes; `*count` is how many on CTLS_DONE. */
enum ctls_status ctls_read(SSL *session, void *buffer, size_t size, size_t *count);
enum ctls_status ctls_write(SSL *session, const void *bytes, size_t size, size_t *count);
/* Sends close_notify without waiting for the peer's (the socket is closed next). */
void ctls_shutdown(SSL *session);

/* Whether the peer's certificate names one of `names` among its subject alternative names (DNS,
 * e-mail, IP address or URI), as exporter-toolkit's client_allowed_sans requires. */
bool ctls_peer_has_san(SSL *session, const char *const *names, size_t count);

/* The oldest error on this thread's OpenSSL queue as text (the queue is emptied), or "". */
const char *ctls_last_error(void);

#endif
