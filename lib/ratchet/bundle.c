/*
 * bundle.c: the prekey bundle (X3DH §3.2) as it travels between peers over
 * the data channel, where Signal would fetch it from its server.
 *
 * Encoding (docs/ratchet.md): one format byte 0x01, then protobuf fields
 *   1 registrationId (uint32)   2 deviceId (uint32)
 *   3 identityKey (33 bytes)    4 signedPreKeyId (uint32)
 *   5 signedPreKey (33 bytes)   6 signedPreKeySignature (64 bytes)
 *   7 preKeyId (uint32)         8 preKey (33 bytes)   -- both or neither
 * written in that order. The decoder wants fields 1-6 exactly once, 7 and
 * 8 together at most once, nothing else and nothing after, and the
 * signature must verify (X3DH §3.3: Alice checks it before anything else).
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ratchet_internal.h"

enum { BUNDLE_FORMAT = 0x01 };

enum bundle_field {
    F_REGISTRATION_ID = 1,
    F_DEVICE_ID,
    F_IDENTITY_KEY,
    F_SIGNED_PREKEY_ID,
    F_SIGNED_PREKEY,
    F_SIGNATURE,
    F_PREKEY_ID,
    F_PREKEY,
};

void ek_ratchet_bundle_from_prekeys(ek_ratchet_bundle *b, const ek_ratchet_identity *id,
                                    const ek_ratchet_prekeys *pk, uint32_t device_id)
{
    memset(b, 0, sizeof(*b));
    b->registration_id = id->registration_id;
    b->device_id = device_id;
    memcpy(b->identity_key, id->key.pub, EK_RATCHET_PUBLIC_LEN);
    b->signed_prekey_id = pk->signed_prekey_id;
    memcpy(b->signed_prekey, pk->signed_prekey.pub, EK_RATCHET_PUBLIC_LEN);
    memcpy(b->signed_prekey_signature, pk->signature, EK_XEDDSA_SIG_LEN);
    if (pk->has_one_time_prekey) {
        b->has_one_time_prekey = 1;
        b->one_time_prekey_id = pk->one_time_prekey_id;
        memcpy(b->one_time_prekey, pk->one_time_prekey.pub, EK_RATCHET_PUBLIC_LEN);
    }
}

int ek_ratchet_bundle_verify(const ek_ratchet_bundle *b)
{
    if (b == NULL)
        return EK_ERR_INVALID_ARG;
    const uint8_t *identity = NULL, *unused = NULL;
    if (ratchet_parse_public_key(&identity, b->identity_key) != EK_OK ||
        ratchet_parse_public_key(&unused, b->signed_prekey) != EK_OK ||
        (b->has_one_time_prekey && ratchet_parse_public_key(&unused, b->one_time_prekey) != EK_OK))
        return EK_ERR_DECODE;
    return ek_xeddsa_verify(b->signed_prekey_signature, EK_XEDDSA_SIG_LEN, identity,
                            b->signed_prekey, EK_RATCHET_PUBLIC_LEN);
}

int ek_ratchet_bundle_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                             const ek_ratchet_bundle *b)
{
    if (out == NULL || out_len == NULL || b == NULL)
        return EK_ERR_INVALID_ARG;
    *out_len = 0;
    ek_writer w;
    ek_writer_init_fixed(&w, out, out_cap);
    ek_write_u8(&w, BUNDLE_FORMAT);
    pb_write_uint32(&w, F_REGISTRATION_ID, b->registration_id);
    pb_write_uint32(&w, F_DEVICE_ID, b->device_id);
    pb_write_bytes(&w, F_IDENTITY_KEY, b->identity_key, EK_RATCHET_PUBLIC_LEN);
    pb_write_uint32(&w, F_SIGNED_PREKEY_ID, b->signed_prekey_id);
    pb_write_bytes(&w, F_SIGNED_PREKEY, b->signed_prekey, EK_RATCHET_PUBLIC_LEN);
    pb_write_bytes(&w, F_SIGNATURE, b->signed_prekey_signature, EK_XEDDSA_SIG_LEN);
    if (b->has_one_time_prekey) {
        pb_write_uint32(&w, F_PREKEY_ID, b->one_time_prekey_id);
        pb_write_bytes(&w, F_PREKEY, b->one_time_prekey, EK_RATCHET_PUBLIC_LEN);
    }
    if (w.err != EK_OK) {
        ek_wipe(out, out_cap);
        return w.err;
    }
    *out_len = w.len;
    return EK_OK;
}

/* A bytes field of exactly n bytes. */
static int read_fixed(ek_reader *r, uint8_t *out, size_t n)
{
    const uint8_t *p = NULL;
    size_t len = 0;
    int rc = pb_read_bytes(r, &p, &len);
    if (rc == EK_OK && len != n)
        rc = ek_reader_fail(r, EK_ERR_DECODE);
    if (rc == EK_OK)
        memcpy(out, p, n);
    return rc;
}

static int read_bundle_field(ek_reader *r, ek_ratchet_bundle *b, uint32_t field, unsigned wire)
{
    static const unsigned wire_of[] = {
        [F_REGISTRATION_ID] = PB_VARINT,  [F_DEVICE_ID] = PB_VARINT,  [F_IDENTITY_KEY] = PB_LEN,
        [F_SIGNED_PREKEY_ID] = PB_VARINT, [F_SIGNED_PREKEY] = PB_LEN, [F_SIGNATURE] = PB_LEN,
        [F_PREKEY_ID] = PB_VARINT,        [F_PREKEY] = PB_LEN,
    };
    if (field < F_REGISTRATION_ID || field > F_PREKEY || wire_of[field] != wire)
        return ek_reader_fail(r, EK_ERR_DECODE);
    switch (field) {
    case F_REGISTRATION_ID: return pb_read_uint32(r, &b->registration_id);
    case F_DEVICE_ID: return pb_read_uint32(r, &b->device_id);
    case F_IDENTITY_KEY: return read_fixed(r, b->identity_key, EK_RATCHET_PUBLIC_LEN);
    case F_SIGNED_PREKEY_ID: return pb_read_uint32(r, &b->signed_prekey_id);
    case F_SIGNED_PREKEY: return read_fixed(r, b->signed_prekey, EK_RATCHET_PUBLIC_LEN);
    case F_SIGNATURE: return read_fixed(r, b->signed_prekey_signature, EK_XEDDSA_SIG_LEN);
    case F_PREKEY_ID: return pb_read_uint32(r, &b->one_time_prekey_id);
    default: return read_fixed(r, b->one_time_prekey, EK_RATCHET_PUBLIC_LEN);
    }
}

int ek_ratchet_bundle_decode(ek_ratchet_bundle *b, const uint8_t *in, size_t in_len)
{
    if (b == NULL || (in == NULL && in_len > 0))
        return EK_ERR_INVALID_ARG;
    memset(b, 0, sizeof(*b));
    if (in_len > EK_RATCHET_BUNDLE_MAX_LEN)
        return EK_ERR_TOO_LARGE;
    ek_reader r;
    ek_reader_init(&r, in, in_len);
    uint8_t format = 0;
    unsigned seen = 0;
    int rc = ek_read_u8(&r, &format);
    if (rc == EK_OK && format != BUNDLE_FORMAT)
        rc = EK_ERR_UNSUPPORTED;
    while (rc == EK_OK && ek_reader_remaining(&r) > 0) {
        uint32_t field = 0;
        unsigned wire = 0;
        rc = pb_read_key(&r, &field, &wire);
        if (rc == EK_OK && field <= F_PREKEY && (seen & 1u << field))
            rc = ek_reader_fail(&r, EK_ERR_DECODE); /* a field twice */
        if (rc == EK_OK)
            rc = read_bundle_field(&r, b, field, wire);
        if (rc == EK_OK)
            seen |= 1u << field;
    }
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    const unsigned required = 0x7eu; /* fields 1..6 */
    const unsigned one_time = 1u << F_PREKEY_ID | 1u << F_PREKEY;
    if (rc == EK_OK && ((seen & required) != required ||
                        ((seen & one_time) != 0 && (seen & one_time) != one_time)))
        rc = EK_ERR_DECODE;
    if (rc == EK_OK) {
        b->has_one_time_prekey = (seen & one_time) != 0;
        rc = ek_ratchet_bundle_verify(b);
    }
    if (rc != EK_OK)
        memset(b, 0, sizeof(*b));
    return rc;
}
