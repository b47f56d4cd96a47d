/*
 * test_hpke_vectors.c: the official RFC 9180 vectors for
 * DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256, all four modes, with
 * AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 and export-only.
 *   test_hpke_vectors VECTORS_DIR hpke/test-vectors.x25519-hkdfsha256.json
 *
 * What a pass means (../shared/vectors/hpke/README.md): every derived value
 * byte-equal, every Seal gives ct, Open(ct) gives pt, every Export gives
 * exported_value. Cases are counted as:
 *  - one per setup (16): DeriveKeyPair(ikmE/ikmR/ikmS) gives skXm/pkXm;
 *    Encap/AuthEncap with skEm and Decap/AuthDecap with skRm both give
 *    shared_secret; key_schedule_context and secret match;
 *    ek_hpke_setup_sender_derand(ikmE) gives enc, key, base_nonce and
 *    exporter_secret, and ek_hpke_setup_receiver(enc, skRm) the same;
 *  - one per encryption (3084): with sequence number i, ComputeNonce gives
 *    nonce, the sender context's Seal gives ct and the receiver context's
 *    Open gives pt back, in order;
 *  - one per export (48): both contexts give exported_value.
 * Nothing is skipped. The file must hold exactly 16 setups, 3084
 * encryptions and 48 exports, so a truncated file fails too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_hpke.h>

#include "crypto/hpke/hpke_internal.h"
#include "ek_test.h"

enum { WANT_SETUPS = 16, WANT_ENCRYPTIONS = 3084, WANT_EXPORTS = 48 };

typedef struct counts {
    unsigned setups, encryptions, exports;
} counts;

/* A hex field of a vector, decoded. */
typedef struct field {
    uint8_t *p;
    size_t len;
} field;

static field hex(const json_t *obj, const char *key)
{
    field f;
    f.p = ek_test_json_hex(obj, key, &f.len);
    return f;
}

/* An optional hex field: {NULL, 0} when absent. */
static field opt_hex(const json_t *obj, const char *key)
{
    field f = {NULL, 0};
    if (json_object_get(obj, key) != NULL)
        f = hex(obj, key);
    return f;
}

/* Accumulates the checks of one case; remembers the first that failed. */
typedef struct verdict {
    int ok;
    const char *what;
} verdict;

static void expect(verdict *v, int cond, const char *what)
{
    if (!cond && v->ok) {
        v->ok = 0;
        v->what = what;
    }
}

static void expect_bytes(verdict *v, const uint8_t *got, size_t got_len, field want,
                         const char *what)
{
    expect(v, got_len == want.len && ek_test_bytes_equal(got, want.p, want.len), what);
}

typedef struct setup {
    ek_hpke_suite suite;
    ek_hpke_mode mode;
    field info, psk, psk_id;
    ek_hpke_ctx sender, receiver;
    int ready; /* both contexts were set up */
} setup;

/* The setup case: every derived value up to the two contexts. */
static void run_setup(ek_vec_stats *st, setup *s, const json_t *v, size_t idx)
{
    verdict vd = {1, ""};
    uint8_t sk[EK_HPKE_SK_LEN], pk[EK_HPKE_PK_LEN], enc[EK_HPKE_ENC_LEN];
    uint8_t ss[EK_HPKE_NSECRET], ks_context[EK_HPKE_KS_CONTEXT_LEN], secret[EK_HPKE_NH];
    field ikm_e = hex(v, "ikmE"), ikm_r = hex(v, "ikmR"), ikm_s = opt_hex(v, "ikmS");
    field sk_em = hex(v, "skEm"), pk_em = hex(v, "pkEm"), sk_rm = hex(v, "skRm");
    field pk_rm = hex(v, "pkRm"), sk_sm = opt_hex(v, "skSm"), pk_sm = opt_hex(v, "pkSm");
    field want_enc = hex(v, "enc"), want_ss = hex(v, "shared_secret");
    field want_ksc = hex(v, "key_schedule_context"), want_secret = hex(v, "secret");
    field want_key = hex(v, "key"), want_nonce = hex(v, "base_nonce");
    field want_exp = hex(v, "exporter_secret");
    int auth = s->mode == EK_HPKE_MODE_AUTH || s->mode == EK_HPKE_MODE_AUTH_PSK;

    /* DeriveKeyPair (§7.1.3) of every key the vector names. */
    expect(&vd, ek_hpke_derive_keypair(pk, sk, s->suite, ikm_e.p, ikm_e.len) == EK_OK, "derive E");
    expect_bytes(&vd, sk, sizeof(sk), sk_em, "skEm");
    expect_bytes(&vd, pk, sizeof(pk), pk_em, "pkEm");
    expect(&vd, ek_hpke_derive_keypair(pk, sk, s->suite, ikm_r.p, ikm_r.len) == EK_OK, "derive R");
    expect_bytes(&vd, sk, sizeof(sk), sk_rm, "skRm");
    expect_bytes(&vd, pk, sizeof(pk), pk_rm, "pkRm");
    expect(&vd, auth == (ikm_s.p != NULL && sk_sm.p != NULL && pk_sm.p != NULL), "ikmS presence");
    if (auth && ikm_s.p != NULL) {
        expect(&vd, ek_hpke_derive_keypair(pk, sk, s->suite, ikm_s.p, ikm_s.len) == EK_OK,
               "derive S");
        expect_bytes(&vd, sk, sizeof(sk), sk_sm, "skSm");
        expect_bytes(&vd, pk, sizeof(pk), pk_sm, "pkSm");
    }
    int keys_ok = vd.ok && sk_em.len == 32 && pk_em.len == 32 && sk_rm.len == 32 &&
                  pk_rm.len == 32 && (!auth || (sk_sm.len == 32 && pk_sm.len == 32));

    /* The KEM on its own (§4.1), both directions. */
    if (keys_ok) {
        expect(&vd,
               ek_hpke_dhkem_encap(ss, enc, pk_rm.p, sk_em.p, pk_em.p, auth ? sk_sm.p : NULL) ==
                   EK_OK,
               "encap");
        expect_bytes(&vd, ss, sizeof(ss), want_ss, "shared_secret (encap)");
        expect_bytes(&vd, enc, sizeof(enc), want_enc, "enc (encap)");
        expect(&vd, ek_hpke_dhkem_decap(ss, want_enc.p, sk_rm.p, auth ? pk_sm.p : NULL) == EK_OK,
               "decap");
        expect_bytes(&vd, ss, sizeof(ss), want_ss, "shared_secret (decap)");
    }

    /* The key schedule's intermediate values (§5.1). */
    expect(&vd,
           ek_hpke_key_schedule_context(ks_context, s->suite, s->mode, s->info.p, s->info.len,
                                        s->psk_id.p, s->psk_id.len) == EK_OK,
           "key_schedule_context");
    expect_bytes(&vd, ks_context, sizeof(ks_context), want_ksc, "key_schedule_context");
    if (want_ss.len == EK_HPKE_NSECRET) {
        expect(&vd,
               ek_hpke_key_schedule_secret(secret, s->suite, want_ss.p, s->psk.p, s->psk.len) ==
                   EK_OK,
               "secret");
        expect_bytes(&vd, secret, sizeof(secret), want_secret, "secret");
    }

    /* The public API: SetupS from ikmE, SetupR from enc. Base mode goes
     * through opts == NULL, the others through their opts. */
    ek_hpke_opts so = {s->mode, s->psk.p, s->psk.len, s->psk_id.p, s->psk_id.len, NULL, NULL};
    ek_hpke_opts ro = so;
    if (auth) {
        so.sk_s = sk_sm.p;
        ro.pk_s = pk_sm.p;
    }
    const ek_hpke_opts *sop = s->mode == EK_HPKE_MODE_BASE ? NULL : &so;
    const ek_hpke_opts *rop = s->mode == EK_HPKE_MODE_BASE ? NULL : &ro;
    int rs = keys_ok ? ek_hpke_setup_sender_derand(&s->sender, enc, s->suite, pk_rm.p, s->info.p,
                                                   s->info.len, sop, ikm_e.p, ikm_e.len)
                     : EK_ERR_INVALID_ARG;
    int rr = keys_ok && want_enc.len == EK_HPKE_ENC_LEN
                 ? ek_hpke_setup_receiver(&s->receiver, s->suite, want_enc.p, sk_rm.p, s->info.p,
                                          s->info.len, rop)
                 : EK_ERR_INVALID_ARG;
    expect(&vd, rs == EK_OK, "setup_sender_derand");
    expect(&vd, rr == EK_OK, "setup_receiver");
    expect_bytes(&vd, enc, sizeof(enc), want_enc, "enc");
    const ek_hpke_ctx *ctxs[2] = {&s->sender, &s->receiver};
    for (int i = 0; i < 2; i++) {
        const ek_hpke_ctx *c = ctxs[i];
        /* Export-only: the vector's key and base_nonce are empty (§5.3). */
        expect_bytes(&vd, c->key, c->key_len, want_key, i == 0 ? "key (S)" : "key (R)");
        if (want_nonce.len > 0)
            expect_bytes(&vd, c->base_nonce, sizeof(c->base_nonce), want_nonce,
                         i == 0 ? "base_nonce (S)" : "base_nonce (R)");
        expect_bytes(&vd, c->exporter_secret, sizeof(c->exporter_secret), want_exp,
                     i == 0 ? "exporter_secret (S)" : "exporter_secret (R)");
        expect(&vd, c->seq == 0, "seq starts at 0");
    }
    expect(&vd, s->sender.is_sender == 1 && s->receiver.is_sender == 0, "roles");
    s->ready = rs == EK_OK && rr == EK_OK;
    ek_vec_case(st, vd.ok, "setup %zu (mode %d, aead 0x%04x): %s", idx, (int)s->mode,
                s->suite.aead_id, vd.what);

    field all[] = {ikm_e, ikm_r,    ikm_s,   sk_em,    pk_em,    sk_rm,      pk_rm,    sk_sm,
                   pk_sm, want_enc, want_ss, want_ksc, want_key, want_nonce, want_exp, want_secret};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i].p);
}

/* One encryption case: the message with sequence number seq. */
static void run_encryption(ek_vec_stats *st, setup *s, const json_t *e, size_t idx, size_t seq)
{
    verdict vd = {1, ""};
    field aad = hex(e, "aad"), pt = hex(e, "pt"), nonce = hex(e, "nonce"), ct = hex(e, "ct");
    uint8_t *out = malloc(ct.len + pt.len + 1);
    if (out == NULL)
        abort();
    expect(&vd, s->ready, "no context (setup failed)");
    if (s->ready) {
        uint8_t n[EK_HPKE_NN];
        expect(&vd, s->sender.seq == seq && s->receiver.seq == seq, "seq");
        ek_hpke_compute_nonce(n, &s->sender, s->sender.seq);
        expect_bytes(&vd, n, sizeof(n), nonce, "nonce");
        expect(&vd, ct.len == pt.len + EK_HPKE_TAG_LEN, "ct length");
        int rc = ek_hpke_seal(&s->sender, out, aad.p, aad.len, pt.p, pt.len);
        expect(&vd, rc == EK_OK, "seal");
        expect_bytes(&vd, out, pt.len + EK_HPKE_TAG_LEN, ct, "ct");
        memset(out, 0xa5, ct.len + pt.len + 1);
        rc = ek_hpke_open(&s->receiver, out, aad.p, aad.len, ct.p, ct.len);
        expect(&vd, rc == EK_OK, "open");
        expect_bytes(&vd, out, ct.len >= EK_HPKE_TAG_LEN ? ct.len - EK_HPKE_TAG_LEN : 0, pt, "pt");
        expect(&vd, s->sender.seq == seq + 1 && s->receiver.seq == seq + 1, "seq increment");
    }
    ek_vec_case(st, vd.ok, "setup %zu encryption %zu: %s", idx, seq, vd.what);
    free(out);
    free(aad.p);
    free(pt.p);
    free(nonce.p);
    free(ct.p);
}

/* One export case, on both contexts. */
static void run_export(ek_vec_stats *st, const setup *s, const json_t *x, size_t idx, size_t i)
{
    verdict vd = {1, ""};
    field context = hex(x, "exporter_context"), want = hex(x, "exported_value");
    long long len = ek_test_json_int(x, "L");
    expect(&vd, s->ready, "no context (setup failed)");
    expect(&vd, len > 0 && (size_t)len == want.len, "L");
    if (s->ready && vd.ok) {
        uint8_t *out = malloc(want.len);
        if (out == NULL)
            abort();
        expect(&vd, ek_hpke_export(&s->sender, out, want.len, context.p, context.len) == EK_OK,
               "export (S)");
        expect_bytes(&vd, out, want.len, want, "exported_value (S)");
        memset(out, 0, want.len);
        expect(&vd, ek_hpke_export(&s->receiver, out, want.len, context.p, context.len) == EK_OK,
               "export (R)");
        expect_bytes(&vd, out, want.len, want, "exported_value (R)");
        free(out);
    }
    ek_vec_case(st, vd.ok, "setup %zu export %zu: %s", idx, i, vd.what);
    free(context.p);
    free(want.p);
}

static void run_vector(ek_vec_stats *st, counts *n, const json_t *v, size_t idx)
{
    setup s;
    memset(&s, 0, sizeof(s));
    s.suite.kem_id = (uint16_t)ek_test_json_int(v, "kem_id");
    s.suite.kdf_id = (uint16_t)ek_test_json_int(v, "kdf_id");
    s.suite.aead_id = (uint16_t)ek_test_json_int(v, "aead_id");
    s.mode = (ek_hpke_mode)ek_test_json_int(v, "mode");
    s.info = hex(v, "info");
    s.psk = opt_hex(v, "psk");
    s.psk_id = opt_hex(v, "psk_id");

    run_setup(st, &s, v, idx);
    n->setups++;
    size_t i;
    const json_t *e;
    json_array_foreach (json_object_get(v, "encryptions"), i, e) {
        run_encryption(st, &s, e, idx, i);
        n->encryptions++;
    }
    json_array_foreach (json_object_get(v, "exports"), i, e) {
        run_export(st, &s, e, idx, i);
        n->exports++;
    }
    ek_hpke_ctx_wipe(&s.sender);
    ek_hpke_ctx_wipe(&s.receiver);
    free(s.info.p);
    free(s.psk.p);
    free(s.psk_id.p);
}

int main(int argc, char **argv)
{
    const char *file = argc > 2 ? argv[2] : "hpke/test-vectors.x25519-hkdfsha256.json";
    json_t *root = ek_test_load_json(ek_test_vector_path(argc, argv, file));
    ek_vec_stats st;
    ek_vec_init(&st, "hpke.test-vectors.x25519-hkdfsha256");
    counts n = {0, 0, 0};
    size_t i;
    const json_t *v;
    EK_CHECK(json_is_array(root));
    json_array_foreach (root, i, v) {
        run_vector(&st, &n, v, i);
    }
    json_decref(root);
    printf("setups %u, encryptions %u, exports %u\n", n.setups, n.encryptions, n.exports);
    EK_CHECK(n.setups == WANT_SETUPS);
    EK_CHECK(n.encryptions == WANT_ENCRYPTIONS);
    EK_CHECK(n.exports == WANT_EXPORTS);
    return ek_vec_finish(&st);
}
