/*
 * ek_mls.h: Messaging Layer Security (RFC 9420), part 1: the wire codec,
 * tree math, the labelled crypto of §5, the key schedule with PSKs and
 * exporters (§8), transcript hashes (§8.2), the secret tree with its
 * ratchets (§9) and message protection (§6: PublicMessage, PrivateMessage).
 *
 * Shape of the API:
 *   - Everything suite-specific sits behind an ek_mls_suite descriptor
 *     (ek_mls_suite_get); no function below branches on a suite id.
 *   - Decoded structures are plain C structs whose byte strings are
 *     ek_mls_bytes views. Decoding does not copy: the views point into the
 *     input buffer (which must outlive the struct), and the arrays a
 *     structure needs are allocated from an ek_mls_arena that the caller
 *     frees in one call. The same structs are filled in by hand to encode.
 *   - ek_mls_read_X(out, arena, reader) decodes one struct X from a
 *     bounds-checked ek_reader; ek_mls_write_X(writer, x) encodes it. Every
 *     decoder rejects non-minimal varints, bad enum values, presence bytes
 *     other than 0/1, vectors longer than their limit and truncated input;
 *     a caller that wants a whole buffer to be exactly one struct checks
 *     ek_reader_finish (ek_mls_message_decode does it for MLSMessage).
 *   - Secrets live in fixed arrays sized for the largest suite
 *     (EK_MLS_MAX_HASH_LEN); their length is the suite's Nh. Wipe them with
 *     the *_wipe / *_free functions.
 *
 * Conventions (../shared/STYLE.md): outputs first, (ptr, len) pairs, EK_OK or
 * a negative ek_err.
 */
#ifndef EK_MLS_H
#define EK_MLS_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_base.h>
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_hpke.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Limits. Every bound the decoder or the state enforces, with its unit.
 */

/* Bytes in one <V> vector we accept or produce. RFC 9420 §2.1.2 allows
 * 2^30 - 1; 64 MiB holds the ratchet tree of EK_MLS_MAX_LEAVES members. */
#define EK_MLS_MAX_VECTOR_BYTES     ((size_t)1 << 26)
/* Leaves (member slots) of a ratchet tree or secret tree. */
#define EK_MLS_MAX_LEAVES           ((uint32_t)1 << 16)
/* Nodes of the array form of a tree with EK_MLS_MAX_LEAVES leaves. */
#define EK_MLS_MAX_TREE_NODES       (2 * EK_MLS_MAX_LEAVES - 1)
/* Levels above the leaves in such a tree: the length of a direct path. */
#define EK_MLS_MAX_TREE_DEPTH       16
/* Entries in one Extension list. */
#define EK_MLS_MAX_EXTENSIONS       256
/* Entries in each list of a Capabilities struct. */
#define EK_MLS_MAX_CAPABILITY_ITEMS 256
/* Certificates in one X.509 credential chain. */
#define EK_MLS_MAX_CERTIFICATES     32
/* Proposals (inline or by reference) in one Commit. */
#define EK_MLS_MAX_PROPOSALS        4096
/* PreSharedKeyIDs in one GroupSecrets, and PSKs in one psk_secret. */
#define EK_MLS_MAX_PSKS             256
/* Total bytes one arena may hand out: a cap on the memory a decoded
 * message can claim (256 MiB). */
#define EK_MLS_MAX_ARENA_BYTES      ((size_t)1 << 28)
/* Generations a receiving ratchet moves forward for one message (§15.3:
 * a limit on the work one message can cause). */
#define EK_MLS_MAX_GENERATION_JUMP  1024u
/* Out-of-order (skipped) keys kept per ratchet; the oldest goes first. */
#define EK_MLS_MAX_SKIPPED_KEYS     128u
/* Zero bytes of padding a PrivateMessage may carry when we send (64 KiB). */
#define EK_MLS_MAX_PADDING_BYTES    ((size_t)1 << 16)

/* Sizes of fixed buffers, large enough for every registered suite. */
#define EK_MLS_MAX_HASH_LEN        64  /* KDF.Nh, hash and MAC output (SHA-512) */
#define EK_MLS_MAX_AEAD_KEY_LEN    32  /* AEAD.Nk */
#define EK_MLS_AEAD_NONCE_LEN      12  /* AEAD.Nn of every registered suite */
#define EK_MLS_MAX_KEM_PUBLIC_LEN  133 /* Npk (P-521) */
#define EK_MLS_MAX_KEM_PRIVATE_LEN 66  /* Nsk (P-521) */
#define EK_MLS_MAX_SIGNATURE_LEN   144 /* ECDSA P-521 DER is the longest */
#define EK_MLS_REUSE_GUARD_LEN     4

/* ---------------------------------------------------------------------------
 * Registry values (RFC 9420 §17).
 */
#define EK_MLS_VERSION_MLS10 1

#define EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519        0x0001
#define EK_MLS_SUITE_P256_AES128GCM_SHA256_P256             0x0002
#define EK_MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519 0x0003

#define EK_MLS_WIRE_PUBLIC_MESSAGE  1
#define EK_MLS_WIRE_PRIVATE_MESSAGE 2
#define EK_MLS_WIRE_WELCOME         3
#define EK_MLS_WIRE_GROUP_INFO      4
#define EK_MLS_WIRE_KEY_PACKAGE     5

#define EK_MLS_CONTENT_APPLICATION 1
#define EK_MLS_CONTENT_PROPOSAL    2
#define EK_MLS_CONTENT_COMMIT      3

#define EK_MLS_SENDER_MEMBER              1
#define EK_MLS_SENDER_EXTERNAL            2
#define EK_MLS_SENDER_NEW_MEMBER_PROPOSAL 3
#define EK_MLS_SENDER_NEW_MEMBER_COMMIT   4

#define EK_MLS_CREDENTIAL_BASIC 1
#define EK_MLS_CREDENTIAL_X509  2

#define EK_MLS_LEAF_SOURCE_KEY_PACKAGE 1
#define EK_MLS_LEAF_SOURCE_UPDATE      2
#define EK_MLS_LEAF_SOURCE_COMMIT      3

#define EK_MLS_PROPOSAL_ADD                      1
#define EK_MLS_PROPOSAL_UPDATE                   2
#define EK_MLS_PROPOSAL_REMOVE                   3
#define EK_MLS_PROPOSAL_PSK                      4
#define EK_MLS_PROPOSAL_REINIT                   5
#define EK_MLS_PROPOSAL_EXTERNAL_INIT            6
#define EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS 7

#define EK_MLS_PROPOSAL_OR_REF_PROPOSAL  1
#define EK_MLS_PROPOSAL_OR_REF_REFERENCE 2

#define EK_MLS_PSK_EXTERNAL   1
#define EK_MLS_PSK_RESUMPTION 2

#define EK_MLS_RESUMPTION_APPLICATION 1
#define EK_MLS_RESUMPTION_REINIT      2
#define EK_MLS_RESUMPTION_BRANCH      3

#define EK_MLS_NODE_LEAF   1
#define EK_MLS_NODE_PARENT 2

#define EK_MLS_EXT_APPLICATION_ID        1
#define EK_MLS_EXT_RATCHET_TREE          2
#define EK_MLS_EXT_REQUIRED_CAPABILITIES 3
#define EK_MLS_EXT_EXTERNAL_PUB          4
#define EK_MLS_EXT_EXTERNAL_SENDERS      5

/* ---------------------------------------------------------------------------
 * Cipher suites (§5.1, §17.1): one descriptor holds every algorithm and
 * length a suite fixes. Adding a suite means adding one descriptor in
 * lib/mls/suite.c (and its primitives); nothing else changes.
 */
/* One signature to check: msg is the whole signed message (for MLS, the
 * SignContent of §5.1.2). */
typedef struct ek_mls_signed_item {
    const uint8_t *pub;
    size_t pub_len;
    const uint8_t *sig;
    size_t sig_len;
    const uint8_t *msg;
    size_t msg_len;
} ek_mls_signed_item;

typedef struct ek_mls_suite {
    uint16_t id;
    const char *name;
    size_t hash_len;       /* KDF.Nh = Hash.Nh = MAC length */
    size_t aead_key_len;   /* AEAD.Nk */
    size_t aead_nonce_len; /* AEAD.Nn */
    ek_aead_alg aead;
    ek_hpke_suite hpke;     /* KEM, KDF and AEAD ids for HPKE (RFC 9180) */
    size_t kem_public_len;  /* Npk */
    size_t kem_private_len; /* Nsk */
    size_t kem_output_len;  /* Nenc */
    size_t sig_public_len;
    size_t sig_private_len;
    size_t sig_max_len;
    void (*hash)(uint8_t *out, const void *in, size_t len);
    void (*mac)(uint8_t *out, const uint8_t *key, size_t key_len, const void *msg, size_t len);
    void (*kdf_extract)(uint8_t *prk, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                        size_t ikm_len);
    int (*kdf_expand)(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
                      const uint8_t *info, size_t info_len);
    /* sig receives at most sig_max_len bytes; *sig_len its length. */
    int (*sign)(uint8_t *sig, size_t *sig_len, const uint8_t *priv, size_t priv_len,
                const uint8_t *msg, size_t msg_len);
    int (*verify)(const uint8_t *sig, size_t sig_len, const uint8_t *pub, size_t pub_len,
                  const uint8_t *msg, size_t msg_len);
    int (*sig_public)(uint8_t *pub, const uint8_t *priv, size_t priv_len);
    /* Check n signatures at once: EK_OK only when every one verifies,
     * EK_ERR_AUTH otherwise. Joining a group checks one signature per
     * member (§7.3); batching makes that several times cheaper. NULL: the
     * items are checked one by one with verify. */
    int (*verify_batch)(const ek_mls_signed_item *items, size_t n, const ek_allocator *alloc);
} ek_mls_suite;

/* The descriptor of suite id, or NULL when we do not implement it. */
EK_API const ek_mls_suite *ek_mls_suite_get(uint16_t id);

/* ---------------------------------------------------------------------------
 * Arena: the allocations behind one decoded (or assembled) structure,
 * released and wiped together. Zero-initialise with ek_mls_arena_init.
 */
typedef struct ek_mls_arena_chunk ek_mls_arena_chunk;
typedef struct ek_mls_arena {
    const ek_allocator *alloc;
    ek_mls_arena_chunk *head;
    size_t total; /* bytes obtained from the allocator so far */
} ek_mls_arena;

EK_API void ek_mls_arena_init(ek_mls_arena *a, const ek_allocator *alloc);
/* n zeroed bytes, 16-byte aligned; NULL when the allocator fails or the
 * arena would exceed EK_MLS_MAX_ARENA_BYTES. */
EK_API void *ek_mls_arena_alloc(ek_mls_arena *a, size_t n);
/* Wipe and release everything; the arena can be used again. */
EK_API void ek_mls_arena_free(ek_mls_arena *a);

/* ---------------------------------------------------------------------------
 * Decoded structures (RFC 9420 section in brackets).
 */

/* A borrowed byte string: opaque x<V> or a fixed-size opaque. */
typedef struct ek_mls_bytes {
    const uint8_t *data;
    size_t len;
} ek_mls_bytes;

typedef struct ek_mls_u16_list {
    uint16_t *items;
    size_t count;
} ek_mls_u16_list;

typedef struct ek_mls_u32_list {
    uint32_t *items;
    size_t count;
} ek_mls_u32_list;

/* Extension (§7.2) and Extension extensions<V>. */
typedef struct ek_mls_extension {
    uint16_t type;
    ek_mls_bytes data;
} ek_mls_extension;

typedef struct ek_mls_extensions {
    ek_mls_extension *items;
    size_t count;
} ek_mls_extensions;

/* Credential (§5.3): basic carries identity, x509 a certificate chain. */
typedef struct ek_mls_credential {
    uint16_t type;
    ek_mls_bytes identity;
    ek_mls_bytes *certificates;
    size_t certificate_count;
} ek_mls_credential;

/* Capabilities (§7.2). */
typedef struct ek_mls_capabilities {
    ek_mls_u16_list versions;
    ek_mls_u16_list cipher_suites;
    ek_mls_u16_list extensions;
    ek_mls_u16_list proposals;
    ek_mls_u16_list credentials;
} ek_mls_capabilities;

/* LeafNode (§7.2). lifetime is set for source key_package, parent_hash for
 * source commit. */
typedef struct ek_mls_leaf_node {
    ek_mls_bytes encryption_key;
    ek_mls_bytes signature_key;
    ek_mls_credential credential;
    ek_mls_capabilities capabilities;
    uint8_t source;
    uint64_t not_before;
    uint64_t not_after;
    ek_mls_bytes parent_hash;
    ek_mls_extensions extensions;
    ek_mls_bytes signature;
} ek_mls_leaf_node;

/* KeyPackage (§10). */
typedef struct ek_mls_key_package {
    uint16_t version;
    uint16_t cipher_suite;
    ek_mls_bytes init_key;
    ek_mls_leaf_node leaf_node;
    ek_mls_extensions extensions;
    ek_mls_bytes signature;
} ek_mls_key_package;

/* ParentNode (§7.1). */
typedef struct ek_mls_parent_node {
    ek_mls_bytes encryption_key;
    ek_mls_bytes parent_hash;
    ek_mls_u32_list unmerged_leaves;
} ek_mls_parent_node;

/* Node (§12.4.3.3). */
typedef struct ek_mls_node {
    uint8_t type; /* EK_MLS_NODE_LEAF or EK_MLS_NODE_PARENT */
    union {
        ek_mls_leaf_node leaf;
        ek_mls_parent_node parent;
    } u;
} ek_mls_node;

/* optional<Node> ratchet_tree<V> (§12.4.3.3), as encoded: nodes[i] is NULL
 * for a blank node; the last node is never blank; node i is a leaf exactly
 * when i is even. The decoder checks all three. */
typedef struct ek_mls_ratchet_tree {
    ek_mls_node **nodes;
    size_t count;
} ek_mls_ratchet_tree;

/* HPKECiphertext, UpdatePathNode, UpdatePath (§7.6). */
typedef struct ek_mls_hpke_ciphertext {
    ek_mls_bytes kem_output;
    ek_mls_bytes ciphertext;
} ek_mls_hpke_ciphertext;

typedef struct ek_mls_update_path_node {
    ek_mls_bytes encryption_key;
    ek_mls_hpke_ciphertext *encrypted_path_secret;
    size_t encrypted_path_secret_count;
} ek_mls_update_path_node;

typedef struct ek_mls_update_path {
    ek_mls_leaf_node leaf_node;
    ek_mls_update_path_node *nodes;
    size_t node_count;
} ek_mls_update_path;

/* PreSharedKeyID (§8.4). psk_id for external; usage, psk_group_id and
 * psk_epoch for resumption. */
typedef struct ek_mls_psk_id {
    uint8_t type;
    ek_mls_bytes psk_id;
    uint8_t usage;
    ek_mls_bytes psk_group_id;
    uint64_t psk_epoch;
    ek_mls_bytes psk_nonce;
} ek_mls_psk_id;

/* ReInit (§12.1.5). */
typedef struct ek_mls_reinit {
    ek_mls_bytes group_id;
    uint16_t version;
    uint16_t cipher_suite;
    ek_mls_extensions extensions;
} ek_mls_reinit;

/* Proposal (§12.1): the union member matching type is valid. */
typedef struct ek_mls_proposal {
    uint16_t type;
    union {
        ek_mls_key_package add;                     /* Add.key_package */
        ek_mls_leaf_node update;                    /* Update.leaf_node */
        uint32_t remove;                            /* Remove.removed */
        ek_mls_psk_id psk;                          /* PreSharedKey.psk */
        ek_mls_reinit reinit;                       /* ReInit */
        ek_mls_bytes external_init;                 /* ExternalInit.kem_output */
        ek_mls_extensions group_context_extensions; /* GroupContextExtensions */
    } u;
} ek_mls_proposal;

/* ProposalOrRef and Commit (§12.4). path is NULL when absent. */
typedef struct ek_mls_proposal_or_ref {
    uint8_t type;
    ek_mls_proposal *proposal; /* type proposal */
    ek_mls_bytes reference;    /* type reference: a ProposalRef */
} ek_mls_proposal_or_ref;

typedef struct ek_mls_commit {
    ek_mls_proposal_or_ref *proposals;
    size_t proposal_count;
    ek_mls_update_path *path;
} ek_mls_commit;

/* Sender (§6): index is leaf_index (member) or sender_index (external). */
typedef struct ek_mls_sender {
    uint8_t type;
    uint32_t index;
} ek_mls_sender;

/* FramedContent (§6). */
typedef struct ek_mls_framed_content {
    ek_mls_bytes group_id;
    uint64_t epoch;
    ek_mls_sender sender;
    ek_mls_bytes authenticated_data;
    uint8_t content_type;
    union {
        ek_mls_bytes application_data;
        ek_mls_proposal proposal;
        ek_mls_commit commit;
    } u;
} ek_mls_framed_content;

/* FramedContentAuthData (§6.1): confirmation_tag only for commits. */
typedef struct ek_mls_auth_data {
    ek_mls_bytes signature;
    ek_mls_bytes confirmation_tag;
} ek_mls_auth_data;

/* AuthenticatedContent (§6). */
typedef struct ek_mls_authenticated_content {
    uint16_t wire_format;
    ek_mls_framed_content content;
    ek_mls_auth_data auth;
} ek_mls_authenticated_content;

/* PublicMessage (§6.2): membership_tag only for member senders. */
typedef struct ek_mls_public_message {
    ek_mls_framed_content content;
    ek_mls_auth_data auth;
    ek_mls_bytes membership_tag;
} ek_mls_public_message;

/* PrivateMessage (§6.3). */
typedef struct ek_mls_private_message {
    ek_mls_bytes group_id;
    uint64_t epoch;
    uint8_t content_type;
    ek_mls_bytes authenticated_data;
    ek_mls_bytes encrypted_sender_data;
    ek_mls_bytes ciphertext;
} ek_mls_private_message;

/* GroupContext (§8.1). */
typedef struct ek_mls_group_context {
    uint16_t version;
    uint16_t cipher_suite;
    ek_mls_bytes group_id;
    uint64_t epoch;
    ek_mls_bytes tree_hash;
    ek_mls_bytes confirmed_transcript_hash;
    ek_mls_extensions extensions;
} ek_mls_group_context;

/* GroupInfo (§12.4.3). */
typedef struct ek_mls_group_info {
    ek_mls_group_context group_context;
    ek_mls_extensions extensions;
    ek_mls_bytes confirmation_tag;
    uint32_t signer;
    ek_mls_bytes signature;
} ek_mls_group_info;

/* GroupSecrets (§12.4.3.1). */
typedef struct ek_mls_group_secrets {
    ek_mls_bytes joiner_secret;
    int has_path_secret;
    ek_mls_bytes path_secret;
    ek_mls_psk_id *psks;
    size_t psk_count;
} ek_mls_group_secrets;

/* EncryptedGroupSecrets and Welcome (§12.4.3.1). */
typedef struct ek_mls_encrypted_group_secrets {
    ek_mls_bytes new_member; /* KeyPackageRef */
    ek_mls_hpke_ciphertext encrypted_group_secrets;
} ek_mls_encrypted_group_secrets;

typedef struct ek_mls_welcome {
    uint16_t cipher_suite;
    ek_mls_encrypted_group_secrets *secrets;
    size_t secret_count;
    ek_mls_bytes encrypted_group_info;
} ek_mls_welcome;

/* MLSMessage (§6): version is always mls10 after decoding. */
typedef struct ek_mls_message {
    uint16_t version;
    uint16_t wire_format;
    union {
        ek_mls_public_message public_message;
        ek_mls_private_message private_message;
        ek_mls_welcome welcome;
        ek_mls_group_info group_info;
        ek_mls_key_package key_package;
    } u;
} ek_mls_message;

/* ---------------------------------------------------------------------------
 * The presentation-language codec (§2.1). Readers return EK_OK or the
 * reader's (sticky) error: EK_ERR_TRUNCATED, EK_ERR_DECODE (bad value,
 * non-minimal varint), EK_ERR_TOO_LARGE (a limit above), EK_ERR_UNSUPPORTED
 * (a type whose body we cannot parse: unknown credential or proposal type,
 * protocol version or wire format), EK_ERR_NOMEM. Writers return the
 * writer's (sticky) error.
 */

/* §2.1.2 variable-length integer: 1, 2 or 4 bytes, minimal, prefix 11
 * rejected. Values up to 2^30 - 1. */
EK_API int ek_mls_read_varint(uint32_t *v, ek_reader *r);
EK_API int ek_mls_write_varint(ek_writer *w, size_t v);
/* opaque x<V>, borrowed from the reader's buffer. */
EK_API int ek_mls_read_opaque(ek_mls_bytes *out, ek_reader *r);
EK_API int ek_mls_write_opaque(ek_writer *w, const void *p, size_t n);
/* Start and end a <V> vector whose length is known only once its contents
 * are written: begin records a mark, end patches in the minimal length. */
EK_API size_t ek_mls_vector_begin(ek_writer *w);
EK_API int ek_mls_vector_end(ek_writer *w, size_t mark);

EK_API int ek_mls_read_extensions(ek_mls_extensions *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_extensions(ek_writer *w, const ek_mls_extensions *x);
EK_API int ek_mls_read_credential(ek_mls_credential *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_credential(ek_writer *w, const ek_mls_credential *x);
EK_API int ek_mls_read_capabilities(ek_mls_capabilities *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_capabilities(ek_writer *w, const ek_mls_capabilities *x);
EK_API int ek_mls_read_leaf_node(ek_mls_leaf_node *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_leaf_node(ek_writer *w, const ek_mls_leaf_node *x);
/* LeafNodeTBS (§7.2): group_id and leaf_index are used for the update and
 * commit sources only. */
EK_API int ek_mls_write_leaf_node_tbs(ek_writer *w, const ek_mls_leaf_node *x,
                                      const uint8_t *group_id, size_t group_id_len,
                                      uint32_t leaf_index);
EK_API int ek_mls_read_key_package(ek_mls_key_package *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_key_package(ek_writer *w, const ek_mls_key_package *x);
/* KeyPackageTBS (§10): the KeyPackage without its signature. */
EK_API int ek_mls_write_key_package_tbs(ek_writer *w, const ek_mls_key_package *x);
EK_API int ek_mls_read_parent_node(ek_mls_parent_node *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_parent_node(ek_writer *w, const ek_mls_parent_node *x);
EK_API int ek_mls_read_ratchet_tree(ek_mls_ratchet_tree *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_ratchet_tree(ek_writer *w, const ek_mls_ratchet_tree *x);
EK_API int ek_mls_read_hpke_ciphertext(ek_mls_hpke_ciphertext *out, ek_reader *r);
EK_API int ek_mls_write_hpke_ciphertext(ek_writer *w, const ek_mls_hpke_ciphertext *x);
EK_API int ek_mls_read_update_path(ek_mls_update_path *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_update_path(ek_writer *w, const ek_mls_update_path *x);
EK_API int ek_mls_read_psk_id(ek_mls_psk_id *out, ek_reader *r);
EK_API int ek_mls_write_psk_id(ek_writer *w, const ek_mls_psk_id *x);
/* Proposal with its 2-byte type, or only the body of a known type. */
EK_API int ek_mls_read_proposal(ek_mls_proposal *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_proposal(ek_writer *w, const ek_mls_proposal *x);
EK_API int ek_mls_read_proposal_body(ek_mls_proposal *out, ek_mls_arena *a, uint16_t type,
                                     ek_reader *r);
EK_API int ek_mls_write_proposal_body(ek_writer *w, const ek_mls_proposal *x);
EK_API int ek_mls_read_commit(ek_mls_commit *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_commit(ek_writer *w, const ek_mls_commit *x);
EK_API int ek_mls_read_sender(ek_mls_sender *out, ek_reader *r);
EK_API int ek_mls_write_sender(ek_writer *w, const ek_mls_sender *x);
EK_API int ek_mls_read_framed_content(ek_mls_framed_content *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_framed_content(ek_writer *w, const ek_mls_framed_content *x);
/* FramedContentAuthData: its shape depends on the content type. */
EK_API int ek_mls_read_auth_data(ek_mls_auth_data *out, uint8_t content_type, ek_reader *r);
EK_API int ek_mls_write_auth_data(ek_writer *w, const ek_mls_auth_data *x, uint8_t content_type);
EK_API int ek_mls_read_authenticated_content(ek_mls_authenticated_content *out, ek_mls_arena *a,
                                             ek_reader *r);
EK_API int ek_mls_write_authenticated_content(ek_writer *w, const ek_mls_authenticated_content *x);
EK_API int ek_mls_read_public_message(ek_mls_public_message *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_public_message(ek_writer *w, const ek_mls_public_message *x);
EK_API int ek_mls_read_private_message(ek_mls_private_message *out, ek_reader *r);
EK_API int ek_mls_write_private_message(ek_writer *w, const ek_mls_private_message *x);
EK_API int ek_mls_read_group_context(ek_mls_group_context *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_group_context(ek_writer *w, const ek_mls_group_context *x);
EK_API int ek_mls_read_group_info(ek_mls_group_info *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_group_info(ek_writer *w, const ek_mls_group_info *x);
/* GroupInfoTBS (§12.4.3): the GroupInfo without its signature. */
EK_API int ek_mls_write_group_info_tbs(ek_writer *w, const ek_mls_group_info *x);
EK_API int ek_mls_read_group_secrets(ek_mls_group_secrets *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_group_secrets(ek_writer *w, const ek_mls_group_secrets *x);
EK_API int ek_mls_read_welcome(ek_mls_welcome *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_welcome(ek_writer *w, const ek_mls_welcome *x);
EK_API int ek_mls_read_message(ek_mls_message *out, ek_mls_arena *a, ek_reader *r);
EK_API int ek_mls_write_message(ek_writer *w, const ek_mls_message *x);
/* One whole MLSMessage: EK_ERR_TRAILING if bytes are left over. */
EK_API int ek_mls_message_decode(ek_mls_message *out, ek_mls_arena *a, const uint8_t *buf,
                                 size_t len);

/* ---------------------------------------------------------------------------
 * Tree math (§4, Appendix C). Nodes are numbered in array order: leaf L is
 * node 2L. n_leaves must be a power of two, at most EK_MLS_MAX_LEAVES;
 * functions taking a node check it is inside the tree (EK_ERR_INVALID_ARG).
 */
EK_API uint32_t ek_mls_tree_width(uint32_t n_leaves); /* nodes: 2n - 1 */
EK_API uint32_t ek_mls_tree_root(uint32_t n_leaves);
EK_API uint32_t ek_mls_tree_level(uint32_t node);
EK_API int ek_mls_tree_left(uint32_t *out, uint32_t node);
EK_API int ek_mls_tree_right(uint32_t *out, uint32_t node);
EK_API int ek_mls_tree_parent(uint32_t *out, uint32_t node, uint32_t n_leaves);
EK_API int ek_mls_tree_sibling(uint32_t *out, uint32_t node, uint32_t n_leaves);
/* Direct path (leaf to root, excluding node) and copath; out holds at
 * least EK_MLS_MAX_TREE_DEPTH entries; *count receives the length. */
EK_API int ek_mls_tree_direct_path(uint32_t *out, size_t *count, uint32_t node, uint32_t n_leaves);
EK_API int ek_mls_tree_copath(uint32_t *out, size_t *count, uint32_t node, uint32_t n_leaves);
/* Lowest node whose subtree holds both nodes. */
EK_API uint32_t ek_mls_tree_common_ancestor(uint32_t x, uint32_t y);

/* ---------------------------------------------------------------------------
 * Labelled crypto (§5, §8, §9.1).
 */
/* ExpandWithLabel(secret, "MLS 1.0 " + label, context, out_len). */
EK_API EK_MUST_CHECK int ek_mls_expand_with_label(uint8_t *out, size_t out_len,
                                                  const ek_mls_suite *s, const uint8_t *secret,
                                                  size_t secret_len, const void *label,
                                                  size_t label_len, const void *context,
                                                  size_t context_len);
/* DeriveSecret(secret, label): out receives Nh bytes; secret is Nh bytes. */
EK_API EK_MUST_CHECK int ek_mls_derive_secret(uint8_t *out, const ek_mls_suite *s,
                                              const uint8_t *secret, const char *label);
/* DeriveTreeSecret(secret, label, generation, out_len). */
EK_API EK_MUST_CHECK int ek_mls_derive_tree_secret(uint8_t *out, size_t out_len,
                                                   const ek_mls_suite *s, const uint8_t *secret,
                                                   const char *label, uint32_t generation);
/* RefHash(label, value) = Hash(V(label) || V(value)) (§5.2); out: Nh. */
EK_API EK_MUST_CHECK int ek_mls_ref_hash(uint8_t *out, const ek_mls_suite *s, const void *label,
                                         size_t label_len, const void *value, size_t value_len);
/* KeyPackageRef / ProposalRef of encoded KeyPackage / AuthenticatedContent. */
EK_API EK_MUST_CHECK int ek_mls_key_package_ref(uint8_t *out, const ek_mls_suite *s,
                                                const uint8_t *key_package, size_t len);
EK_API EK_MUST_CHECK int ek_mls_proposal_ref(uint8_t *out, const ek_mls_suite *s,
                                             const uint8_t *authenticated_content, size_t len);
/* SignWithLabel / VerifyWithLabel (§5.1.2). */
EK_API EK_MUST_CHECK int ek_mls_sign_with_label(uint8_t *sig, size_t *sig_len,
                                                const ek_mls_suite *s, const uint8_t *priv,
                                                size_t priv_len, const char *label,
                                                const void *content, size_t content_len);
EK_API EK_MUST_CHECK int ek_mls_verify_with_label(const ek_mls_suite *s, const uint8_t *pub,
                                                  size_t pub_len, const char *label,
                                                  const void *content, size_t content_len,
                                                  const uint8_t *sig, size_t sig_len);
/* EncryptWithLabel / DecryptWithLabel (§5.1.3): HPKE base mode, info =
 * EncryptContext, empty aad. ciphertext receives pt_len + 16 bytes,
 * kem_output Nenc bytes; pt receives ct_len - 16 bytes. */
EK_API EK_MUST_CHECK int ek_mls_encrypt_with_label(uint8_t *kem_output, uint8_t *ciphertext,
                                                   const ek_mls_suite *s, const uint8_t *pub,
                                                   size_t pub_len, const char *label,
                                                   const void *context, size_t context_len,
                                                   const void *pt, size_t pt_len,
                                                   const ek_rng *rng);
EK_API EK_MUST_CHECK int ek_mls_decrypt_with_label(uint8_t *pt, const ek_mls_suite *s,
                                                   const uint8_t *priv, size_t priv_len,
                                                   const char *label, const void *context,
                                                   size_t context_len, const uint8_t *kem_output,
                                                   size_t kem_output_len, const uint8_t *ct,
                                                   size_t ct_len);
/* KEM.DeriveKeyPair(ikm) (§4, RFC 9180 §7.1.3). */
EK_API EK_MUST_CHECK int ek_mls_derive_key_pair(uint8_t *pub, uint8_t *priv, const ek_mls_suite *s,
                                                const uint8_t *ikm, size_t ikm_len);

/* ---------------------------------------------------------------------------
 * Key schedule (§8).
 */
typedef struct ek_mls_epoch_secrets {
    size_t len; /* Nh of the suite */
    uint8_t joiner_secret[EK_MLS_MAX_HASH_LEN];
    uint8_t welcome_secret[EK_MLS_MAX_HASH_LEN];
    uint8_t sender_data_secret[EK_MLS_MAX_HASH_LEN];
    uint8_t encryption_secret[EK_MLS_MAX_HASH_LEN];
    uint8_t exporter_secret[EK_MLS_MAX_HASH_LEN];
    uint8_t external_secret[EK_MLS_MAX_HASH_LEN];
    uint8_t confirmation_key[EK_MLS_MAX_HASH_LEN];
    uint8_t membership_key[EK_MLS_MAX_HASH_LEN];
    uint8_t resumption_psk[EK_MLS_MAX_HASH_LEN];
    uint8_t epoch_authenticator[EK_MLS_MAX_HASH_LEN];
    uint8_t init_secret[EK_MLS_MAX_HASH_LEN];
} ek_mls_epoch_secrets;

/* One epoch step (Figure 22): joiner_secret from the previous init secret,
 * the commit secret and the new GroupContext (encoded), then every secret
 * of the epoch from the joiner secret and psk_secret. All inputs are Nh
 * bytes. The epoch secret itself is wiped once used (§9.2). */
EK_API EK_MUST_CHECK int ek_mls_key_schedule(ek_mls_epoch_secrets *out, const ek_mls_suite *s,
                                             const uint8_t *prev_init_secret,
                                             const uint8_t *commit_secret,
                                             const uint8_t *psk_secret,
                                             const uint8_t *group_context,
                                             size_t group_context_len);
/* The same from a joiner secret (a new member's start, §12.4.3.1);
 * out->joiner_secret is copied from the input. */
EK_API EK_MUST_CHECK int
ek_mls_key_schedule_from_joiner(ek_mls_epoch_secrets *out, const ek_mls_suite *s,
                                const uint8_t *joiner_secret, const uint8_t *psk_secret,
                                const uint8_t *group_context, size_t group_context_len);
/* The secrets derived from an epoch secret (Table 4); for a group's first
 * epoch (§11), whose epoch secret is random. joiner and welcome secrets
 * are left zero. */
EK_API EK_MUST_CHECK int ek_mls_key_schedule_from_epoch_secret(ek_mls_epoch_secrets *out,
                                                               const ek_mls_suite *s,
                                                               const uint8_t *epoch_secret);
EK_API void ek_mls_epoch_secrets_wipe(ek_mls_epoch_secrets *es);
/* MLS-Exporter(label, context, out_len) (§8.5) from an exporter secret. */
EK_API EK_MUST_CHECK int ek_mls_exporter(uint8_t *out, size_t out_len, const ek_mls_suite *s,
                                         const uint8_t *exporter_secret, const void *label,
                                         size_t label_len, const void *context, size_t context_len);
/* welcome_key (Nk) and welcome_nonce (Nn) from the welcome secret. */
EK_API EK_MUST_CHECK int ek_mls_welcome_key_nonce(uint8_t *key, uint8_t *nonce,
                                                  const ek_mls_suite *s,
                                                  const uint8_t *welcome_secret);
/* external_priv, external_pub = KEM.DeriveKeyPair(external_secret) (§8). */
EK_API EK_MUST_CHECK int ek_mls_external_key_pair(uint8_t *pub, uint8_t *priv,
                                                  const ek_mls_suite *s,
                                                  const uint8_t *external_secret);

/* PSKs (§8.4): one PSK value with its id. */
typedef struct ek_mls_psk {
    ek_mls_psk_id id;
    ek_mls_bytes secret;
} ek_mls_psk;

/* psk_secret (Nh bytes) for psks[0..count), in order; count 0 gives zeros.
 * At most EK_MLS_MAX_PSKS. */
EK_API EK_MUST_CHECK int ek_mls_psk_secret(uint8_t *out, const ek_mls_suite *s,
                                           const ek_mls_psk *psks, size_t count);

/* ---------------------------------------------------------------------------
 * Transcript hashes (§8.2) and the confirmation tag (§6.1).
 */
/* confirmed = Hash(interim_before || ConfirmedTranscriptHashInput), where
 * the input is taken from commit (an AuthenticatedContent of a commit);
 * interim_before may be empty (epoch 0). out: Nh bytes. */
EK_API EK_MUST_CHECK int
ek_mls_confirmed_transcript_hash(uint8_t *out, const ek_mls_suite *s, const uint8_t *interim_before,
                                 size_t interim_len, const ek_mls_authenticated_content *commit);
/* interim = Hash(confirmed || V(confirmation_tag)). */
EK_API EK_MUST_CHECK int ek_mls_interim_transcript_hash(uint8_t *out, const ek_mls_suite *s,
                                                        const uint8_t *confirmed,
                                                        const uint8_t *confirmation_tag,
                                                        size_t tag_len);
/* confirmation_tag = MAC(confirmation_key, confirmed) (Nh bytes each). */
EK_API void ek_mls_confirmation_tag(uint8_t *out, const ek_mls_suite *s,
                                    const uint8_t *confirmation_key, const uint8_t *confirmed);
/* Constant-time check of a received tag: EK_OK or EK_ERR_AUTH. */
EK_API EK_MUST_CHECK int ek_mls_confirmation_tag_verify(const ek_mls_suite *s,
                                                        const uint8_t *confirmation_key,
                                                        const uint8_t *confirmed,
                                                        const uint8_t *tag, size_t tag_len);

/* ---------------------------------------------------------------------------
 * Secret tree (§9) and the per-sender ratchets (§9.1), with the deletion
 * schedule of §9.2: a tree node's secret is wiped once its children are
 * derived, a leaf's once its two ratchets are; a ratchet secret once the
 * next one is derived; a key and nonce once used. Out-of-order keys are
 * kept (at most EK_MLS_MAX_SKIPPED_KEYS per ratchet, oldest evicted) and a
 * message may move a ratchet at most EK_MLS_MAX_GENERATION_JUMP forward.
 */
#define EK_MLS_RATCHET_HANDSHAKE   0
#define EK_MLS_RATCHET_APPLICATION 1

typedef struct ek_mls_key_nonce {
    uint32_t generation;
    uint8_t key[EK_MLS_MAX_AEAD_KEY_LEN];
    uint8_t nonce[EK_MLS_AEAD_NONCE_LEN];
} ek_mls_key_nonce;

typedef struct ek_mls_ratchet {
    uint8_t secret[EK_MLS_MAX_HASH_LEN]; /* ratchet_secret[next] */
    uint32_t next;                       /* next generation not yet derived */
    uint8_t live;                        /* 1 once derived from the leaf */
    uint8_t exhausted;                   /* generation 2^32 - 1 was derived */
    uint16_t skipped_count;
    ek_mls_key_nonce *skipped; /* EK_MLS_MAX_SKIPPED_KEYS slots */
} ek_mls_ratchet;

typedef struct ek_mls_secret_tree {
    const ek_mls_suite *suite;
    const ek_allocator *alloc;
    uint32_t n_leaves;
    uint8_t *node_secrets;    /* width * Nh bytes */
    uint8_t *node_present;    /* width flags */
    ek_mls_ratchet *ratchets; /* 2 per leaf: [2 * leaf + ratchet type] */
} ek_mls_secret_tree;

/* A tree of n_leaves leaves (any count 1..EK_MLS_MAX_LEAVES; the tree is
 * padded to a power of two) from the epoch's encryption secret (Nh). */
EK_API EK_MUST_CHECK int ek_mls_secret_tree_init(ek_mls_secret_tree *st, const ek_mls_suite *s,
                                                 const ek_allocator *alloc,
                                                 const uint8_t *encryption_secret,
                                                 uint32_t n_leaves);
EK_API void ek_mls_secret_tree_free(ek_mls_secret_tree *st);
/* Sender: the next unused generation of leaf's ratchet, consumed at once.
 * EK_ERR_LIMIT when the ratchet is exhausted. */
EK_API EK_MUST_CHECK int ek_mls_secret_tree_next(ek_mls_key_nonce *out, ek_mls_secret_tree *st,
                                                 uint32_t leaf, int ratchet);
/* Receiver: the key and nonce of one generation, without consuming it.
 * EK_ERR_LIMIT when generation is beyond EK_MLS_MAX_GENERATION_JUMP ahead,
 * EK_ERR_STATE when it was consumed or evicted already. */
EK_API EK_MUST_CHECK int ek_mls_secret_tree_peek(ek_mls_key_nonce *out, ek_mls_secret_tree *st,
                                                 uint32_t leaf, int ratchet, uint32_t generation);
/* Receiver, after the message decrypted and verified: delete the key of
 * generation, moving the ratchet past it and keeping skipped keys. */
EK_API EK_MUST_CHECK int ek_mls_secret_tree_consume(ek_mls_secret_tree *st, uint32_t leaf,
                                                    int ratchet, uint32_t generation);

/* ---------------------------------------------------------------------------
 * Message framing and protection (§6).
 */

/* The signature key of a message's sender. The caller resolves it from its
 * ratchet tree (member), external_senders (external) or the message itself
 * (new members); returns a negative error when the sender is unknown or its
 * leaf is blank (§6.3.2). */
typedef struct ek_mls_signer_lookup {
    int (*lookup)(void *ctx, const ek_mls_framed_content *content, ek_mls_bytes *signature_key);
    void *ctx;
} ek_mls_signer_lookup;

/* FramedContentTBS (§6.1): group_context (encoded) is used for member and
 * new_member_commit senders only. */
EK_API int ek_mls_write_framed_content_tbs(ek_writer *w, uint16_t wire_format,
                                           const ek_mls_framed_content *content,
                                           const uint8_t *group_context, size_t group_context_len);
/* Sign ac->content for ac->wire_format; ac->auth.signature is set to a
 * signature allocated from a. */
EK_API EK_MUST_CHECK int ek_mls_sign_content(ek_mls_authenticated_content *ac, ek_mls_arena *a,
                                             const ek_mls_suite *s, const uint8_t *sig_priv,
                                             size_t sig_priv_len, const uint8_t *group_context,
                                             size_t group_context_len);
EK_API EK_MUST_CHECK int ek_mls_verify_content(const ek_mls_authenticated_content *ac,
                                               const ek_mls_suite *s, const uint8_t *sig_pub,
                                               size_t sig_pub_len, const uint8_t *group_context,
                                               size_t group_context_len);

/* PublicMessage (§6.2) from signed content whose wire format is
 * public_message; for a member sender the membership tag is computed with
 * membership_key (Nh). Application content is refused (§6: application
 * data MUST be a PrivateMessage): EK_ERR_INVALID_ARG. */
EK_API EK_MUST_CHECK int
ek_mls_public_message_protect(ek_mls_public_message *out, ek_mls_arena *a, const ek_mls_suite *s,
                              const ek_mls_authenticated_content *ac, const uint8_t *membership_key,
                              const uint8_t *group_context, size_t group_context_len);
/* Check a PublicMessage: application content refused (EK_ERR_DECODE), the
 * membership tag (member senders; constant time) and the signature with
 * the key the lookup gives. out's views point into pm. EK_ERR_AUTH on a
 * bad tag or signature. */
EK_API EK_MUST_CHECK int
ek_mls_public_message_unprotect(ek_mls_authenticated_content *out, const ek_mls_suite *s,
                                const ek_mls_public_message *pm, const uint8_t *membership_key,
                                const uint8_t *group_context, size_t group_context_len,
                                const ek_mls_signer_lookup *signer);

/* Sender-data key (Nk) and nonce (Nn) from the ciphertext sample (§6.3.2). */
EK_API EK_MUST_CHECK int ek_mls_sender_data_key_nonce(uint8_t *key, uint8_t *nonce,
                                                      const ek_mls_suite *s,
                                                      const uint8_t *sender_data_secret,
                                                      const uint8_t *ciphertext, size_t ct_len);
/* PrivateMessage (§6.3) from signed content (wire format private_message,
 * member sender): takes the next generation of the sender's handshake or
 * application ratchet, a fresh reuse guard from rng (NULL: system), and
 * padding_len zero bytes (at most EK_MLS_MAX_PADDING_BYTES). */
EK_API EK_MUST_CHECK int ek_mls_private_message_protect(ek_mls_private_message *out,
                                                        ek_mls_arena *a, const ek_mls_suite *s,
                                                        ek_mls_secret_tree *st,
                                                        const uint8_t *sender_data_secret,
                                                        const ek_mls_authenticated_content *ac,
                                                        size_t padding_len, const ek_rng *rng);
/* Open a PrivateMessage: sender data, the sender's key for the generation
 * (not consumed yet), content, zero padding, signature (with the key the
 * lookup gives for the decrypted sender). Only when every check passes is
 * the generation's key deleted from st; a failing message changes nothing.
 * The plaintext lives in a; out's views point into it and into pm. */
EK_API EK_MUST_CHECK int ek_mls_private_message_unprotect(
    ek_mls_authenticated_content *out, ek_mls_arena *a, const ek_mls_suite *s,
    ek_mls_secret_tree *st, const uint8_t *sender_data_secret, const ek_mls_private_message *pm,
    const uint8_t *group_context, size_t group_context_len, const ek_mls_signer_lookup *signer);

/* ---------------------------------------------------------------------------
 * Credential validation (§5.3.1) is the application's: it decides whether a
 * credential is acceptable and binds the signature key. validate returns
 * EK_OK to accept, a negative error to refuse. Without a validator every
 * well-formed credential is accepted (the application then authenticates
 * members some other way, e.g. by comparing epoch authenticators).
 */
typedef struct ek_mls_credential_validator {
    int (*validate)(void *ctx, const ek_mls_credential *credential, const uint8_t *signature_key,
                    size_t signature_key_len);
    void *ctx;
} ek_mls_credential_validator;

/* ===========================================================================
 * Part 2: KeyPackages, groups, commits, Welcome (RFC 9420 §7, §10-§12).
 *
 * Shape: an ek_mls_group is an opaque state object. Calls that produce wire
 * messages give them back as ek_mls_buf (MLSMessage bytes, owned by the
 * caller, freed and wiped with ek_mls_buf_free). Every receive call fails
 * closed: a message that fails any check returns an error and leaves the
 * group exactly as it was. Creating a commit never changes the group (§14):
 * the new epoch waits as "pending" until ek_mls_group_merge_pending_commit.
 * Commit ordering without a central server (two members committing in the
 * same epoch) follows docs/protocol.md "MLS commit ordering": the previous
 * epoch is retained until ek_mls_group_settle, and a competing commit with
 * a smaller CommitRef replaces the current epoch.
 */

/* Bytes of a group_id we create or accept. */
#define EK_MLS_MAX_GROUP_ID_BYTES             256
/* Lifetime of our KeyPackages when the caller gives none: 90 days. */
#define EK_MLS_DEFAULT_KEY_PACKAGE_LIFETIME_S ((uint64_t)90 * 24 * 3600)
/* Longest lifetime (not_after - not_before) we accept in a KeyPackage we
 * are asked to add (§7.2: applications MUST define one): 400 days, unless
 * the group config says otherwise. */
#define EK_MLS_DEFAULT_MAX_LIFETIME_S         ((uint64_t)400 * 24 * 3600)
/* Proposals one epoch may cache (each is checked and kept until the next
 * commit). */
#define EK_MLS_MAX_CACHED_PROPOSALS           4096u
/* Past epochs whose resumption PSK (§8.6) a group keeps for PSK
 * proposals that refer to them. */
#define EK_MLS_RESUMPTION_EPOCHS              8u
/* Bytes of application data in one message we protect. */
#define EK_MLS_MAX_APPLICATION_BYTES          ((size_t)1 << 24)

/* A buffer handed to the caller. */
typedef struct ek_mls_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    const ek_allocator *alloc;
} ek_mls_buf;

/* Wipe and release (safe on a zeroed or already freed buffer). */
EK_API void ek_mls_buf_free(ek_mls_buf *b);

/* ---- KeyPackages (§10) ---- */

typedef struct ek_mls_key_package_params {
    uint16_t cipher_suite;
    /* The basic credential's identity (§5.3). */
    const uint8_t *identity;
    size_t identity_len;
    /* The signature private key; NULL draws a fresh one. */
    const uint8_t *signature_priv;
    size_t signature_priv_len;
    /* Lifetime in seconds since the Unix epoch; both 0 means [now, now +
     * EK_MLS_DEFAULT_KEY_PACKAGE_LIFETIME_S] with now_s below, which must
     * then be set (EK_ERR_INVALID_ARG otherwise: we have no clock). */
    uint64_t not_before, not_after;
    uint64_t now_s;
    /* NULL: version mls10, the suites we implement, credential basic. */
    const ek_mls_capabilities *capabilities;
    const ek_mls_extensions *leaf_extensions; /* NULL: none */
    const ek_mls_extensions *extensions;      /* KeyPackage.extensions; NULL: none */
} ek_mls_key_package_params;

/* A KeyPackage with its three private keys (init, encryption, signature).
 * Secret: free with ek_mls_key_package_bundle_free. */
typedef struct ek_mls_key_package_bundle ek_mls_key_package_bundle;

EK_API EK_MUST_CHECK int ek_mls_key_package_create(ek_mls_key_package_bundle **out,
                                                   const ek_mls_key_package_params *p,
                                                   const ek_rng *rng, const ek_allocator *a);
/* A bundle from a KeyPackage MLSMessage and its private keys (checked
 * against the KeyPackage's public keys). */
EK_API EK_MUST_CHECK int
ek_mls_key_package_bundle_import(ek_mls_key_package_bundle **out, const uint8_t *key_package_msg,
                                 size_t len, const uint8_t *init_priv, size_t init_priv_len,
                                 const uint8_t *encryption_priv, size_t encryption_priv_len,
                                 const uint8_t *signature_priv, size_t signature_priv_len,
                                 const ek_allocator *a);
/* The KeyPackage as an MLSMessage (wire format mls_key_package); the
 * bytes belong to the bundle. */
EK_API void ek_mls_key_package_bundle_message(const ek_mls_key_package_bundle *b,
                                              const uint8_t **msg, size_t *len);
/* Serialize (secret: private keys included) and restore a bundle. */
EK_API EK_MUST_CHECK int ek_mls_key_package_bundle_save(ek_mls_buf *out,
                                                        const ek_mls_key_package_bundle *b);
EK_API EK_MUST_CHECK int ek_mls_key_package_bundle_restore(ek_mls_key_package_bundle **out,
                                                           const uint8_t *buf, size_t len,
                                                           const ek_allocator *a);
EK_API void ek_mls_key_package_bundle_free(ek_mls_key_package_bundle *b);
/* §10.1 checks that need no group: decoding, version, suite we implement,
 * leaf node (source key_package, lifetime against now_s when non-zero),
 * both signatures, init_key != encryption_key. */
EK_API EK_MUST_CHECK int ek_mls_key_package_verify(const uint8_t *key_package_msg, size_t len,
                                                   uint64_t now_s);

/* ---- Groups ---- */

/* External PSKs (§8.4) by id: EK_OK and the secret (owned by the caller's
 * store, valid for the call), or a negative error when unknown. */
typedef struct ek_mls_psk_store {
    int (*lookup)(void *ctx, const uint8_t *psk_id, size_t psk_id_len, const uint8_t **psk,
                  size_t *psk_len);
    void *ctx;
} ek_mls_psk_store;

typedef struct ek_mls_group_config {
    const ek_allocator *alloc; /* NULL: malloc */
    const ek_rng *rng;         /* NULL: the system CSPRNG */
    /* Proposals and commits we send: EK_MLS_WIRE_PUBLIC_MESSAGE or
     * EK_MLS_WIRE_PRIVATE_MESSAGE (0 means private). */
    uint16_t handshake_wire_format;
    /* Longest KeyPackage lifetime accepted in an Add; 0:
     * EK_MLS_DEFAULT_MAX_LIFETIME_S, UINT64_MAX: no limit. */
    uint64_t max_lifetime_s;
    /* Pad PrivateMessage content to a multiple of this many bytes (0:
     * no padding; at most EK_MLS_MAX_PADDING_BYTES). */
    size_t padding_block;
    ek_mls_credential_validator credentials;
    ek_mls_psk_store psks;
} ek_mls_group_config;

typedef struct ek_mls_group ek_mls_group;

/* §11: a one-member group at epoch 0 from the creator's KeyPackage bundle
 * (its leaf, encryption and signature keys); extensions become the
 * GroupContext's (NULL: none). */
EK_API EK_MUST_CHECK int ek_mls_group_create(ek_mls_group **out, const ek_mls_group_config *cfg,
                                             const ek_mls_key_package_bundle *creator,
                                             const uint8_t *group_id, size_t group_id_len,
                                             const ek_mls_extensions *extensions);
/* §12.4.3.1: join from a Welcome MLSMessage made for kp. ratchet_tree is
 * the encoded ratchet tree when it is not in the GroupInfo's ratchet_tree
 * extension (NULL otherwise). */
EK_API EK_MUST_CHECK int ek_mls_group_join(ek_mls_group **out, const ek_mls_group_config *cfg,
                                           const uint8_t *welcome, size_t welcome_len,
                                           const ek_mls_key_package_bundle *kp,
                                           const uint8_t *ratchet_tree, size_t ratchet_tree_len);
EK_API void ek_mls_group_free(ek_mls_group *g);

/* The clock for lifetime checks (seconds since the Unix epoch; 0: none).
 * libenkrypt has no clock of its own. The proposer and committer of an
 * Add check the KeyPackage's lifetime (RFC 9420 §7.3): against this clock;
 * without one, only that it had not expired by the not_before of our own
 * KeyPackage (create, join; kept by save/restore); a group that knows no
 * time at all refuses Adds (EK_ERR_STATE). */
EK_API void ek_mls_group_set_time(ek_mls_group *g, uint64_t now_s);

/* Proposals (§12.1): each returns the proposal message to send to the
 * group and caches the proposal for the next commit. */
EK_API EK_MUST_CHECK int ek_mls_group_propose_add(ek_mls_group *g, ek_mls_buf *msg,
                                                  const uint8_t *key_package_msg, size_t len);
EK_API EK_MUST_CHECK int ek_mls_group_propose_remove(ek_mls_group *g, ek_mls_buf *msg,
                                                     uint32_t leaf);
/* A new encryption key for our own leaf (§12.1.2). */
EK_API EK_MUST_CHECK int ek_mls_group_propose_update(ek_mls_group *g, ek_mls_buf *msg);
/* An external PSK by id (§12.1.4); the nonce is drawn here. */
EK_API EK_MUST_CHECK int ek_mls_group_propose_psk(ek_mls_group *g, ek_mls_buf *msg,
                                                  const uint8_t *psk_id, size_t psk_id_len);
EK_API EK_MUST_CHECK int
ek_mls_group_propose_group_context_extensions(ek_mls_group *g, ek_mls_buf *msg,
                                              const ek_mls_extensions *extensions);

/* What a commit carries besides every valid cached proposal (by
 * reference) and proposals of ours a lost commit carried. */
typedef struct ek_mls_commit_options {
    const ek_mls_bytes *add_key_packages; /* KeyPackage MLSMessages */
    size_t add_count;
    const uint32_t *remove_leaves;
    size_t remove_count;
    const ek_mls_bytes *psk_ids; /* external PSK ids */
    size_t psk_count;
    const ek_mls_extensions *group_context_extensions; /* NULL: none */
    int force_path; /* an UpdatePath even when none is required */
} ek_mls_commit_options;

/* §12.4.1: create a commit (opt may be NULL: cached proposals only, or
 * an empty commit with a path) and, when it adds members, their Welcome
 * (welcome->len 0 otherwise; welcome may be NULL when nobody is added).
 * The commit always carries an UpdatePath. The group does not change: the
 * new epoch is pending until merged. EK_ERR_STATE while a previous epoch
 * is retained (docs/protocol.md: commit only in a settled epoch). */
EK_API EK_MUST_CHECK int ek_mls_group_commit(ek_mls_group *g, ek_mls_buf *commit,
                                             ek_mls_buf *welcome, const ek_mls_commit_options *opt);
/* Enter the pending commit's epoch (after sending the commit). */
EK_API EK_MUST_CHECK int ek_mls_group_merge_pending_commit(ek_mls_group *g);
EK_API void ek_mls_group_discard_pending_commit(ek_mls_group *g);
/* Forget the retained previous epoch (docs/protocol.md: after the settle
 * time, and before committing). */
EK_API void ek_mls_group_settle(ek_mls_group *g);

/* What ek_mls_group_process found. */
#define EK_MLS_RECEIVED_APPLICATION 1 /* application data in data */
#define EK_MLS_RECEIVED_PROPOSAL    2 /* cached for the next commit */
#define EK_MLS_RECEIVED_COMMIT      3 /* a new epoch began */
#define EK_MLS_RECEIVED_COMMIT_LOST                                                                \
    4                               /* a valid competing commit for the previous                   \
                                       epoch lost the tie-break: ignored */
#define EK_MLS_RECEIVED_DUPLICATE 5 /* the commit that began the current epoch */

typedef struct ek_mls_received {
    int kind;
    uint32_t sender; /* leaf index of the sender */
    uint64_t epoch;  /* epoch the message was sent in */
    ek_mls_buf data; /* application data (secret: ek_mls_received_free) */
    ek_mls_buf authenticated_data;
    int removed;         /* COMMIT: it removed us; the group is inactive */
    int switched;        /* COMMIT: a competing commit won and replaced the
                            epoch we were in (docs/protocol.md) */
    int own_commit_lost; /* COMMIT: the replaced epoch came from our own
                            commit; its proposals will be re-committed */
} ek_mls_received;

EK_API void ek_mls_received_free(ek_mls_received *r);
/* Process one MLSMessage (PublicMessage or PrivateMessage) of the group. */
EK_API EK_MUST_CHECK int ek_mls_group_process(ek_mls_group *g, ek_mls_received *out,
                                              const uint8_t *msg, size_t len);
/* Application data as a PrivateMessage (§6.3, §15) in the current epoch;
 * authenticated_data (may be NULL) travels in clear but authenticated. */
EK_API EK_MUST_CHECK int ek_mls_group_protect(ek_mls_group *g, ek_mls_buf *msg, const uint8_t *data,
                                              size_t len, const uint8_t *authenticated_data,
                                              size_t ad_len);

/* MLS-Exporter(label, context, out_len) of the current epoch (§8.5). */
EK_API EK_MUST_CHECK int ek_mls_group_export(const ek_mls_group *g, uint8_t *out, size_t out_len,
                                             const void *label, size_t label_len,
                                             const void *context, size_t context_len);
/* The current epoch_authenticator (§8.7): Nh bytes into out (room for
 * EK_MLS_MAX_HASH_LEN); *len receives Nh. */
EK_API EK_MUST_CHECK int ek_mls_group_epoch_authenticator(const ek_mls_group *g, uint8_t *out,
                                                          size_t *len);
EK_API uint64_t ek_mls_group_epoch(const ek_mls_group *g);
EK_API uint32_t ek_mls_group_own_leaf(const ek_mls_group *g);
EK_API uint32_t ek_mls_group_member_count(const ek_mls_group *g);
/* 1 while we are a member (0 after a commit removed us). */
EK_API int ek_mls_group_active(const ek_mls_group *g);
EK_API const ek_mls_suite *ek_mls_group_suite(const ek_mls_group *g);
EK_API void ek_mls_group_id(const ek_mls_group *g, const uint8_t **id, size_t *len);
/* The tree hash of the current epoch (Nh bytes into out). */
EK_API EK_MUST_CHECK int ek_mls_group_tree_hash(const ek_mls_group *g, uint8_t *out, size_t *len);
/* The basic-credential identity of the member at leaf (EK_ERR_STATE for a
 * blank leaf); the bytes belong to the group until it changes. */
EK_API EK_MUST_CHECK int ek_mls_group_member_identity(const ek_mls_group *g, uint32_t leaf,
                                                      const uint8_t **id, size_t *len);
/* The current ratchet tree, encoded (§12.4.3.3). */
EK_API EK_MUST_CHECK int ek_mls_group_ratchet_tree(const ek_mls_group *g, ek_mls_buf *out);

/* Serialize the whole state (current, retained and pending epochs, keys,
 * secrets, secret-tree positions, cached proposals). The blob is SECRET:
 * store it only encrypted (the vault). Versioned; restore parses it
 * strictly and refuses anything else. */
EK_API EK_MUST_CHECK int ek_mls_group_save(const ek_mls_group *g, ek_mls_buf *out);
EK_API EK_MUST_CHECK int ek_mls_group_restore(ek_mls_group **out, const ek_mls_group_config *cfg,
                                              const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* EK_MLS_H */
