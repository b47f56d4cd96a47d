/*
 * profile.c: where a profile lives (XDG Base Directory Specification 0.8:
 * $XDG_CONFIG_HOME, default ~/.config, and $XDG_DATA_HOME, default
 * ~/.local/share), its config file (a GKeyFile), the self-certifying peer
 * ID, and `enkrypt init` (a new identity in a new vault).
 */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include <enkrypt/ek_crypto.h>

#include "core_internal.h"

GQuark ek_app_error_quark(void)
{
    return g_quark_from_static_string("ek-app-error-quark");
}

/* ---- peer IDs ---- */

#define PEER_ID_LABEL "enkrypt peer id v1"

/* RFC 4648 §6 base32 alphabet, lower case: PeerJS IDs allow [A-Za-z0-9]. */
static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

void ek_app_peer_id_from_key(char out[EK_APP_PEER_ID_LEN + 1], const uint8_t pk[32])
{
    uint8_t h[EK_SHA256_LEN];
    ek_iovec parts[2] = {{(const uint8_t *)PEER_ID_LABEL, sizeof(PEER_ID_LABEL) - 1}, {pk, 32}};
    ek_sha256_v(h, parts, 2);
    /* 16 bytes = 128 bits -> 26 characters (the last one holds 3 bits). */
    unsigned acc = 0, bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        acc = (acc << 8) | h[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = b32[(acc << (5 - bits)) & 31];
    out[o] = 0;
}

int ek_app_peer_id_valid(const char *s)
{
    if (s == NULL || strlen(s) != EK_APP_PEER_ID_LEN)
        return 0;
    for (const char *c = s; *c; c++) {
        if (strchr(b32, *c) == NULL)
            return 0;
    }
    return 1;
}

/* ---- paths ---- */

static gboolean profile_name_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 64)
        return FALSE;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!g_ascii_isalnum(c) && c != '_' && c != '-')
            return FALSE;
    }
    return TRUE;
}

gboolean ek_app_paths_get(ek_app_paths *out, const char *profile, GError **err)
{
    memset(out, 0, sizeof(*out));
    if (profile == NULL || profile[0] == 0)
        profile = "default";
    if (!profile_name_ok(profile)) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG,
                    "invalid profile name \"%s\": use 1 to 64 of A-Z a-z 0-9 _ -", profile);
        return FALSE;
    }
    /* g_get_user_config_dir() caches its answer for the process; read the
     * environment ourselves so tests can change it. */
    const char *cfg = g_getenv("XDG_CONFIG_HOME");
    const char *data = g_getenv("XDG_DATA_HOME");
    char *cfg_base = cfg != NULL && g_path_is_absolute(cfg)
                         ? g_strdup(cfg)
                         : g_build_filename(g_get_home_dir(), ".config", NULL);
    char *data_base = data != NULL && g_path_is_absolute(data)
                          ? g_strdup(data)
                          : g_build_filename(g_get_home_dir(), ".local", "share", NULL);
    out->profile = g_strdup(profile);
    out->config_dir = g_build_filename(cfg_base, "enkrypt", profile, NULL);
    out->config_file = g_build_filename(out->config_dir, "config", NULL);
    out->data_dir = g_build_filename(data_base, "enkrypt", profile, NULL);
    out->vault_file = g_build_filename(out->data_dir, "vault.db", NULL);
    g_free(cfg_base);
    g_free(data_base);
    return TRUE;
}

void ek_app_paths_clear(ek_app_paths *p)
{
    g_free(p->profile);
    g_free(p->config_dir);
    g_free(p->config_file);
    g_free(p->data_dir);
    g_free(p->vault_file);
    memset(p, 0, sizeof(*p));
}

/* ---- errors ---- */

void app_set_vault_error(GError **err, int rc, const char *doing)
{
    int code = EK_APP_ERR_INTERNAL;
    const char *words = ek_vault_strerror(rc);
    switch (rc) {
    case EK_ERR_VAULT_BAD_PASSPHRASE:
        code = EK_APP_ERR_WRONG_PASSPHRASE;
        words = "wrong passphrase (the vault is unchanged)";
        break;
    case EK_ERR_VAULT_BAD_RECOVERY:
        code = EK_APP_ERR_WRONG_PASSPHRASE;
        words = "this recovery code is not this vault's (the vault is unchanged)";
        break;
    case EK_ERR_VAULT_RECOVERY_TYPO:
        code = EK_APP_ERR_WRONG_PASSPHRASE;
        words = "the recovery code is mistyped (check each group of 5 characters)";
        break;
    case EK_ERR_VAULT_NOT_VAULT:
    case EK_ERR_VAULT_CORRUPT:
    case EK_ERR_VAULT_VERSION: code = EK_APP_ERR_CORRUPT_VAULT; break;
    case EK_ERR_VAULT_NO_FILE: code = EK_APP_ERR_NO_PROFILE; break;
    case EK_ERR_VAULT_EXISTS: code = EK_APP_ERR_PROFILE_EXISTS; break;
    case EK_ERR_VAULT_BUSY:
        code = EK_APP_ERR_LOCKED;
        words = "another enkrypt process has this profile open";
        break;
    case EK_ERR_VAULT_READONLY:
    case EK_ERR_VAULT_FULL:
    case EK_ERR_VAULT_IO: code = EK_APP_ERR_IO; break;
    default: break;
    }
    g_set_error(err, EK_APP_ERROR, code, "%s: %s", doing, words);
}

/* ---- config ---- */

#define DEFAULT_EMBEDDED_PORT 9000

static const char default_config[] =
    "# enkrypt configuration of one profile (docs/rpc.md, \"Configuration\").\n"
    "# Lines starting with # are comments.\n"
    "\n"
    "[network]\n"
    "# The PeerJS broker both peers use, e.g. wss://broker.example/ (TLS) or\n"
    "# ws://192.168.1.10:9000/. Empty or absent: enkrypt uses a local broker\n"
    "# on 127.0.0.1:embedded_broker_port, starting one if none is running.\n"
    "%s"
    "embedded_broker_port=9000\n"
    "# key=peerjs\n"
    "# Only use TURN relays (hides your addresses from the peer).\n"
    "relay_only=false\n"
    "# Gather ICE candidates only on these addresses (e.g. 127.0.0.1).\n"
    "# local_addresses=127.0.0.1\n"
    "# Liveness ping between enkrypt peers and how long silence means gone.\n"
    "# ping_interval_ms=2000\n"
    "# ping_timeout_ms=8000\n"
    "# open_timeout_ms=15000\n"
    "# reconnect_min_ms=500\n"
    "# reconnect_max_ms=30000\n"
    "\n"
    "# STUN and TURN servers, one group each (none by default: nothing\n"
    "# outside is contacted unless you configure it).\n"
    "# [ice-server stun]\n"
    "# url=stun:stun.example.org:3478\n"
    "# [ice-server turn]\n"
    "# url=turn:turn.example.org:3478?transport=udp\n"
    "# username=alice\n"
    "# credential=secret\n"
    "\n"
    "# Your peer ID (for reference; it derives from your identity key).\n"
    "# peer_id=%s\n";

gboolean app_config_write_default(const char *path, const char *broker_url, const char *peer_id,
                                  GError **err)
{
    char *broker_line = broker_url != NULL && broker_url[0]
                            ? g_strdup_printf("broker=%s\n", broker_url)
                            : g_strdup("# broker=wss://broker.example/\n");
    char *text = g_strdup_printf(default_config, broker_line, peer_id);
    gboolean ok =
        g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, err);
    g_free(text);
    g_free(broker_line);
    return ok;
}

static gboolean get_uint(GKeyFile *kf, const char *group, const char *key, unsigned def,
                         unsigned max, unsigned *out, const char *path, GError **err)
{
    *out = def;
    if (!g_key_file_has_key(kf, group, key, NULL))
        return TRUE;
    GError *e = NULL;
    gint64 v = g_key_file_get_int64(kf, group, key, &e);
    if (e != NULL || v < 0 || (guint64)v > max) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG, "%s: [%s] %s must be a number 0..%u",
                    path, group, key, max);
        g_clear_error(&e);
        return FALSE;
    }
    *out = (unsigned)v;
    return TRUE;
}

gboolean app_config_load(app_config *c, const char *path, GError **err)
{
    memset(c, 0, sizeof(*c));
    c->embedded_port = DEFAULT_EMBEDDED_PORT;
    c->ping_interval_ms = 2000;
    c->ping_timeout_ms = 8000;
    c->open_timeout_ms = 15000;
    c->reconnect_min_ms = 500;
    c->reconnect_max_ms = 30000;
    GKeyFile *kf = g_key_file_new();
    GError *e = NULL;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
        if (g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            g_clear_error(&e); /* no file: the defaults */
            g_key_file_free(kf);
            return TRUE;
        }
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG, "cannot read the config file %s: %s",
                    path, e->message);
        g_clear_error(&e);
        g_key_file_free(kf);
        return FALSE;
    }
    gboolean ok = TRUE;
    char *s = g_key_file_get_string(kf, "network", "broker", NULL);
    if (s != NULL) {
        g_strstrip(s);
        if (s[0] != 0)
            c->broker_url = g_strdup(s);
        g_free(s);
    }
    unsigned port = 0;
    ok = ok && get_uint(kf, "network", "embedded_broker_port", DEFAULT_EMBEDDED_PORT, 65535, &port,
                        path, err);
    c->embedded_port = (int)port;
    if (ok && port == 0) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG,
                    "%s: [network] embedded_broker_port must be 1..65535", path);
        ok = FALSE;
    }
    s = g_key_file_get_string(kf, "network", "key", NULL);
    if (s != NULL) {
        g_strstrip(s);
        c->key = s[0] ? g_strdup(s) : NULL;
        g_free(s);
    }
    if (ok && g_key_file_has_key(kf, "network", "relay_only", NULL)) {
        c->relay_only = g_key_file_get_boolean(kf, "network", "relay_only", &e);
        if (e != NULL) {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG,
                        "%s: [network] relay_only must be true or false", path);
            g_clear_error(&e);
            ok = FALSE;
        }
    }
    if (ok && g_key_file_has_key(kf, "network", "local_addresses", NULL)) {
        c->local_addrs = g_key_file_get_string_list(kf, "network", "local_addresses", NULL, NULL);
        for (char **a = c->local_addrs; a != NULL && *a != NULL; a++)
            g_strstrip(*a);
    }
    ok = ok &&
         get_uint(kf, "network", "ping_interval_ms", 2000, 600000, &c->ping_interval_ms, path, err);
    ok = ok &&
         get_uint(kf, "network", "ping_timeout_ms", 8000, 3600000, &c->ping_timeout_ms, path, err);
    ok = ok &&
         get_uint(kf, "network", "open_timeout_ms", 15000, 600000, &c->open_timeout_ms, path, err);
    ok = ok &&
         get_uint(kf, "network", "reconnect_min_ms", 500, 600000, &c->reconnect_min_ms, path, err);
    ok = ok && get_uint(kf, "network", "reconnect_max_ms", 30000, 3600000, &c->reconnect_max_ms,
                        path, err);
    if (ok && c->reconnect_min_ms == 0)
        c->reconnect_min_ms = 500;
    if (ok && c->reconnect_max_ms < c->reconnect_min_ms)
        c->reconnect_max_ms = c->reconnect_min_ms;
    gsize ng = 0;
    char **groups = g_key_file_get_groups(kf, &ng);
    for (gsize i = 0; ok && i < ng; i++) {
        if (!g_str_has_prefix(groups[i], "ice-server"))
            continue;
        if (c->n_ice == EK_NET_MAX_ICE_SERVERS) {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG, "%s: at most %d [ice-server] groups",
                        path, EK_NET_MAX_ICE_SERVERS);
            ok = FALSE;
            break;
        }
        app_ice_server *is = &c->ice[c->n_ice];
        is->url = g_key_file_get_string(kf, groups[i], "url", NULL);
        is->username = g_key_file_get_string(kf, groups[i], "username", NULL);
        is->credential = g_key_file_get_string(kf, groups[i], "credential", NULL);
        c->n_ice++;
        if (is->url == NULL) {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG, "%s: [%s] has no url", path,
                        groups[i]);
            ok = FALSE;
        }
    }
    g_strfreev(groups);
    g_key_file_free(kf);
    if (!ok)
        app_config_clear(c);
    return ok;
}

void app_config_clear(app_config *c)
{
    g_free(c->broker_url);
    g_free(c->key);
    g_strfreev(c->local_addrs);
    for (size_t i = 0; i < c->n_ice; i++) {
        g_free(c->ice[i].url);
        g_free(c->ice[i].username);
        if (c->ice[i].credential != NULL)
            ek_wipe(c->ice[i].credential, strlen(c->ice[i].credential));
        g_free(c->ice[i].credential);
    }
    memset(c, 0, sizeof(*c));
}

/* ---- enkrypt init ---- */

static gboolean make_dir(const char *dir, GError **err)
{
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        int e = errno;
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_IO, "cannot create %s: %s", dir, g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

/* The broker registration token: the same across restarts, so a
 * restarted enkrypt takes its ID back at once (PeerJS: same ID + token =
 * the same client). */
static char *new_token(void)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t r[16];
    char *t = g_malloc(sizeof(r) + 1);
    if (ek_random(NULL, r, sizeof(r)) != EK_OK) {
        g_free(t);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(r); i++)
        t[i] = alnum[r[i] % 36]; /* 256 % 36 = 4: a tiny bias, harmless for a token */
    t[sizeof(r)] = 0;
    return t;
}

/* Argon2id cost of new vaults: the vault's defaults, or smaller values
 * from ENKRYPT_ARGON2_M_KIB / ENKRYPT_ARGON2_T (tests, small machines). */
static void argon2_opts(ek_vault_options *vo)
{
    memset(vo, 0, sizeof(*vo));
    const char *m = g_getenv("ENKRYPT_ARGON2_M_KIB");
    const char *t = g_getenv("ENKRYPT_ARGON2_T");
    if (m != NULL)
        vo->argon2_m_kib = (uint32_t)g_ascii_strtoull(m, NULL, 10);
    if (t != NULL)
        vo->argon2_t_cost = (uint32_t)g_ascii_strtoull(t, NULL, 10);
}

void app_vault_options(ek_vault_options *vo)
{
    argon2_opts(vo);
}

gboolean ek_app_profile_create(const char *profile, const char *passphrase, const char *broker_url,
                               ek_app_created *out, GError **err)
{
    memset(out, 0, sizeof(*out));
    if (passphrase == NULL || passphrase[0] == 0) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, "the passphrase is empty");
        return FALSE;
    }
    ek_app_paths paths;
    if (!ek_app_paths_get(&paths, profile, err))
        return FALSE;
    gboolean ok = FALSE;
    ek_vault *v = NULL;
    ek_identity id;
    char recovery[EK_VAULT_RECOVERY_LEN + 1];
    char *token = NULL;
    memset(&id, 0, sizeof(id));
    if (g_file_test(paths.vault_file, G_FILE_TEST_EXISTS)) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_PROFILE_EXISTS,
                    "profile \"%s\" already exists (%s); nothing was changed", paths.profile,
                    paths.vault_file);
        goto out;
    }
    if (!make_dir(paths.config_dir, err) || !make_dir(paths.data_dir, err))
        goto out;
    int rc = ek_identity_generate(&id, NULL);
    uint8_t pk[32];
    if (rc == EK_OK)
        rc = ek_identity_public(pk, &id);
    if (rc != EK_OK) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INTERNAL, "cannot make an identity: %s",
                    ek_strerror(rc));
        goto out;
    }
    ek_vault_options vo;
    argon2_opts(&vo);
    rc = ek_vault_create(&v, recovery, paths.vault_file, passphrase, strlen(passphrase), &vo);
    if (rc != EK_OK) {
        app_set_vault_error(err, rc, "cannot create the vault");
        goto out;
    }
    token = new_token();
    rc = token != NULL ? ek_vault_begin(v) : EK_ERR_RNG;
    if (rc == EK_OK)
        rc = ek_vault_identity_put(v, &id);
    if (rc == EK_OK)
        rc = ek_vault_setting_set(v, "net.token", token);
    if (rc == EK_OK)
        rc = ek_vault_commit(v);
    if (rc != EK_OK) {
        app_set_vault_error(err, rc, "cannot write the identity");
        ek_vault_close(v);
        v = NULL;
        (void)g_unlink(paths.vault_file);
        goto out;
    }
    char peer_id[EK_APP_PEER_ID_LEN + 1];
    ek_app_peer_id_from_key(peer_id, pk);
    if (!g_file_test(paths.config_file, G_FILE_TEST_EXISTS) &&
        !app_config_write_default(paths.config_file, broker_url, peer_id, err)) {
        ek_vault_close(v);
        v = NULL;
        (void)g_unlink(paths.vault_file);
        goto out;
    }
    out->peer_id = g_strdup(peer_id);
    out->recovery_code = g_strdup(recovery);
    out->config_file = g_strdup(paths.config_file);
    out->vault_file = g_strdup(paths.vault_file);
    ok = TRUE;
out:
    ek_vault_close(v);
    ek_wipe(&id, sizeof(id));
    ek_wipe(recovery, sizeof(recovery));
    g_free(token);
    ek_app_paths_clear(&paths);
    return ok;
}

void ek_app_created_clear(ek_app_created *c)
{
    g_free(c->peer_id);
    if (c->recovery_code != NULL)
        ek_wipe(c->recovery_code, strlen(c->recovery_code));
    g_free(c->recovery_code);
    g_free(c->config_file);
    g_free(c->vault_file);
    memset(c, 0, sizeof(*c));
}
