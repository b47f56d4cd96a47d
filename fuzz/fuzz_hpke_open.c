/*
 * fuzz_hpke_open.c: HPKE's receive path (RFC 9180 §5.1 Setup<MODE>R, §5.2
 * ContextR.Open) on arbitrary bytes.
 *
 * A fixed recipient key, sender key, psk and info; the input chooses the
 * rest:
 *   byte 0        bits 0-1: AEAD (AES-128-GCM, AES-256-GCM, ChaCha20-
 *                 Poly1305, export-only); bits 2-3: mode
 *   bytes 1..32   enc
 *   byte 33       aad length n (cut to what is left)
 *   next n bytes  aad
 *   the rest      ct
 * Properties: no crash or sanitizer report; an open that fails leaves pt
 * all zero; an open that succeeds must be the genuine ciphertext, so the
 * fuzzer forged nothing: re-sealing the plaintext from the fixed sender's
 * deterministic ephemeral key gives back exactly enc and ct; the same ct
 * then no longer opens (the sequence number moved).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_hpke.h>

enum { MAX_CT = 1 << 16 };

static const uint16_t aeads[4] = {EK_HPKE_AEAD_AES128GCM, EK_HPKE_AEAD_AES256GCM,
                                  EK_HPKE_AEAD_CHACHA20POLY1305, EK_HPKE_AEAD_EXPORT_ONLY};

/* The fixed parties: DeriveKeyPair of these ikm. The seeds in
 * fuzz/corpus/fuzz_hpke_open/ are genuine messages from this sender (with
 * ikm_e) in several modes and AEADs, so mutations start from valid input. */
static const uint8_t ikm_r[32] = "fuzz_hpke_open recipient ikm...";
static const uint8_t ikm_s[32] = "fuzz_hpke_open sender ikm......";
static const uint8_t ikm_e[32] = "fuzz_hpke_open ephemeral ikm...";
static const uint8_t psk[32] = "fuzz_hpke_open pre-shared key..";
static const uint8_t psk_id[] = "psk-id";
static const uint8_t info[11] = "fuzz-info!";

static void opts_for(ek_hpke_opts *o, ek_hpke_mode mode, const uint8_t *sk_s, const uint8_t *pk_s)
{
    memset(o, 0, sizeof(*o));
    o->mode = mode;
    if (mode == EK_HPKE_MODE_PSK || mode == EK_HPKE_MODE_AUTH_PSK) {
        o->psk = psk;
        o->psk_len = sizeof(psk);
        o->psk_id = psk_id;
        o->psk_id_len = sizeof(psk_id);
    }
    if (mode == EK_HPKE_MODE_AUTH || mode == EK_HPKE_MODE_AUTH_PSK) {
        o->sk_s = sk_s;
        o->pk_s = pk_s;
    }
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* A successful open must be the fixed sender's genuine message. */
static void check_genuine(ek_hpke_suite suite, const uint8_t *pk_r, const ek_hpke_opts *o,
                          const uint8_t *enc, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                          size_t pt_len, const uint8_t *ct, size_t ct_len)
{
    static uint8_t again[MAX_CT + EK_HPKE_TAG_LEN];
    uint8_t enc2[32];
    ek_hpke_ctx s;
    if (ek_hpke_setup_sender_derand(&s, enc2, suite, pk_r, info, sizeof(info), o, ikm_e,
                                    sizeof(ikm_e)) != EK_OK ||
        ek_hpke_seal(&s, again, aad, aad_len, pt, pt_len) != EK_OK)
        abort();
    if (memcmp(enc2, enc, 32) != 0 || memcmp(again, ct, ct_len) != 0)
        abort(); /* a forgery opened */
    ek_hpke_ctx_wipe(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pt[MAX_CT];
    if (size < 34)
        return 0;
    ek_hpke_suite suite = {EK_HPKE_KEM_X25519_SHA256, EK_HPKE_KDF_HKDF_SHA256, aeads[data[0] & 3]};
    ek_hpke_mode mode = (ek_hpke_mode)((data[0] >> 2) & 3);
    const uint8_t *enc = data + 1;
    size_t aad_len = data[33];
    size_t rest = size - 34;
    if (aad_len > rest)
        aad_len = rest;
    const uint8_t *aad = data + 34;
    const uint8_t *ct = aad + aad_len;
    size_t ct_len = rest - aad_len;
    if (ct_len > MAX_CT)
        return 0;
    size_t pt_len = ct_len >= EK_HPKE_TAG_LEN ? ct_len - EK_HPKE_TAG_LEN : 0;

    /* The keys depend on the KEM only: derive them once. */
    static uint8_t pk_r[32], sk_r[32], pk_s[32], sk_s[32];
    static int have_keys;
    if (!have_keys) {
        if (ek_hpke_derive_keypair(pk_r, sk_r, suite, ikm_r, sizeof(ikm_r)) != EK_OK ||
            ek_hpke_derive_keypair(pk_s, sk_s, suite, ikm_s, sizeof(ikm_s)) != EK_OK)
            abort();
        have_keys = 1;
    }
    ek_hpke_opts o;
    opts_for(&o, mode, sk_s, pk_s);

    ek_hpke_ctx r;
    if (ek_hpke_setup_receiver(&r, suite, enc, sk_r, info, sizeof(info), &o) != EK_OK)
        return 0;
    memset(pt, 0xa5, pt_len);
    int rc = ek_hpke_open(&r, pt, aad, aad_len, ct, ct_len);
    if (rc != EK_OK) {
        if (!all_zero(pt, pt_len) || r.seq != 0)
            abort(); /* a failed open left plaintext or moved seq */
    } else {
        check_genuine(suite, pk_r, &o, enc, aad, aad_len, pt, pt_len, ct, ct_len);
        if (r.seq != 1 || ek_hpke_open(&r, pt, aad, aad_len, ct, ct_len) == EK_OK)
            abort(); /* a replay opened */
    }
    /* Export works on any set-up context and never crashes. */
    uint8_t out[32];
    if (ek_hpke_export(&r, out, sizeof(out), aad, aad_len) != EK_OK)
        abort();
    ek_hpke_ctx_wipe(&r);
    return 0;
}
