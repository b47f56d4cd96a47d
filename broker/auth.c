/*
 * auth.c: authenticated peer IDs (docs/broker.md, "Authenticated IDs").
 *
 * An ID of the form "ek-" + 64 lowercase hex digits names an Ed25519 public
 * key. Registering it needs a token "<unix ms>.<nonce>.<signature>" where
 * the signature (base64url, no padding) is by that key over
 *   "enkrypt-broker-auth-v1\n" realm "\n" key "\n" id "\n" ms "\n" nonce
 * The time must be within auth_window of the broker's clock, and each
 * signature is accepted once: the broker remembers a hash of every accepted
 * signature for twice the window (longer than any token stays fresh), in a
 * bounded cache that fails closed when full.
 */
#include "broker.h"

#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>

#define AUTH_CONTEXT "enkrypt-broker-auth-v1"
#define ID_PREFIX    "ek-"
#define ID_HEX_LEN   ((size_t)2 * EK_ED25519_PUBLIC_LEN)
#define SIG_B64_LEN  86 /* 64 bytes, base64url without padding */
#define NONCE_MIN    16
#define NONCE_MAX    64

typedef struct seen_sig {
    struct seen_sig *next;
    int64_t expires_ms;
    uint8_t hash[16];
} seen_sig;

typedef struct bk_auth {
    bk_table seen;
    seen_sig *head, *tail; /* oldest first; expiry grows with insertion */
    unsigned count;
} bk_auth;

static const void *seen_key(const void *value, size_t *len)
{
    *len = 16;
    return ((const seen_sig *)value)->hash;
}

int bk_auth_init(bk_broker *b)
{
    if (b->cfg.auth == BK_AUTH_OFF)
        return 0;
    b->auth = calloc(1, sizeof *b->auth);
    if (!b->auth || bk_table_init(&b->auth->seen, seen_key))
        return -1;
    return 0;
}

void bk_auth_free(bk_broker *b)
{
    if (!b->auth)
        return;
    for (seen_sig *s = b->auth->head, *next; s; s = next) {
        next = s->next;
        free(s);
    }
    bk_table_free(&b->auth->seen);
    free(b->auth);
    b->auth = NULL;
}

static bool is_ek_id(const char *id, size_t len)
{
    if (len != strlen(ID_PREFIX) + ID_HEX_LEN || memcmp(id, ID_PREFIX, strlen(ID_PREFIX)) != 0)
        return false;
    for (size_t i = strlen(ID_PREFIX); i < len; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

bool bk_auth_required_for(const bk_broker *b, const char *id, size_t id_len)
{
    switch (b->cfg.auth) {
    case BK_AUTH_OFF: return false;
    case BK_AUTH_REQUIRED: return true;
    case BK_AUTH_OPTIONAL:
        /* Only IDs in the ek- form are protected; others stay plain PeerJS. */
        return id_len >= 3 && memcmp(id, ID_PREFIX, 3) == 0;
    }
    return true;
}

static int b64url_val(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-')
        return 62;
    if (ch == '_')
        return 63;
    return -1;
}

/* Decode exactly SIG_B64_LEN characters into 64 bytes; the unused low bits
 * of the last character must be zero so each signature has one spelling. */
static int decode_sig(uint8_t out[EK_ED25519_SIG_LEN], const char *s)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < SIG_B64_LEN; i++) {
        int v = b64url_val(s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= EK_ED25519_SIG_LEN)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (o != EK_ED25519_SIG_LEN || (acc & ((1u << bits) - 1)))
        return -1;
    return 0;
}

static int hex_nibble(char ch)
{
    return ch <= '9' ? ch - '0' : ch - 'a' + 10;
}

static seen_sig *seen_find(bk_auth *a, const uint8_t hash[16])
{
    return bk_table_get(&a->seen, hash, 16);
}

int bk_auth_check(bk_broker *b, const char *id, size_t id_len, const char *token, int64_t wall_ms,
                  int64_t now_ms, enum bk_reject *why, const char **text)
{
    bk_auth *a = b->auth;
    *why = BK_REJ_AUTH_FAILED;
    if (!a || !is_ek_id(id, id_len)) {
        *why = BK_REJ_INVALID_ID;
        *text = "ID must be ek- followed by the 64 hex digits of an Ed25519 public key";
        return -1;
    }
    *text = "Invalid token provided";

    /* token = digits "." nonce "." signature */
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2)
        return -1;
    size_t t_len = (size_t)(dot1 - token);
    size_t n_len = (size_t)(dot2 - dot1 - 1);
    const char *sig_b64 = dot2 + 1;
    if (t_len < 1 || t_len > 15 || n_len < NONCE_MIN || n_len > NONCE_MAX ||
        strlen(sig_b64) != SIG_B64_LEN)
        return -1;
    int64_t t = 0;
    for (size_t i = 0; i < t_len; i++) {
        if (token[i] < '0' || token[i] > '9')
            return -1;
        t = t * 10 + (token[i] - '0');
    }
    for (size_t i = 0; i < n_len; i++)
        if (b64url_val(dot1[1 + i]) < 0)
            return -1;
    uint8_t sig[EK_ED25519_SIG_LEN];
    if (decode_sig(sig, sig_b64))
        return -1;

    int64_t skew = wall_ms > t ? wall_ms - t : t - wall_ms;
    if (skew > b->cfg.auth_window_ms) {
        *text = "Token expired or clock skew too large";
        return -1;
    }

    uint8_t digest[EK_SHA256_LEN];
    ek_sha256(digest, sig, sizeof sig);
    if (seen_find(a, digest)) {
        *why = BK_REJ_AUTH_REPLAY;
        *text = "Token already used";
        return -1;
    }

    uint8_t pk[EK_ED25519_PUBLIC_LEN];
    for (size_t i = 0; i < EK_ED25519_PUBLIC_LEN; i++)
        pk[i] = (uint8_t)(hex_nibble(id[3 + 2 * i]) << 4 | hex_nibble(id[4 + 2 * i]));

    /* The signed message; every part is bounded, so it fits. */
    char msg[sizeof AUTH_CONTEXT + sizeof b->cfg.auth_realm + sizeof b->cfg.key + BK_MAX_ID_LEN +
             BK_MAX_TOKEN_LEN + 8];
    int mlen =
        snprintf(msg, sizeof msg, "%s\n%s\n%s\n%.*s\n%.*s\n%.*s", AUTH_CONTEXT, b->cfg.auth_realm,
                 b->cfg.key, (int)id_len, id, (int)t_len, token, (int)n_len, dot1 + 1);
    if (mlen < 0 || (size_t)mlen >= sizeof msg)
        return -1;
    if (ek_ed25519_verify(sig, sizeof sig, pk, msg, (size_t)mlen) != 0)
        return -1;

    /* Remember it only once it verified, so garbage cannot fill the cache. */
    if (a->count >= b->cfg.auth_replay_cache) {
        *text = "Server busy: too many recent authentications, retry shortly";
        return -1;
    }
    seen_sig *s = calloc(1, sizeof *s);
    if (!s) {
        *text = "Server out of memory";
        return -1;
    }
    memcpy(s->hash, digest, 16);
    s->expires_ms = now_ms + 2 * b->cfg.auth_window_ms;
    if (bk_table_put(&a->seen, s)) {
        free(s);
        *text = "Server out of memory";
        return -1;
    }
    if (a->tail)
        a->tail->next = s;
    else
        a->head = s;
    a->tail = s;
    a->count++;
    return 0;
}

void bk_auth_expire(bk_broker *b, int64_t now_ms)
{
    bk_auth *a = b->auth;
    if (!a)
        return;
    while (a->head && a->head->expires_ms <= now_ms) {
        seen_sig *s = a->head;
        a->head = s->next;
        if (!a->head)
            a->tail = NULL;
        bk_table_del(&a->seen, s);
        free(s);
        a->count--;
    }
}
