/*
 * test_signal_vectors.c: the Signal known-answer values of
 * ../shared/vectors/signal/signal-vectors.json (see its README for what a
 * pass means). One entry per run:
 *   test_signal_vectors VECTORS_DIR signal/signal-vectors.json ENTRY
 * ctest runs each entry as vectors.signal.<entry>.
 *
 * The steps are checked one by one through the internal KDF and codec
 * functions, and end to end through the public API where the entry allows
 * it: Bob's responder session opens the official SignalMessage, and
 * Alice's initiator session (its random keys scripted to the vector's)
 * produces the official SignalMessage byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

#include "ek_test.h"
#include "ratchet/ratchet_internal.h"

static ek_vec_stats stats;

/* A hex field of obj: either a string or an object {"value": hex, ...}. */
static uint8_t *field(const json_t *obj, const char *key, size_t *len)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_object(v))
        return ek_test_json_hex(v, "value", len);
    return ek_test_json_hex(obj, key, len);
}

/* A 32-byte field; Signal-serialized public keys lose their 0x05 byte. */
static void key32(uint8_t out[32], const json_t *obj, const char *key)
{
    size_t n = 0;
    uint8_t *b = field(obj, key, &n);
    if (n == 33 && b[0] == 0x05)
        memcpy(out, b + 1, 32);
    else if (n == 32)
        memcpy(out, b, 32);
    else {
        fprintf(stderr, "field %s: unexpected length %zu\n", key, n);
        exit(2);
    }
    free(b);
}

static void check_bytes(const uint8_t *got, size_t got_len, const json_t *obj, const char *key,
                        const char *what)
{
    size_t n = 0;
    uint8_t *want = field(obj, key, &n);
    ek_vec_case(&stats, n == got_len && memcmp(got, want, n) == 0, "%s (%s)", what, key);
    free(want);
}

/* The private key's public key is the listed one. */
static void check_key_pair(const json_t *e, const char *priv_key, const char *pub_key)
{
    uint8_t priv[32], pub[32], derived[32];
    key32(priv, e, priv_key);
    key32(pub, e, pub_key);
    int ok = ek_x25519_public(derived, priv) == EK_OK && memcmp(derived, pub, 32) == 0;
    ek_vec_case(&stats, ok, "key pair %s / %s", priv_key, pub_key);
}

/* An ek_rng that hands out scripted bytes, then fails. */
typedef struct scripted_rng {
    ek_rng rng;
    const uint8_t *bytes;
    size_t len, pos;
} scripted_rng;

static int scripted_fill(void *ctx, uint8_t *out, size_t len)
{
    scripted_rng *s = ctx;
    if (len > s->len - s->pos)
        return EK_ERR_RNG;
    memcpy(out, s->bytes + s->pos, len);
    s->pos += len;
    return EK_OK;
}

/* ---- entries ---- */

static void x3dh_entry(const json_t *e, int alice_side)
{
    uint8_t a_ik[32], a_base[32], b_ik[32], b_ik_priv[32], b_spk[32], b_spk_priv[32];
    uint8_t root[32], chain[32];
    key32(a_ik, e, "alice_identity_public");
    key32(a_base, e, "alice_base_public");
    key32(b_ik, e, "bob_identity_public");
    key32(b_ik_priv, e, "bob_identity_private");
    key32(b_spk, e, "bob_signed_prekey_public");
    key32(b_spk_priv, e, "bob_signed_prekey_private");
    check_key_pair(e, "bob_identity_private", "bob_identity_public");
    check_key_pair(e, "bob_signed_prekey_private", "bob_signed_prekey_public");

    EK_CHECK_OK(x3dh_respond_secret(root, chain, b_ik_priv, b_spk_priv, NULL, a_ik, a_base));
    check_bytes(chain, 32, e, "expected_chain_key", "Bob's side");
    if (json_object_get(e, "expected_root_key") != NULL)
        check_bytes(root, 32, e, "expected_root_key", "Bob's side");
    if (!alice_side)
        return;
    /* The bob_ratchet_* pair is inconsistent in the source (README quirk)
     * and enters no agreement, so it is not used. */
    uint8_t a_ik_priv[32], a_base_priv[32];
    key32(a_ik_priv, e, "alice_identity_private");
    key32(a_base_priv, e, "alice_base_private");
    check_key_pair(e, "alice_identity_private", "alice_identity_public");
    check_key_pair(e, "alice_base_private", "alice_base_public");
    EK_CHECK_OK(x3dh_initiate_secret(root, chain, a_ik_priv, a_base_priv, b_ik, b_spk, NULL));
    check_bytes(chain, 32, e, "expected_chain_key", "Alice's side");
    check_bytes(root, 32, e, "expected_root_key", "Alice's side");
}

static void chain_key_entry(const json_t *e)
{
    uint8_t ck[32], seed[32], next[32];
    key32(ck, e, "chain_key");
    EK_CHECK(ek_test_json_int(e, "index") == 0);
    kdf_chain(seed, next, ck);
    message_keys mk;
    kdf_message_keys(&mk, seed, NULL);
    check_bytes(mk.cipher_key, 32, e, "expected_cipher_key", "chain step");
    check_bytes(mk.mac_key, 32, e, "expected_mac_key", "chain step");
    check_bytes(mk.iv, 16, e, "expected_iv", "chain step");
    check_bytes(next, 32, e, "expected_next_chain_key", "chain step");
    /* The forked-schedule derivation equals plain HKDF. */
    uint8_t plain[80];
    EK_CHECK_OK(ek_hkdf_sha256(plain, sizeof(plain), NULL, 0, seed, 32, "WhisperMessageKeys", 18));
    ek_vec_case(&stats, memcmp(plain, &mk, 80) == 0, "message keys equal generic HKDF");
}

static void xeddsa_entry(const json_t *e)
{
    uint8_t u[32];
    size_t msg_len = 0, sig_len = 0;
    key32(u, e, "identity_public_raw");
    check_key_pair(e, "identity_private", "identity_public_raw");
    uint8_t *msg = ek_test_json_hex(e, "message", &msg_len);
    uint8_t *sig = ek_test_json_hex(e, "signature", &sig_len);
    EK_CHECK(strcmp(ek_test_json_str(json_object_get(e, "expected"), "value"), "valid") == 0);
    ek_vec_case(&stats, ek_xeddsa_verify(sig, sig_len, u, msg, msg_len) == EK_OK,
                "official signature verifies");
    /* Every single-bit change must fail (the source test checks all 512). */
    for (size_t bit = 0; bit < 8 * sig_len; bit++) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ek_vec_case(&stats, ek_xeddsa_verify(sig, sig_len, u, msg, msg_len) == EK_ERR_AUTH,
                    "bit %zu flipped still verifies", bit);
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Our signer with the same key: verifies, sign bit clear. */
    uint8_t priv[32], ours[64];
    key32(priv, e, "identity_private");
    EK_CHECK_OK(ek_xeddsa_sign(ours, priv, msg, msg_len, NULL));
    ek_vec_case(&stats, ek_xeddsa_verify(ours, 64, u, msg, msg_len) == EK_OK && !(ours[63] & 0x80),
                "our signature with the vector key");
    free(msg);
    free(sig);
}

static void x25519_entry(const json_t *e)
{
    uint8_t a_priv[32], b_priv[32], a_pub[32], b_pub[32], s1[32], s2[32];
    key32(a_priv, e, "alice_private");
    key32(b_priv, e, "bob_private");
    key32(a_pub, e, "alice_public_raw");
    key32(b_pub, e, "bob_public_raw");
    check_key_pair(e, "alice_private", "alice_public_raw");
    check_key_pair(e, "bob_private", "bob_public_raw");
    EK_CHECK_OK(ek_x25519(s1, a_priv, b_pub));
    EK_CHECK_OK(ek_x25519(s2, b_priv, a_pub));
    check_bytes(s1, 32, e, "expected_shared", "Alice's agreement");
    check_bytes(s2, 32, e, "expected_shared", "Bob's agreement");
}

/* The official message through Bob's public API: a responder session with
 * SPK = bob_base opens a PreKeySignalMessage around it. */
static void bob_opens_official_message(const json_t *e, const json_t *x, const uint8_t *msg,
                                       size_t msg_len)
{
    ek_ratchet_identity bob;
    ek_ratchet_prekeys pk;
    memset(&pk, 0, sizeof(pk));
    uint8_t priv[32];
    key32(priv, e, "bob_identity_private");
    EK_CHECK_OK(ek_ratchet_keypair_from_private(&bob.key, priv));
    bob.registration_id = 1;
    key32(priv, e, "bob_base_private");
    EK_CHECK_OK(ek_ratchet_keypair_from_private(&pk.signed_prekey, priv));
    pk.signed_prekey_id = 1;

    prekey_header h = {.registration_id = 7, .signed_prekey_id = 1};
    key32(h.base_key, e, "alice_base_public");
    key32(h.identity_key, e, "alice_identity_public");
    uint8_t wire[512], pt[512];
    ek_writer w;
    ek_writer_init_fixed(&w, wire, sizeof(wire));
    prekey_message_write_head(&w, &h, msg_len);
    ek_write_bytes(&w, msg, msg_len);
    prekey_message_write_tail(&w, &h);
    EK_CHECK_OK(w.err);

    ek_ratchet_session *s = NULL;
    size_t pt_len = 0;
    EK_CHECK_OK(ek_ratchet_session_new_responder(&s, NULL, NULL, &bob, &pk, NULL));
    int rc =
        ek_ratchet_decrypt(pt, sizeof(pt), &pt_len, s, EK_RATCHET_MSG_PREKEY, NULL, 0, wire, w.len);
    size_t want_len = 0;
    uint8_t *want = ek_test_json_hex(x, "plaintext", &want_len);
    ek_vec_case(&stats, rc == EK_OK && pt_len == want_len && memcmp(pt, want, want_len) == 0,
                "Bob's session opens the official message (rc %d)", rc);
    /* Opening it again is a replay. */
    rc =
        ek_ratchet_decrypt(pt, sizeof(pt), &pt_len, s, EK_RATCHET_MSG_PREKEY, NULL, 0, wire, w.len);
    ek_vec_case(&stats, rc == EK_ERR_AUTH, "the same message again is refused (rc %d)", rc);
    free(want);
    ek_ratchet_session_free(s);
}

/* Alice's public API with her random keys scripted to the vector's: her
 * first message must be the official SignalMessage inside the wrapper. */
static void alice_makes_official_message(const json_t *e, const json_t *x, const uint8_t *msg,
                                         size_t msg_len)
{
    ek_ratchet_identity alice;
    uint8_t priv[32], script[64], bob_priv[32];
    key32(priv, e, "alice_identity_private");
    EK_CHECK_OK(ek_ratchet_keypair_from_private(&alice.key, priv));
    alice.registration_id = 7;
    key32(script, e, "alice_base_private");
    key32(script + 32, e, "alice_sending_ratchet_private");
    scripted_rng rng = {{scripted_fill, NULL}, script, sizeof(script), 0};
    rng.rng.ctx = &rng;

    ek_ratchet_bundle b;
    memset(&b, 0, sizeof(b));
    b.identity_key[0] = b.signed_prekey[0] = EK_RATCHET_KEY_TYPE;
    key32(b.identity_key + 1, e, "bob_identity_public");
    key32(b.signed_prekey + 1, e, "bob_base_public");
    b.signed_prekey_id = 1;
    /* The vector has no signature of Bob's; we make one with his key. */
    key32(bob_priv, e, "bob_identity_private");
    EK_CHECK_OK(ek_xeddsa_sign(b.signed_prekey_signature, bob_priv, b.signed_prekey, 33, NULL));

    ek_ratchet_session *s = NULL;
    EK_CHECK_OK(ek_ratchet_session_new_initiator(&s, NULL, &rng.rng, &alice, &b));
    size_t pt_len = 0, out_len = 0;
    uint8_t *pt = ek_test_json_hex(x, "plaintext", &pt_len);
    uint8_t out[512];
    int type = 0;
    int rc = s != NULL
                 ? ek_ratchet_encrypt(out, sizeof(out), &out_len, &type, s, NULL, 0, pt, pt_len)
                 : EK_ERR_STATE;
    prekey_message pm;
    int ok = rc == EK_OK && type == EK_RATCHET_MSG_PREKEY &&
             prekey_message_decode(&pm, out, out_len) == EK_OK && pm.message_len == msg_len &&
             memcmp(pm.message, msg, msg_len) == 0;
    ek_vec_case(&stats, ok, "Alice's session writes the official message (rc %d)", rc);
    free(pt);
    ek_ratchet_session_free(s);
}

static void double_ratchet_entry(const json_t *e)
{
    const json_t *x = json_object_get(e, "expected");
    uint8_t a_ik[32], a_ik_priv[32], a_base[32], a_base_priv[32], b_ik[32], b_ik_priv[32];
    uint8_t b_base[32], b_base_priv[32], a_rk[32], a_rk_priv[32];
    key32(a_ik, e, "alice_identity_public");
    key32(a_ik_priv, e, "alice_identity_private");
    key32(a_base, e, "alice_base_public");
    key32(a_base_priv, e, "alice_base_private");
    key32(b_ik, e, "bob_identity_public");
    key32(b_ik_priv, e, "bob_identity_private");
    key32(b_base, e, "bob_base_public");
    key32(b_base_priv, e, "bob_base_private");
    key32(a_rk, e, "alice_sending_ratchet_public");
    key32(a_rk_priv, e, "alice_sending_ratchet_private");
    check_key_pair(e, "alice_identity_private", "alice_identity_public");
    check_key_pair(e, "alice_base_private", "alice_base_public");
    check_key_pair(e, "bob_identity_private", "bob_identity_public");
    check_key_pair(e, "bob_base_private", "bob_base_public");
    check_key_pair(e, "alice_sending_ratchet_private", "alice_sending_ratchet_public");

    /* X3DH, bob_base as the signed prekey, no one-time prekey. */
    uint8_t root[32], chain[32], root2[32], chain2[32];
    EK_CHECK_OK(x3dh_respond_secret(root, chain, b_ik_priv, b_base_priv, NULL, a_ik, a_base));
    check_bytes(root, 32, x, "bob_root_key", "X3DH, Bob's side");
    EK_CHECK_OK(x3dh_initiate_secret(root2, chain2, a_ik_priv, a_base_priv, b_ik, b_base, NULL));
    check_bytes(root2, 32, x, "bob_root_key", "X3DH, Alice's side");

    /* Alice's first DH-ratchet step, and Bob's view of it. */
    uint8_t dh[32], new_root[32], send_chain[32];
    EK_CHECK_OK(ek_x25519(dh, a_rk_priv, b_base));
    EK_CHECK_OK(kdf_root(new_root, send_chain, root, dh));
    check_bytes(new_root, 32, x, "alice_root_key_after_ratchet", "root KDF, Alice");
    check_bytes(send_chain, 32, x, "alice_sending_chain_key", "root KDF, Alice");
    EK_CHECK_OK(ek_x25519(dh, b_base_priv, a_rk));
    EK_CHECK_OK(kdf_root(new_root, send_chain, root, dh));
    check_bytes(send_chain, 32, x, "alice_sending_chain_key", "root KDF, Bob's receiving chain");

    /* Message key 0. */
    uint8_t seed[32], next[32];
    message_keys mk;
    kdf_chain(seed, next, send_chain);
    kdf_message_keys(&mk, seed, NULL);
    check_bytes(mk.cipher_key, 32, x, "message_key_0_cipher_key", "message keys");
    check_bytes(mk.mac_key, 32, x, "message_key_0_mac_key", "message keys");
    check_bytes(mk.iv, 16, x, "message_key_0_iv", "message keys");

    /* AES-256-CBC and the serialized v3 SignalMessage with its MAC. */
    size_t pt_len = 0;
    uint8_t *pt = ek_test_json_hex(x, "plaintext", &pt_len);
    EK_CHECK(pt_len == strlen(ek_test_json_str(x, "plaintext_utf8")));
    uint8_t ct[64], wire[256];
    EK_CHECK(EK_AES256_CBC_CT_LEN(pt_len) <= sizeof(ct));
    EK_CHECK_OK(ek_aes256_cbc_encrypt(ct, mk.cipher_key, mk.iv, pt, pt_len));
    check_bytes(ct, EK_AES256_CBC_CT_LEN(pt_len), x, "ciphertext_aes256cbc_pkcs7", "AES-256-CBC");

    ek_writer w;
    uint8_t *slot = NULL;
    ek_writer_init_fixed(&w, wire, sizeof(wire));
    EK_CHECK_OK(signal_message_write(&w, &slot, a_rk, 0, 0, EK_AES256_CBC_CT_LEN(pt_len)));
    memcpy(slot, ct, EK_AES256_CBC_CT_LEN(pt_len));
    uint8_t tag[8];
    signal_message_mac(tag, mk.mac_key, a_ik, b_ik, NULL, wire, w.len);
    ek_write_bytes(&w, tag, sizeof(tag));
    check_bytes(wire, w.len, x, "serialized_whisper_message", "serialized SignalMessage");

    /* Decoding the official bytes gives the fields back. */
    size_t msg_len = 0;
    uint8_t *msg = ek_test_json_hex(x, "serialized_whisper_message", &msg_len);
    signal_message m;
    int ok = signal_message_decode(&m, msg, msg_len) == EK_OK &&
             memcmp(m.ratchet_key, a_rk, 32) == 0 && m.counter == 0 && m.previous_counter == 0 &&
             m.ciphertext_len == EK_AES256_CBC_CT_LEN(pt_len) &&
             memcmp(m.ciphertext, ct, m.ciphertext_len) == 0 && memcmp(m.mac, tag, 8) == 0;
    ek_vec_case(&stats, ok, "decode the official SignalMessage");

    bob_opens_official_message(e, x, msg, msg_len);
    alice_makes_official_message(e, x, msg, msg_len);
    free(pt);
    free(msg);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s VECTORS_DIR signal/signal-vectors.json ENTRY\n", argv[0]);
        return 2;
    }
    const char *entry = argv[3];
    char name[128];
    snprintf(name, sizeof(name), "signal.%s", entry);
    ek_vec_init(&stats, name);
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, argv[2]));
    const json_t *e = json_object_get(doc, entry);
    if (e == NULL) {
        fprintf(stderr, "no entry %s\n", entry);
        return 2;
    }
    /* Every entry of the file must have a test here (and a ctest line). */
    static const char *const known[] = {
        "x3dh_v3_libsignal_rust", "x3dh_v3_libsignal_java", "double_ratchet_v3_end_to_end",
        "chain_key_kdf",          "xeddsa_verify",          "x25519_agreement"};
    const char *key;
    const json_t *value;
    json_object_foreach ((json_t *)doc, key, value) {
        int found = key[0] == '_';
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            found |= strcmp(key, known[i]) == 0;
        if (!found)
            ek_test_fail(__FILE__, __LINE__, "entry %s of the vector file has no test", key);
        (void)value;
    }
    if (strcmp(entry, "x3dh_v3_libsignal_rust") == 0)
        x3dh_entry(e, 1);
    else if (strcmp(entry, "x3dh_v3_libsignal_java") == 0)
        x3dh_entry(e, 0);
    else if (strcmp(entry, "double_ratchet_v3_end_to_end") == 0)
        double_ratchet_entry(e);
    else if (strcmp(entry, "chain_key_kdf") == 0)
        chain_key_entry(e);
    else if (strcmp(entry, "xeddsa_verify") == 0)
        xeddsa_entry(e);
    else if (strcmp(entry, "x25519_agreement") == 0)
        x25519_entry(e);
    else {
        fprintf(stderr, "entry %s has no test\n", entry);
        return 2;
    }
    json_decref(doc);
    return ek_vec_finish(&stats);
}
