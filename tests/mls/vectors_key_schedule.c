/*
 * vectors_key_schedule.c: key-schedule.json (RFC 9420 §8): per epoch the
 * encoded GroupContext, the joiner and welcome secrets, every secret of
 * Table 4, external_pub = DeriveKeyPair(external_secret) and one exporter
 * output; each epoch's init_secret feeds the next.
 */
#include <stdio.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "mls_vec.h"

static int field_eq(mls_hex_pool *p, const json_t *e, const char *key, const uint8_t *got,
                    size_t len)
{
    ek_mls_bytes want = mls_hex_bytes(p, e, key);
    if (mls_eq(got, len, want.data, want.len))
        return 1;
    fprintf(stderr, "  %s differs\n", key);
    return 0;
}

static int check_epoch(const ek_mls_suite *s, mls_hex_pool *p, ek_mls_bytes group_id,
                       uint64_t epoch, const json_t *e, uint8_t *prev_init)
{
    size_t nh = s->hash_len;
    ek_mls_group_context gc = {
        .version = EK_MLS_VERSION_MLS10,
        .cipher_suite = s->id,
        .group_id = group_id,
        .epoch = epoch,
        .tree_hash = mls_hex_bytes(p, e, "tree_hash"),
        .confirmed_transcript_hash = mls_hex_bytes(p, e, "confirmed_transcript_hash"),
    };
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    int ok = ek_mls_write_group_context(&w, &gc) == EK_OK &&
             field_eq(p, e, "group_context", w.buf, w.len);
    ek_mls_bytes commit = mls_hex_bytes(p, e, "commit_secret");
    ek_mls_bytes psk = mls_hex_bytes(p, e, "psk_secret");
    ek_mls_epoch_secrets es;
    ok = ok && commit.len == nh && psk.len == nh &&
         ek_mls_key_schedule(&es, s, prev_init, commit.data, psk.data, w.buf, w.len) == EK_OK;
    ek_writer_dispose(&w);
    if (!ok)
        return 0;
    ok = field_eq(p, e, "joiner_secret", es.joiner_secret, nh) &
         field_eq(p, e, "welcome_secret", es.welcome_secret, nh) &
         field_eq(p, e, "init_secret", es.init_secret, nh) &
         field_eq(p, e, "sender_data_secret", es.sender_data_secret, nh) &
         field_eq(p, e, "encryption_secret", es.encryption_secret, nh) &
         field_eq(p, e, "exporter_secret", es.exporter_secret, nh) &
         field_eq(p, e, "epoch_authenticator", es.epoch_authenticator, nh) &
         field_eq(p, e, "external_secret", es.external_secret, nh) &
         field_eq(p, e, "confirmation_key", es.confirmation_key, nh) &
         field_eq(p, e, "membership_key", es.membership_key, nh) &
         field_eq(p, e, "resumption_psk", es.resumption_psk, nh);

    uint8_t pub[EK_MLS_MAX_KEM_PUBLIC_LEN], priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
    int rc = ek_mls_external_key_pair(pub, priv, s, es.external_secret);
    if (rc != EK_OK)
        fprintf(stderr, "  external key pair: %s\n", ek_strerror(rc));
    ok = ok && rc == EK_OK && field_eq(p, e, "external_pub", pub, s->kem_public_len);

    /* The exporter label is text, used as its ASCII bytes (README §0). */
    const json_t *x = json_object_get(e, "exporter");
    const char *label = ek_test_json_str(x, "label");
    ek_mls_bytes ctx = mls_hex_bytes(p, x, "context");
    size_t len = (size_t)ek_test_json_int(x, "length");
    uint8_t out[256];
    ok = ok && len <= sizeof(out) &&
         ek_mls_exporter(out, len, s, es.exporter_secret, label, strlen(label), ctx.data,
                         ctx.len) == EK_OK &&
         field_eq(p, x, "secret", out, len);
    memcpy(prev_init, es.init_secret, nh);
    ek_mls_epoch_secrets_wipe(&es);
    return ok;
}

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/key-schedule.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/key-schedule");
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        const ek_mls_suite *s = mls_vec_suite(&st, c);
        if (s == NULL)
            continue;
        mls_hex_pool p = {0};
        ek_mls_bytes group_id = mls_hex_bytes(&p, c, "group_id");
        ek_mls_bytes init = mls_hex_bytes(&p, c, "initial_init_secret");
        uint8_t prev_init[EK_MLS_MAX_HASH_LEN];
        int ok = init.len == s->hash_len;
        if (ok)
            memcpy(prev_init, init.data, init.len);
        const json_t *epochs = json_object_get(c, "epochs");
        size_t j;
        json_t *e;
        json_array_foreach (epochs, j, e) {
            mls_hex_pool q = {0};
            int eok = ok && check_epoch(s, &q, group_id, j, e, prev_init);
            if (!eok)
                fprintf(stderr, "  suite %u epoch %zu failed\n", s->id, j);
            ok = ok && eok;
            mls_hex_free(&q);
        }
        ek_vec_case(&st, ok && json_array_size(epochs) > 0, "case %zu (suite %u)", i, s->id);
        mls_hex_free(&p);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
