/*
 * bench_ratchet.c: the "ratchet" suite: the Signal layer (ek_ratchet.h),
 * and in the same run the same operations done by libsignal-protocol-c
 * (ops prefixed "libsignal."; built when the Debian package is there).
 *
 *   encrypt_decrypt  one 1 KiB message encrypted by Alice and decrypted by
 *                    Bob in a running chain (no DH step), n = 1024
 *   dh_ratchet_step  one 16-byte message in alternating directions, so every
 *                    decrypt steps the DH ratchet (two agreements, one key
 *                    pair, two root KDFs) besides the symmetric work, n = 16
 *   x3dh_initiate    Alice's session from Bob's bundle: signature check,
 *                    base and ratchet keys, X3DH, first DH ratchet
 *   x3dh_respond     Bob's session from Alice's first PreKeySignalMessage
 *                    (16 bytes): X3DH, DH ratchet step, decrypt
 *
 * Bundles carry no one-time prekey, since libsignal deletes one on use and
 * x3dh_respond opens the same message again and again. Randomness is the
 * system RNG on both sides; libsignal's crypto provider is ek_crypto
 * (tests/interop/libsignal_glue.c), so the difference lies in the protocol
 * code, its allocations and its session-record serialization.
 */
#include <stdio.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

#include "bench.h"

#ifdef EK_BENCH_LIBSIGNAL
#include "libsignal_glue.h"
#endif

enum { MSG = 1024, SMALL = 16, WIRE = 2048 };

typedef struct ours {
    ek_ratchet_identity alice_id, bob_id;
    ek_ratchet_prekeys prekeys;
    ek_ratchet_bundle bundle;
    ek_ratchet_session *alice, *bob;
    uint8_t pt[MSG], out[WIRE], wire[WIRE];
    uint8_t first[WIRE]; /* Alice's first PreKeySignalMessage */
    size_t first_len;
    int turn;
} ours;

/* One message from -> to; the plaintext must come back. */
static void ours_message(ours *o, ek_ratchet_session *from, ek_ratchet_session *to, size_t len)
{
    size_t wire_len = 0, out_len = 0;
    int type = 0;
    ek_bench_check(
        ek_ratchet_encrypt(o->wire, sizeof(o->wire), &wire_len, &type, from, NULL, 0, o->pt, len),
        "ratchet encrypt");
    ek_bench_check(
        ek_ratchet_decrypt(o->out, sizeof(o->out), &out_len, to, type, NULL, 0, o->wire, wire_len),
        "ratchet decrypt");
    if (out_len != len)
        ek_bench_check(EK_ERR_CRYPTO, "ratchet round trip");
}

static void run_ours_encrypt_decrypt(void *p)
{
    ours *o = p;
    ours_message(o, o->alice, o->bob, MSG);
}

static void run_ours_dh_step(void *p)
{
    ours *o = p;
    o->turn ^= 1;
    if (o->turn)
        ours_message(o, o->bob, o->alice, SMALL);
    else
        ours_message(o, o->alice, o->bob, SMALL);
}

static void run_ours_x3dh_initiate(void *p)
{
    ours *o = p;
    ek_ratchet_session *s = NULL;
    ek_bench_check(ek_ratchet_session_new_initiator(&s, NULL, NULL, &o->alice_id, &o->bundle),
                   "x3dh initiate");
    ek_ratchet_session_free(s);
}

static void run_ours_x3dh_respond(void *p)
{
    ours *o = p;
    ek_ratchet_session *s = NULL;
    size_t out_len = 0;
    ek_bench_check(ek_ratchet_session_new_responder(&s, NULL, NULL, &o->bob_id, &o->prekeys, NULL),
                   "responder");
    ek_bench_check(ek_ratchet_decrypt(o->out, sizeof(o->out), &out_len, s, EK_RATCHET_MSG_PREKEY,
                                      NULL, 0, o->first, o->first_len),
                   "x3dh respond");
    ek_ratchet_session_free(s);
}

static void ours_setup(ours *o)
{
    memset(o, 0, sizeof(*o));
    memset(o->pt, 0x5a, sizeof(o->pt));
    ek_bench_check(ek_ratchet_identity_generate(&o->alice_id, NULL), "identity");
    ek_bench_check(ek_ratchet_identity_generate(&o->bob_id, NULL), "identity");
    ek_bench_check(ek_ratchet_prekeys_generate(&o->prekeys, &o->bob_id, 1, 0, 0, NULL), "prekeys");
    ek_ratchet_bundle_from_prekeys(&o->bundle, &o->bob_id, &o->prekeys, 1);
    ek_bench_check(
        ek_ratchet_session_new_initiator(&o->alice, NULL, NULL, &o->alice_id, &o->bundle),
        "initiator");
    ek_bench_check(
        ek_ratchet_session_new_responder(&o->bob, NULL, NULL, &o->bob_id, &o->prekeys, NULL),
        "responder");
    int type = 0;
    ek_bench_check(ek_ratchet_encrypt(o->first, sizeof(o->first), &o->first_len, &type, o->alice,
                                      NULL, 0, o->pt, SMALL),
                   "first message");
    size_t out_len = 0;
    ek_bench_check(ek_ratchet_decrypt(o->out, sizeof(o->out), &out_len, o->bob, type, NULL, 0,
                                      o->first, o->first_len),
                   "first message");
    ours_message(o, o->bob, o->alice, SMALL); /* Alice is acknowledged */
}

#ifdef EK_BENCH_LIBSIGNAL
typedef struct theirs {
    lsg_party *alice, *bob, *scratch;
    ek_ratchet_bundle bundle;
    uint8_t pt[MSG], out[WIRE], wire[WIRE];
    uint8_t first[WIRE];
    size_t first_len;
    int turn;
} theirs;

static void check_sg(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "enkrypt-bench: libsignal %s failed: %d\n", what, rc);
        ek_bench_check(EK_ERR_CRYPTO, what);
    }
}

static void theirs_message(theirs *t, lsg_party *from, lsg_party *to, size_t len)
{
    size_t wire_len = 0, out_len = 0;
    int type = 0;
    check_sg(lsg_encrypt(from, t->wire, sizeof(t->wire), &wire_len, &type, t->pt, len), "encrypt");
    check_sg(lsg_decrypt(to, t->out, sizeof(t->out), &out_len, type, t->wire, wire_len), "decrypt");
    if (out_len != len)
        check_sg(-1, "round trip");
}

static void run_theirs_encrypt_decrypt(void *p)
{
    theirs *t = p;
    theirs_message(t, t->alice, t->bob, MSG);
}

static void run_theirs_dh_step(void *p)
{
    theirs *t = p;
    t->turn ^= 1;
    if (t->turn)
        theirs_message(t, t->bob, t->alice, SMALL);
    else
        theirs_message(t, t->alice, t->bob, SMALL);
}

static void run_theirs_x3dh_initiate(void *p)
{
    theirs *t = p;
    lsg_forget_session(t->scratch);
    check_sg(lsg_process_bundle(t->scratch, &t->bundle), "x3dh initiate");
}

static void run_theirs_x3dh_respond(void *p)
{
    theirs *t = p;
    size_t out_len = 0;
    lsg_forget_session(t->bob);
    check_sg(lsg_decrypt(t->bob, t->out, sizeof(t->out), &out_len, EK_RATCHET_MSG_PREKEY, t->first,
                         t->first_len),
             "x3dh respond");
}

static void theirs_setup(theirs *t)
{
    memset(t, 0, sizeof(*t));
    memset(t->pt, 0x5a, sizeof(t->pt));
    t->alice = lsg_party_new(NULL);
    t->bob = lsg_party_new(NULL);
    t->scratch = lsg_party_new(NULL); /* a second Alice, for x3dh_initiate */
    if (t->alice == NULL || t->bob == NULL || t->scratch == NULL)
        check_sg(-1, "party");
    check_sg(lsg_make_bundle(t->bob, &t->bundle, 1, 0, 0), "bundle");
    check_sg(lsg_process_bundle(t->alice, &t->bundle), "process bundle");
    int type = 0;
    check_sg(lsg_encrypt(t->alice, t->first, sizeof(t->first), &t->first_len, &type, t->pt, SMALL),
             "first message");
    size_t out_len = 0;
    check_sg(lsg_decrypt(t->bob, t->out, sizeof(t->out), &out_len, type, t->first, t->first_len),
             "first message");
    theirs_message(t, t->bob, t->alice, SMALL);
}

static void theirs_free(theirs *t)
{
    lsg_party_free(t->alice);
    lsg_party_free(t->bob);
    lsg_party_free(t->scratch);
}
#endif

void ek_bench_suite_ratchet(void)
{
    static ours o;
    ours_setup(&o);
#ifdef EK_BENCH_LIBSIGNAL
    static theirs t;
    theirs_setup(&t);
#endif
    ek_bench_print("ratchet", "encrypt_decrypt", MSG,
                   ek_bench_measure(run_ours_encrypt_decrypt, &o), MSG);
#ifdef EK_BENCH_LIBSIGNAL
    ek_bench_print("ratchet", "libsignal.encrypt_decrypt", MSG,
                   ek_bench_measure(run_theirs_encrypt_decrypt, &t), MSG);
#endif
    ek_bench_print("ratchet", "dh_ratchet_step", SMALL, ek_bench_measure(run_ours_dh_step, &o), 0);
#ifdef EK_BENCH_LIBSIGNAL
    ek_bench_print("ratchet", "libsignal.dh_ratchet_step", SMALL,
                   ek_bench_measure(run_theirs_dh_step, &t), 0);
#endif
    ek_bench_print("ratchet", "x3dh_initiate", -1, ek_bench_measure(run_ours_x3dh_initiate, &o), 0);
#ifdef EK_BENCH_LIBSIGNAL
    ek_bench_print("ratchet", "libsignal.x3dh_initiate", -1,
                   ek_bench_measure(run_theirs_x3dh_initiate, &t), 0);
#endif
    ek_bench_print("ratchet", "x3dh_respond", -1, ek_bench_measure(run_ours_x3dh_respond, &o), 0);
#ifdef EK_BENCH_LIBSIGNAL
    ek_bench_print("ratchet", "libsignal.x3dh_respond", -1,
                   ek_bench_measure(run_theirs_x3dh_respond, &t), 0);
    theirs_free(&t);
#endif
    ek_ratchet_session_free(o.alice);
    ek_ratchet_session_free(o.bob);
}
