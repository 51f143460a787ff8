// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ctls.h"

static _Thread_local char last_error[256];

const char *ctls_last_error(void) {
    unsigned long code = ERR_get_error();
    if (code == 0) {
        last_error[0] = '\0';
    } else {
        const char *reason = ERR_reason_error_string(code);
        if (reason != NULL) {
            snprintf(last_error, sizeof last_error, "%s", reason);
        } else {
            ERR_error_string_n(code, last_error, sizeof last_error);
        }
    }
    ERR_clear_error();
    return last_error;
}

static SSL_CTX *fail(SSL_CTX *context, const char **failed, const char *field, char *error, size_t size,
                     const char *what) {
    const char *reason = ctls_last_error();
    snprintf(error, size, "%s%s%s", what, reason[0] ? ": " : "", reason);
    *failed = field;
    SSL_CTX_free(context);
    return NULL;
}

static X509 *read_pem_certificate(BIO *bio) { return PEM_read_bio_X509(bio, NULL, NULL, NULL); }

// A BIO over a file or over PEM text in memory.
static BIO *open_source(const char *file, const char *pem) {
    return file != NULL ? BIO_new_file(file, "r") : BIO_new_mem_buf(pem, -1);
}

static bool use_certificate_chain(SSL_CTX *context, const char *file, const char *pem) {
    if (file != NULL) return SSL_CTX_use_certificate_chain_file(context, file) == 1;
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL) return false;
    X509 *leaf = read_pem_certificate(bio);
    bool ok = leaf != NULL && SSL_CTX_use_certificate(context, leaf) == 1;
    X509_free(leaf);
    X509 *extra;
    while (ok && (extra = read_pem_certificate(bio)) != NULL) {
        if (SSL_CTX_add0_chain_cert(context, extra) != 1) {
            X509_free(extra);
            ok = false;
        }
    }
    ERR_clear_error();  // the end of the chain reads as "no start line"
    BIO_free(bio);
    return ok;
}

static bool use_private_key(SSL_CTX *context, const char *file, const char *pem) {
    BIO *bio = open_source(file, pem);
    if (bio == NULL) return false;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    bool ok = key != NULL && SSL_CTX_use_PrivateKey(context, key) == 1;
    EVP_PKEY_free(key);
    return ok;
}

// Loads the client CAs both as the trust store and as the names sent in CertificateRequest.
static bool use_client_cas(SSL_CTX *context, const char *file, const char *pem) {
    BIO *bio = open_source(file, pem);
    if (bio == NULL) return false;
    X509_STORE *store = SSL_CTX_get_cert_store(context);
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    X509 *certificate;
    int loaded = 0;
    while ((certificate = read_pem_certificate(bio)) != NULL) {
        X509_STORE_add_cert(store, certificate);
        sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(certificate)));
        X509_free(certificate);
        loaded++;
    }
    BIO_free(bio);
    if (loaded == 0) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        return false;
    }
    ERR_clear_error();
    SSL_CTX_set_client_CA_list(context, names);
    return true;
}

// RequestClientCert and RequireAnyClientCert ask for a certificate without verifying it.
static int accept_any_certificate(int preverified, X509_STORE_CTX *store) {
    (void)preverified;
    (void)store;
    return 1;
}

SSL_CTX *ctls_server_context_new(const struct ctls_server_settings *s, const char **failed, char *error,
                                 size_t error_size) {
    ERR_clear_error();
    SSL_CTX *context = SSL_CTX_new(TLS_server_method());
    if (context == NULL) return fail(NULL, failed, "tls_server_config", error, error_size, "cannot create a TLS context");
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION);
    if (s->prefer_server_ciphers) SSL_CTX_set_options(context, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_min_proto_version(context, s->min_version) != 1)
        return fail(context, failed, "min_version", error, error_size, "this OpenSSL refuses it");
    if (SSL_CTX_set_max_proto_version(context, s->max_version) != 1)
        return fail(context, failed, "max_version", error, error_size, "this OpenSSL refuses it");
    if (!use_certificate_chain(context, s->cert_file, s->cert_pem))
        return fail(context, failed, s->cert_file ? "cert_file" : "cert", error, error_size,
                    "cannot load the certificate");
    if (!use_private_key(context, s->key_file, s->key_pem))
        return fail(context, failed, s->key_file ? "key_file" : "key", error, error_size, "cannot load the private key");
    if (SSL_CTX_check_private_key(context) != 1)
        return fail(context, failed, s->key_file ? "key_file" : "key", error, error_size,
                    "the private key does not match the certificate");
    if (s->cipher_list != NULL && SSL_CTX_set_cipher_list(context, s->cipher_list) != 1)
        return fail(context, failed, "cipher_suites", error, error_size, "none of them can be used");
    if (s->groups != NULL && SSL_CTX_set1_groups_list(context, s->groups) != 1)
        return fail(context, failed, "curve_preferences", error, error_size, "this OpenSSL refuses them");
    if (s->client_ca_file != NULL || s->client_ca_pem != NULL) {
        if (!use_client_cas(context, s->client_ca_file, s->client_ca_pem))
            return fail(context, failed, s->client_ca_file ? "client_ca_file" : "client_ca", error, error_size,
                        "no certificate could be read from it");
    } else if (s->client_auth == CTLS_VERIFY_CLIENT_CERT_IF_GIVEN
               || s->client_auth == CTLS_REQUIRE_AND_VERIFY_CLIENT_CERT) {
        SSL_CTX_set_default_verify_paths(context);  // as Go verifies against the system's roots
    }
    switch (s->client_auth) {
    case CTLS_NO_CLIENT_CERT:
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, NULL);
        break;
    case CTLS_REQUEST_CLIENT_CERT:
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, accept_any_certificate);
        break;
    case CTLS_REQUIRE_ANY_CLIENT_CERT:
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_certificate);
        break;
    case CTLS_VERIFY_CLIENT_CERT_IF_GIVEN:
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
        break;
    case CTLS_REQUIRE_AND_VERIFY_CLIENT_CERT:
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        break;
    }
    // One context serves every connection; sessions are not resumed across netmon restarts anyway.
    SSL_CTX_set_session_id_context(context, (const unsigned char *)"netmon", 6);
    return context;
}

const char *ctls_openssl_cipher_name(const char *iana_name) {
    const char *name = OPENSSL_cipher_name(iana_name);
    return name == NULL || strcmp(name, "(NONE)") == 0 ? NULL : name;
}

SSL *ctls_session_new(SSL_CTX *context, int fd) {
    SSL *session = SSL_new(context);
    if (session != NULL && SSL_set_fd(session, fd) != 1) {
        SSL_free(session);
        return NULL;
    }
    return session;
}

static enum ctls_status status_of(SSL *session, int result) {
    switch (SSL_get_error(session, result)) {
    case SSL_ERROR_WANT_READ: return CTLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return CTLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return CTLS_CLOSED;
    case SSL_ERROR_SYSCALL: return ERR_peek_error() == 0 ? CTLS_CLOSED : CTLS_FAILED;
    default: return CTLS_FAILED;
    }
}

enum ctls_status ctls_accept(SSL *session) {
    ERR_clear_error();
    int result = SSL_accept(session);
    return result == 1 ? CTLS_DONE : status_of(session, result);
}

enum ctls_status ctls_read(SSL *session, void *buffer, size_t size, size_t *count) {
    ERR_clear_error();
    int result = SSL_read_ex(session, buffer, size, count);
    return result == 1 ? CTLS_DONE : status_of(session, result);
}

enum ctls_status ctls_write(SSL *session, const void *bytes, size_t size, size_t *count) {
    ERR_clear_error();
    int result = SSL_write_ex(session, bytes, size, count);
    return result == 1 ? CTLS_DONE : status_of(session, result);
}

void ctls_shutdown(SSL *session) {
    ERR_clear_error();
    SSL_shutdown(session);
    ERR_clear_error();
}

static bool san_matches(const GENERAL_NAME *name, const char *const *names, size_t count) {
    char text[INET6_ADDRSTRLEN];
    const char *value = NULL;
    switch (name->type) {
    case GEN_DNS:
    case GEN_EMAIL:
    case GEN_URI:
        value = (const char *)ASN1_STRING_get0_data(name->d.ia5);
        break;
    case GEN_IPADD: {
        int length = ASN1_STRING_length(name->d.ip);
        const unsigned char *bytes = ASN1_STRING_get0_data(name->d.ip);
        if (length == 4) value = inet_ntop(AF_INET, bytes, text, sizeof text);
        if (length == 16) value = inet_ntop(AF_INET6, bytes, text, sizeof text);
        break;
    }
    default:
        break;
    }
    if (value == NULL) return false;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(value, names[i]) == 0) return true;
    }
    return false;
}

bool ctls_peer_has_san(SSL *session, const char *const *names, size_t count) {
    X509 *peer = SSL_get0_peer_certificate(session);
    if (peer == NULL) return false;
    GENERAL_NAMES *sans = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
    bool found = false;
    for (int i = 0; !found && i < sk_GENERAL_NAME_num(sans); i++) {
        found = san_matches(sk_GENERAL_NAME_value(sans, i), names, count);
    }
    GENERAL_NAMES_free(sans);
    return found;
}
