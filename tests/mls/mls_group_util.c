/* mls_group_util.c: the helpers of mls_group_util.h. */
#include "mls_group_util.h"

#include <stdio.h>
#include <string.h>

int mls_member_init(mls_member *m, const char *name, uint16_t suite, const ek_rng *rng)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    ek_mls_key_package_params p = {
        .cipher_suite = suite,
        .identity = (const uint8_t *)m->name,
        .identity_len = strlen(m->name),
        .now_s = MLS_TEST_NOW_S,
    };
    return ek_mls_key_package_create(&m->kp, &p, rng, NULL);
}

void mls_member_free(mls_member *m)
{
    ek_mls_group_free(m->g);
    ek_mls_key_package_bundle_free(m->kp);
    memset(m, 0, sizeof(*m));
}

int mls_deliver(mls_member *m, const ek_mls_buf *msg, int *kind)
{
    ek_mls_received r;
    memset(&r, 0, sizeof(r)); /* process leaves it alone on bad arguments */
    int rc = ek_mls_group_process(m->g, &r, msg->data, msg->len);
    if (kind != NULL)
        *kind = r.kind;
    ek_mls_received_free(&r);
    return rc;
}

int mls_same_view(mls_member *const *ms, size_t n)
{
    uint8_t th0[EK_MLS_MAX_HASH_LEN], ea0[EK_MLS_MAX_HASH_LEN];
    size_t l0 = 0, e0 = 0;
    int first = 1;
    uint64_t epoch0 = 0;
    for (size_t i = 0; i < n; i++) {
        if (ms[i]->g == NULL || !ek_mls_group_active(ms[i]->g))
            continue;
        uint8_t th[EK_MLS_MAX_HASH_LEN], ea[EK_MLS_MAX_HASH_LEN];
        size_t l = 0, e = 0;
        if (ek_mls_group_tree_hash(ms[i]->g, th, &l) != EK_OK ||
            ek_mls_group_epoch_authenticator(ms[i]->g, ea, &e) != EK_OK)
            return 0;
        if (first) {
            memcpy(th0, th, l);
            memcpy(ea0, ea, e);
            l0 = l;
            e0 = e;
            epoch0 = ek_mls_group_epoch(ms[i]->g);
            first = 0;
            continue;
        }
        if (l != l0 || e != e0 || memcmp(th, th0, l) != 0 || memcmp(ea, ea0, e) != 0 ||
            ek_mls_group_epoch(ms[i]->g) != epoch0) {
            fprintf(stderr, "  view of %s differs (epoch %llu vs %llu)\n", ms[i]->name,
                    (unsigned long long)ek_mls_group_epoch(ms[i]->g), (unsigned long long)epoch0);
            return 0;
        }
    }
    return 1;
}
