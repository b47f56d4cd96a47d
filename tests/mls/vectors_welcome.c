/*
 * vectors_welcome.c: welcome.json (RFC 9420 §12.4.3.1): find our
 * EncryptedGroupSecrets by KeyPackageRef, decrypt the GroupSecrets with
 * init_priv and the GroupInfo with the welcome key, verify the GroupInfo
 * signature with signer_pub (the file has no tree) and its confirmation
 * tag from the joiner secret. Uses the same opening code as joining.
 */
#include <stdio.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

#include "mls/group_internal.h"
#include "mls_vec.h"

static int check_case(const ek_mls_suite *s, const json_t *c)
{
    mls_hex_pool p = {0};
    ek_mls_bytes init_priv = mls_hex_bytes(&p, c, "init_priv");
    ek_mls_bytes signer_pub = mls_hex_bytes(&p, c, "signer_pub");
    ek_mls_bytes kp_msg = mls_hex_bytes(&p, c, "key_package");
    ek_mls_bytes wel_msg = mls_hex_bytes(&p, c, "welcome");
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_message m;
    uint8_t ref[EK_MLS_MAX_HASH_LEN], psk_secret[EK_MLS_MAX_HASH_LEN];
    ek_mls_group_secrets gs;
    ek_mls_group_info gi;
    int ok = kp_msg.len > 4 &&
             ek_mls_key_package_ref(ref, s, kp_msg.data + 4, kp_msg.len - 4) == EK_OK &&
             ek_mls_message_decode(&m, &a, wel_msg.data, wel_msg.len) == EK_OK &&
             m.wire_format == EK_MLS_WIRE_WELCOME;
    int rc = ok ? ek_mls_welcome_open(&gs, &gi, psk_secret, &a, NULL, &m.u.welcome, s, ref,
                                      init_priv.data)
                : EK_ERR_DECODE;
    if (ok && rc != EK_OK)
        fprintf(stderr, "  open: %s\n", ek_strerror(rc));
    ok = ok && rc == EK_OK;
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    ok = ok && ek_mls_write_group_info_tbs(&w, &gi) == EK_OK &&
         ek_mls_verify_with_label(s, signer_pub.data, signer_pub.len, "GroupInfoTBS", w.buf, w.len,
                                  gi.signature.data, gi.signature.len) == EK_OK;
    w.len = 0;
    ek_mls_epoch_secrets es;
    ok = ok && ek_mls_write_group_context(&w, &gi.group_context) == EK_OK &&
         ek_mls_key_schedule_from_joiner(&es, s, gs.joiner_secret.data, psk_secret, w.buf, w.len) ==
             EK_OK &&
         gi.group_context.confirmed_transcript_hash.len == s->hash_len &&
         ek_mls_confirmation_tag_verify(s, es.confirmation_key,
                                        gi.group_context.confirmed_transcript_hash.data,
                                        gi.confirmation_tag.data, gi.confirmation_tag.len) == EK_OK;
    ek_mls_epoch_secrets_wipe(&es);
    ek_writer_dispose(&w);
    ek_mls_arena_free(&a);
    mls_hex_free(&p);
    return ok;
}

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/welcome.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/welcome");
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        const ek_mls_suite *s = mls_vec_suite(&st, c);
        if (s == NULL)
            continue;
        ek_vec_case(&st, check_case(s, c), "case %zu (suite %u)", i, s->id);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
