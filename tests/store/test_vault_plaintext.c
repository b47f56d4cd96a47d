/*
 * test_vault_plaintext.c: no secret and no message text reaches the disk.
 *
 * Writes distinctive messages, names, ids, settings and random secrets,
 * then searches every file in the vault's folder (the database, its -wal,
 * any -shm or -journal) for each of them: raw, as hex (both cases), as
 * base64 and base64url (at the three byte alignments) and as UTF-16LE.
 * The search runs while the vault is open (the WAL holds the fresh
 * writes), after close, and after a passphrase change and deletions. The
 * same search finds the needles in a control file, so it can fail.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_vault.h>

#include "ek_test.h"
#include "store/vault_internal.h"
#include "vault_util.h"

#define SEED        21
#define MAX_NEEDLES 64

static const char pass[] = "passphrase-canary-Q7-horse";

typedef struct needle {
    const char *name;
    uint8_t *data;
    size_t len;
} needle;

static needle needles[MAX_NEEDLES];
static size_t n_needles;

static void add_needle(const char *name, const void *p, size_t len)
{
    if (n_needles == MAX_NEEDLES)
        abort();
    needles[n_needles].name = name;
    needles[n_needles].data = malloc(len);
    if (needles[n_needles].data == NULL)
        abort();
    memcpy(needles[n_needles].data, p, len);
    needles[n_needles].len = len;
    n_needles++;
}

static void add_text(const char *name, const char *s)
{
    add_needle(name, s, strlen(s));
}

static int contains(const uint8_t *hay, size_t n, const void *pin, size_t m)
{
    size_t i;
    if (m == 0 || m > n)
        return 0;
    for (i = 0; i + m <= n; i++)
        if (hay[i] == ((const uint8_t *)pin)[0] && memcmp(hay + i, pin, m) == 0)
            return 1;
    return 0;
}

static size_t to_hex(char *out, const uint8_t *p, size_t n, int upper)
{
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    return 2 * n;
}

/* base64 of the whole 3-byte groups of p[0..n) (no padding). */
static size_t to_b64(char *out, const uint8_t *p, size_t n, int url)
{
    const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                        : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, k = 0;
    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[k++] = a[w >> 18 & 63];
        out[k++] = a[w >> 12 & 63];
        out[k++] = a[w >> 6 & 63];
        out[k++] = a[w & 63];
    }
    return k;
}

/* How many (needle, form) pairs occur in hay; prints each. */
static unsigned scan_buffer(const char *file, const uint8_t *hay, size_t n)
{
    unsigned hits = 0;
    size_t i;
    for (i = 0; i < n_needles; i++) {
        const needle *nd = &needles[i];
        char *form = malloc(nd->len * 2 + 8);
        size_t k, fl;
        int o;
        if (form == NULL)
            abort();
        if (contains(hay, n, nd->data, nd->len)) {
            printf("  %s: %s in raw form\n", file, nd->name);
            hits++;
        }
        for (o = 0; o < 2; o++) {
            fl = to_hex(form, nd->data, nd->len, o);
            if (contains(hay, n, form, fl)) {
                printf("  %s: %s as hex\n", file, nd->name);
                hits++;
            }
        }
        for (o = 0; o < 3; o++) {
            int url;
            if (nd->len < (size_t)o + 9)
                continue;
            for (url = 0; url < 2; url++) {
                fl = to_b64(form, nd->data + o, nd->len - (size_t)o, url);
                /* skip the first and last characters, which depend on the
                 * bytes around the needle */
                if (fl > 8 && contains(hay, n, form + 1, fl - 2)) {
                    printf("  %s: %s as base64\n", file, nd->name);
                    hits++;
                }
            }
        }
        for (k = 0; k < nd->len; k++) {
            form[2 * k] = (char)nd->data[k];
            form[2 * k + 1] = 0;
        }
        if (contains(hay, n, form, 2 * nd->len)) {
            printf("  %s: %s as UTF-16LE\n", file, nd->name);
            hits++;
        }
        free(form);
    }
    return hits;
}

/* Every file in dir; *files counts them. */
static unsigned scan_dir(const char *dir, unsigned *files)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned hits = 0;
    *files = 0;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char *p;
        uint8_t *b;
        size_t n = 0;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        p = vt_join(dir, e->d_name);
        b = vt_read(p, &n);
        if (b != NULL) {
            hits += scan_buffer(e->d_name, b, n);
            (*files)++;
            printf("  scanned %s (%zu bytes)\n", e->d_name, n);
        }
        free(b);
        free(p);
    }
    (void)closedir(d);
    return hits;
}

static void add_needles(const ek_vault *v, const char *code)
{
    static char body0[300], body1[300];
    static uint8_t blob[VT_BLOB_LEN], gblob[VT_BLOB_LEN], gid[16], ikey[32];
    static char code_plain[64];
    size_t i, k = 0;
    ek_identity id;

    add_text("passphrase", pass);
    add_text("recovery code", code);
    for (i = 0; code[i] != 0; i++)
        if (code[i] != '-')
            code_plain[k++] = code[i];
    add_text("recovery code without hyphens", code_plain);
    vt_message_body(body0, sizeof body0, SEED, 0);
    vt_message_body(body1, sizeof body1, SEED, 13);
    add_text("message body 0", body0);
    add_text("message body 13", body1);
    add_text("message text fragment", "meet me at the old mill");
    add_text("large message fragment", "LARGE-CANARY-BODY-0042");
    add_text("peer id", "peer-alice-21");
    add_text("other peer id", "peer-bob-21");
    add_text("nickname", "Alice Canary 21");
    add_text("setting key", "canary.setting.21");
    add_text("setting value", "setting-value-canary-21");
    add_text("message id", "msg-21-13");
    add_text("outbox payload", "outbox canary payload 21");
    add_text("outbox message id", "out-21-3");
    add_text("kv value", "draft canary text 21");
    add_text("kv key", "draft-21");
    add_text("kv namespace", "app.drafts");
    add_text("conversation id", "conversation-canary-zz");

    /* Secrets: the identity's keys, session and group states, the vault's
     * own keys. 16-byte windows of the long ones. */
    {
        uint8_t s[5] = {0, 0, 0, SEED, 'i'};
        ek_rng_seeded r;
        ek_rng_seeded_init(&r, s, sizeof s);
        if (ek_identity_generate(&id, &r.rng) != EK_OK)
            abort();
        add_needle("identity seed", id.seed, sizeof id.seed);
        add_needle("signal private key", id.signal.key.priv, sizeof id.signal.key.priv);
        ek_wipe(&id, sizeof id);
    }
    vt_blob(blob, sizeof blob, SEED, 1);
    vt_blob(gid, sizeof gid, SEED, 3);
    vt_blob(gblob, sizeof gblob, SEED, 4);
    vt_blob(ikey, sizeof ikey, SEED, 10);
    add_needle("session state [0..16)", blob, 16);
    add_needle("session state [1500..1516)", blob + 1500, 16);
    add_needle("session state end", blob + sizeof blob - 16, 16);
    add_needle("group id", gid, sizeof gid);
    add_needle("group state [0..16)", gblob, 16);
    add_needle("group state [2000..2016)", gblob + 2000, 16);
    add_needle("contact identity key", ikey, sizeof ikey);
    add_needle("data key", v->keys->data, VAULT_KEY_LEN);
    add_needle("seal key", v->keys->seal, VAULT_KEY_LEN);
    add_needle("index key", v->keys->index, VAULT_KEY_LEN);
}

static void write_more(ek_vault *v)
{
    static char large[20000];
    ek_vault_message m;
    size_t i;
    for (i = 0; i + 22 < sizeof large; i += 22)
        memcpy(large + i, "LARGE-CANARY-BODY-0042", 22);
    large[i] = 0;
    memset(&m, 0, sizeof m);
    m.conversation = "conversation-canary-zz";
    m.id = "large-1";
    m.direction = EK_VAULT_OUTGOING;
    m.status = EK_VAULT_MSG_QUEUED;
    m.body = (const uint8_t *)large;
    m.body_len = strlen(large);
    EK_CHECK_OK(ek_vault_msg_append(v, NULL, &m));
}

static void control(void)
{
    /* The scanner finds what it looks for: a file holding a needle raw, one
     * holding it as base64 at an odd offset, one as hex. */
    static const uint8_t pre[7] = "xyzxyz";
    uint8_t buf[512];
    char form[256];
    size_t n, len;
    unsigned hits;

    len = needles[3].len; /* message body 0 */
    memcpy(buf, pre, 5);
    memcpy(buf + 5, needles[3].data, len);
    hits = scan_buffer("control raw", buf, 5 + len);
    EK_CHECK(hits >= 2);                                  /* the body and the fragment */
    n = to_b64(form, needles[5].data, needles[5].len, 0); /* the fragment */
    hits = scan_buffer("control base64", (const uint8_t *)form, n);
    EK_CHECK(hits >= 1);
    n = to_hex(form, needles[n_needles - 3].data, 32, 0); /* the data key */
    hits = scan_buffer("control hex", (const uint8_t *)form, n);
    EK_CHECK(hits == 1);
}

int main(void)
{
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    char code[EK_VAULT_RECOVERY_LEN + 1];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    unsigned hits, files;

    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));
    if (v == NULL)
        return ek_test_finish("store.plaintext");
    add_needles(v, code);
    vt_fill(v, SEED);
    write_more(v);

    printf("while open:\n");
    hits = scan_dir(dir, &files);
    EK_CHECK(hits == 0);
    EK_CHECK(files >= 2); /* the database and its WAL */

    ek_vault_close(v);
    printf("after close:\n");
    hits = scan_dir(dir, &files);
    EK_CHECK(hits == 0);
    EK_CHECK(files == 1);

    EK_CHECK_OK(ek_vault_open(&v, path, pass, strlen(pass), &o));
    EK_CHECK_OK(ek_vault_change_passphrase(v, "another passphrase", 18));
    EK_CHECK_OK(ek_vault_conversation_delete(v, "conversation-canary-zz"));
    EK_CHECK_OK(ek_vault_contact_delete(v, "peer-alice-21"));
    EK_CHECK_OK(ek_vault_outbox_remove(v, "peer-bob-21", "out-21-3"));
    printf("after changes, open:\n");
    hits = scan_dir(dir, &files);
    EK_CHECK(hits == 0);
    ek_vault_close(v);
    printf("after changes, closed:\n");
    hits = scan_dir(dir, &files);
    EK_CHECK(hits == 0);

    control();
    printf("%zu needles, each in 11 forms\n", n_needles);
    vt_rmtree(dir);
    free(path);
    free(dir);
    while (n_needles > 0)
        free(needles[--n_needles].data);
    return ek_test_finish("store.plaintext");
}
