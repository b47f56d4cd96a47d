/*
 * message.c: the v3 wire messages, as libsignal-protocol-c writes them
 * (WhisperTextProtocol.proto):
 *
 *   SignalMessage       = version || protobuf{1 ratchetKey, 2 counter,
 *                         3 previousCounter, 4 ciphertext} || mac[8]
 *   PreKeySignalMessage = version || protobuf{1 preKeyId, 2 baseKey,
 *                         3 identityKey, 4 message, 5 registrationId,
 *                         6 signedPreKeyId}
 *
 * version = 0x33 (message version 3 in the high nibble, the sender's current
 * version 3 in the low one). Keys are 33-byte 0x05 || u, u canonical
 * (below 2^255 - 19). The MAC is
 * HMAC-SHA256(mac_key, IK_sender || IK_receiver || version || protobuf)
 * truncated to 8 bytes. With associated data (our extension, ek_ratchet.h)
 * the MAC also covers u64be(|ad|) || ad || u64be(|hdr|) || hdr, hdr being
 * the bytes of a PreKeySignalMessage wrapped around the message (empty for
 * a bare one), whose registrationId v3 otherwise leaves unauthenticated.
 *
 * Decoding is strict: required fields present, no field twice, no unknown
 * field, keys well formed, ciphertext a whole number of AES blocks within
 * EK_RATCHET_MAX_PLAINTEXT, nothing left over.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ratchet_internal.h"

enum { SM_RATCHET_KEY = 1, SM_COUNTER, SM_PREVIOUS_COUNTER, SM_CIPHERTEXT };
enum {
    PK_ONE_TIME_PREKEY_ID = 1,
    PK_BASE_KEY,
    PK_IDENTITY_KEY,
    PK_MESSAGE,
    PK_REGISTRATION_ID,
    PK_SIGNED_PREKEY_ID
};

/* The version byte: exactly 0x33, which is all libsignal-protocol-c ever
 * writes. (libsignal reads only the high nibble; we refuse any other low
 * nibble too, since a PreKeySignalMessage's own version byte is not under
 * the MAC.) */
static int check_version(uint8_t v)
{
    return v == RATCHET_VERSION_BYTE ? EK_OK : EK_ERR_UNSUPPORTED;
}

/* Mark field as seen; a field seen twice is a decode error. */
static int see_field(ek_reader *r, unsigned *seen, uint32_t field, unsigned wire,
                     unsigned want_wire)
{
    if (wire != want_wire || (*seen & 1u << field))
        return ek_reader_fail(r, EK_ERR_DECODE);
    *seen |= 1u << field;
    return EK_OK;
}

static int read_signal_field(ek_reader *r, signal_message *m, unsigned *seen)
{
    uint32_t field = 0;
    unsigned wire = 0;
    int rc = pb_read_key(r, &field, &wire);
    if (rc != EK_OK)
        return rc;
    switch (field) {
    case SM_RATCHET_KEY:
        rc = see_field(r, seen, field, wire, PB_LEN);
        return rc != EK_OK ? rc : pb_read_public_key(r, &m->ratchet_key);
    case SM_COUNTER:
        rc = see_field(r, seen, field, wire, PB_VARINT);
        return rc != EK_OK ? rc : pb_read_uint32(r, &m->counter);
    case SM_PREVIOUS_COUNTER:
        rc = see_field(r, seen, field, wire, PB_VARINT);
        return rc != EK_OK ? rc : pb_read_uint32(r, &m->previous_counter);
    case SM_CIPHERTEXT:
        rc = see_field(r, seen, field, wire, PB_LEN);
        return rc != EK_OK ? rc : pb_read_bytes(r, &m->ciphertext, &m->ciphertext_len);
    default: return ek_reader_fail(r, EK_ERR_DECODE);
    }
}

int signal_message_decode(signal_message *m, const uint8_t *in, size_t len)
{
    memset(m, 0, sizeof(*m));
    if (len < 1 + EK_RATCHET_MAC_LEN)
        return EK_ERR_TRUNCATED;
    int rc = check_version(in[0]);
    if (rc != EK_OK)
        return rc;
    m->body = in;
    m->body_len = len - EK_RATCHET_MAC_LEN;
    m->mac = in + m->body_len;
    ek_reader r;
    ek_reader_init(&r, in + 1, m->body_len - 1);
    unsigned seen = 0;
    while (rc == EK_OK && ek_reader_remaining(&r) > 0)
        rc = read_signal_field(&r, m, &seen);
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    const unsigned required = 1u << SM_RATCHET_KEY | 1u << SM_COUNTER | 1u << SM_CIPHERTEXT;
    if (rc == EK_OK && (seen & required) != required)
        rc = EK_ERR_DECODE;
    if (rc == EK_OK && (m->ciphertext_len == 0 || m->ciphertext_len % EK_AES_CBC_BLOCK != 0))
        rc = EK_ERR_DECODE;
    if (rc == EK_OK && m->ciphertext_len > EK_AES256_CBC_CT_LEN(EK_RATCHET_MAX_PLAINTEXT))
        rc = EK_ERR_TOO_LARGE;
    if (rc != EK_OK)
        memset(m, 0, sizeof(*m));
    return rc;
}

static int read_prekey_field(ek_reader *r, prekey_message *m, unsigned *seen)
{
    uint32_t field = 0;
    unsigned wire = 0;
    int rc = pb_read_key(r, &field, &wire);
    if (rc != EK_OK)
        return rc;
    switch (field) {
    case PK_ONE_TIME_PREKEY_ID:
        rc = see_field(r, seen, field, wire, PB_VARINT);
        m->has_one_time_prekey_id = 1;
        return rc != EK_OK ? rc : pb_read_uint32(r, &m->one_time_prekey_id);
    case PK_BASE_KEY:
        rc = see_field(r, seen, field, wire, PB_LEN);
        return rc != EK_OK ? rc : pb_read_public_key(r, &m->base_key);
    case PK_IDENTITY_KEY:
        rc = see_field(r, seen, field, wire, PB_LEN);
        return rc != EK_OK ? rc : pb_read_public_key(r, &m->identity_key);
    case PK_MESSAGE:
        rc = see_field(r, seen, field, wire, PB_LEN);
        return rc != EK_OK ? rc : pb_read_bytes(r, &m->message, &m->message_len);
    case PK_REGISTRATION_ID:
        rc = see_field(r, seen, field, wire, PB_VARINT);
        return rc != EK_OK ? rc : pb_read_uint32(r, &m->registration_id);
    case PK_SIGNED_PREKEY_ID:
        rc = see_field(r, seen, field, wire, PB_VARINT);
        return rc != EK_OK ? rc : pb_read_uint32(r, &m->signed_prekey_id);
    default: return ek_reader_fail(r, EK_ERR_DECODE);
    }
}

int prekey_message_decode(prekey_message *m, const uint8_t *in, size_t len)
{
    memset(m, 0, sizeof(*m));
    if (len < 1)
        return EK_ERR_TRUNCATED;
    int rc = check_version(in[0]);
    if (rc != EK_OK)
        return rc;
    ek_reader r;
    ek_reader_init(&r, in + 1, len - 1);
    unsigned seen = 0;
    while (rc == EK_OK && ek_reader_remaining(&r) > 0)
        rc = read_prekey_field(&r, m, &seen);
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    const unsigned required =
        1u << PK_BASE_KEY | 1u << PK_IDENTITY_KEY | 1u << PK_MESSAGE | 1u << PK_SIGNED_PREKEY_ID;
    if (rc == EK_OK && (seen & required) != required)
        rc = EK_ERR_DECODE;
    if (rc != EK_OK)
        memset(m, 0, sizeof(*m));
    return rc;
}

size_t signal_message_len(uint32_t counter, uint32_t previous_counter, size_t ct_len)
{
    return 1 + pb_bytes_field_len(SM_RATCHET_KEY, EK_RATCHET_PUBLIC_LEN) +
           pb_uint32_field_len(SM_COUNTER, counter) +
           pb_uint32_field_len(SM_PREVIOUS_COUNTER, previous_counter) +
           pb_bytes_field_len(SM_CIPHERTEXT, ct_len) + EK_RATCHET_MAC_LEN;
}

int signal_message_write(ek_writer *w, uint8_t **ct, const uint8_t ratchet_key[32],
                         uint32_t counter, uint32_t previous_counter, size_t ct_len)
{
    ek_write_u8(w, RATCHET_VERSION_BYTE);
    pb_write_public_key(w, SM_RATCHET_KEY, ratchet_key);
    pb_write_uint32(w, SM_COUNTER, counter);
    pb_write_uint32(w, SM_PREVIOUS_COUNTER, previous_counter);
    *ct = pb_reserve_bytes(w, SM_CIPHERTEXT, ct_len);
    return w->err;
}

static void mac_update_length(ek_hmac_sha256_ctx *c, uint64_t len)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(len >> (56 - 8 * i));
    ek_hmac_sha256_update(c, be, sizeof(be));
}

void signal_message_mac(uint8_t tag[EK_RATCHET_MAC_LEN], const uint8_t mac_key[32],
                        const uint8_t sender_identity[32], const uint8_t receiver_identity[32],
                        const mac_binding *bind, const uint8_t *body, size_t body_len)
{
    uint8_t ids[2 * EK_RATCHET_PUBLIC_LEN], full[EK_HMAC_SHA256_LEN];
    ek_hmac_sha256_ctx c;
    ek_hmac_sha256_init(&c, mac_key, 32);
    ratchet_public_key(ids, sender_identity);
    ratchet_public_key(ids + EK_RATCHET_PUBLIC_LEN, receiver_identity);
    ek_hmac_sha256_update(&c, ids, sizeof(ids));
    if (bind != NULL && bind->ad_len > 0) {
        /* Our extension. The length's first byte is 0x00 where a message's
         * is 0x33, so inputs with and without associated data never
         * coincide; with lengths in front, the parts cannot shift. */
        mac_update_length(&c, bind->ad_len);
        ek_hmac_sha256_update(&c, bind->ad, bind->ad_len);
        mac_update_length(&c, (uint64_t)bind->prefix_len + bind->suffix_len);
        ek_hmac_sha256_update(&c, bind->prefix, bind->prefix_len);
        ek_hmac_sha256_update(&c, bind->suffix, bind->suffix_len);
    }
    ek_hmac_sha256_update(&c, body, body_len);
    ek_hmac_sha256_final(&c, full);
    memcpy(tag, full, EK_RATCHET_MAC_LEN);
    ek_wipe(full, sizeof(full));
}

size_t prekey_message_len(const prekey_header *h, size_t inner_len)
{
    size_t n = 1 + pb_bytes_field_len(PK_BASE_KEY, EK_RATCHET_PUBLIC_LEN) +
               pb_bytes_field_len(PK_IDENTITY_KEY, EK_RATCHET_PUBLIC_LEN) +
               pb_bytes_field_len(PK_MESSAGE, inner_len) +
               pb_uint32_field_len(PK_REGISTRATION_ID, h->registration_id) +
               pb_uint32_field_len(PK_SIGNED_PREKEY_ID, h->signed_prekey_id);
    if (h->has_one_time_prekey_id)
        n += pb_uint32_field_len(PK_ONE_TIME_PREKEY_ID, h->one_time_prekey_id);
    return n;
}

void prekey_message_write_head(ek_writer *w, const prekey_header *h, size_t inner_len)
{
    ek_write_u8(w, RATCHET_VERSION_BYTE);
    if (h->has_one_time_prekey_id)
        pb_write_uint32(w, PK_ONE_TIME_PREKEY_ID, h->one_time_prekey_id);
    pb_write_public_key(w, PK_BASE_KEY, h->base_key);
    pb_write_public_key(w, PK_IDENTITY_KEY, h->identity_key);
    pb_write_varint(w, (uint64_t)PK_MESSAGE << 3 | PB_LEN);
    pb_write_varint(w, inner_len);
}

void prekey_message_write_tail(ek_writer *w, const prekey_header *h)
{
    pb_write_uint32(w, PK_REGISTRATION_ID, h->registration_id);
    pb_write_uint32(w, PK_SIGNED_PREKEY_ID, h->signed_prekey_id);
}
