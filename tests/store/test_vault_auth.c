/*
 * test_vault_auth.c: the passphrase and the recovery code. A wrong
 * passphrase, a wrong recovery code and a mistyped one each give their own
 * error and leave every file byte for byte as it was; changing the
 * passphrase makes the old one fail and keeps the recovery code working;
 * a new recovery code retires the old one; the code's checksums catch
 * every single-character typo in the right group.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_vault.h>

#include "ek_test.h"
#include "vault_util.h"

static const char pass[] = "tr0ub4dor&3 but longer";
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Run an open that must fail with want, and check nothing changed. */
static void open_fails_untouched(const char *dir, const char *path, const char *pw,
                                 const char *code, int want)
{
    vt_snapshot before, after;
    ek_vault_options o = vt_opts();
    ek_vault *v = (ek_vault *)&o; /* must be reset to NULL */
    int rc;
    vt_snap(&before, dir);
    if (pw != NULL)
        rc = ek_vault_open(&v, path, pw, strlen(pw), &o);
    else
        rc = ek_vault_open_recovery(&v, path, code, &o);
    EK_CHECK_RC(rc, want);
    EK_CHECK(v == NULL);
    vt_snap(&after, dir);
    EK_CHECK(before.n == 1); /* only the database: no -wal, no -shm */
    EK_CHECK(vt_snap_equal(&before, &after));
    vt_snap_free(&before);
    vt_snap_free(&after);
}

static void opens_with(const char *path, const char *pw, const char *code, uint32_t seed)
{
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    vt_result res;
    int rc = pw != NULL ? ek_vault_open(&v, path, pw, strlen(pw), &o)
                        : ek_vault_open_recovery(&v, path, code, &o);
    EK_CHECK_OK(rc);
    if (rc != EK_OK)
        return;
    vt_verify(v, seed, &res);
    EK_CHECK(res.same == VT_TOTAL && res.errors == 0 && res.wrong == 0);
    ek_vault_close(v);
}

/* Replace the character at position pos (counting only code characters,
 * not hyphens) with another value of the alphabet. */
static void substitute(char *code, size_t pos, char with)
{
    size_t i, k = 0;
    for (i = 0; code[i] != 0; i++) {
        if (code[i] == '-')
            continue;
        if (k++ == pos) {
            if (code[i] != with)
                code[i] = with;
            else if (with != '7')
                code[i] = '7';
            else
                code[i] = '8';
            return;
        }
    }
}

static void test_wrong_secrets(void)
{
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    char *dir2 = vt_tempdir(), *path2 = vt_join(dir2, "other.db");
    char code[EK_VAULT_RECOVERY_LEN + 1], other[EK_VAULT_RECOVERY_LEN + 1];
    char typo[EK_VAULT_RECOVERY_LEN + 1], loose[80];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    size_t i, k;

    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));
    vt_fill(v, 11);
    ek_vault_close(v);
    EK_CHECK_OK(ek_vault_create(&v, other, path2, "x", 1, &o));
    ek_vault_close(v);

    open_fails_untouched(dir, path, "tr0ub4dor&3 but longer ", NULL, EK_ERR_VAULT_BAD_PASSPHRASE);
    open_fails_untouched(dir, path, "Tr0ub4dor&3 but longer", NULL, EK_ERR_VAULT_BAD_PASSPHRASE);
    open_fails_untouched(dir, path, "x", NULL, EK_ERR_VAULT_BAD_PASSPHRASE);
    open_fails_untouched(dir, path, NULL, other, EK_ERR_VAULT_BAD_RECOVERY);
    memcpy(typo, code, sizeof typo);
    substitute(typo, 13, '7');
    open_fails_untouched(dir, path, NULL, typo, EK_ERR_VAULT_RECOVERY_TYPO);
    open_fails_untouched(dir, path, NULL, "", EK_ERR_VAULT_RECOVERY_TYPO);
    open_fails_untouched(dir, path, NULL, "not a code at all", EK_ERR_VAULT_RECOVERY_TYPO);
    {
        char shortc[EK_VAULT_RECOVERY_LEN + 1];
        memcpy(shortc, code, sizeof shortc);
        shortc[EK_VAULT_RECOVERY_LEN - 1] = 0;
        open_fails_untouched(dir, path, NULL, shortc, EK_ERR_VAULT_RECOVERY_TYPO);
    }
    {
        char longc[EK_VAULT_RECOVERY_LEN + 3];
        (void)snprintf(longc, sizeof longc, "%s0", code);
        open_fails_untouched(dir, path, NULL, longc, EK_ERR_VAULT_RECOVERY_TYPO);
    }
    EK_CHECK_RC(ek_vault_open(&v, path, "", 0, &o), EK_ERR_INVALID_ARG);

    /* The right ones still open it, after all those attempts. */
    opens_with(path, pass, NULL, 11);
    opens_with(path, NULL, code, 11);

    /* Typed loosely: lower case, spaces instead of hyphens, O for 0, I and
     * L for 1. */
    for (i = 0, k = 0; code[i] != 0; i++) {
        char ch = code[i];
        if (ch == '-') {
            loose[k++] = ' ';
            continue;
        }
        if (ch == '0')
            ch = 'o';
        else if (ch == '1')
            ch = (i % 2) ? 'I' : 'l';
        else if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        loose[k++] = ch;
    }
    loose[k] = 0;
    opens_with(path, NULL, loose, 11);

    vt_rmtree(dir);
    vt_rmtree(dir2);
    free(path);
    free(path2);
    free(dir);
    free(dir2);
}

static void test_change_passphrase(void)
{
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    char code[EK_VAULT_RECOVERY_LEN + 1], code2[EK_VAULT_RECOVERY_LEN + 1];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;

    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));
    vt_fill(v, 12);
    EK_CHECK_OK(ek_vault_check_passphrase(v, pass, strlen(pass)));
    EK_CHECK_RC(ek_vault_check_passphrase(v, "nope", 4), EK_ERR_VAULT_BAD_PASSPHRASE);
    EK_CHECK_OK(ek_vault_change_passphrase(v, "new passphrase", 14));
    EK_CHECK_OK(ek_vault_check_passphrase(v, "new passphrase", 14));
    EK_CHECK_RC(ek_vault_check_passphrase(v, pass, strlen(pass)), EK_ERR_VAULT_BAD_PASSPHRASE);
    EK_CHECK_RC(ek_vault_change_passphrase(v, "", 0), EK_ERR_INVALID_ARG);
    ek_vault_close(v);

    open_fails_untouched(dir, path, pass, NULL, EK_ERR_VAULT_BAD_PASSPHRASE);
    opens_with(path, "new passphrase", NULL, 12);
    opens_with(path, NULL, code, 12);

    /* Lost the passphrase: recovery code, then a new passphrase. */
    EK_CHECK_OK(ek_vault_open_recovery(&v, path, code, &o));
    EK_CHECK_OK(ek_vault_change_passphrase(v, "third", 5));
    ek_vault_close(v);
    open_fails_untouched(dir, path, "new passphrase", NULL, EK_ERR_VAULT_BAD_PASSPHRASE);
    opens_with(path, "third", NULL, 12);

    /* A new recovery code retires the old one. */
    EK_CHECK_OK(ek_vault_open(&v, path, "third", 5, &o));
    EK_CHECK_OK(ek_vault_reset_recovery(v, code2));
    EK_CHECK(strcmp(code, code2) != 0);
    EK_CHECK_OK(ek_vault_recovery_check(code2, NULL));
    ek_vault_close(v);
    open_fails_untouched(dir, path, NULL, code, EK_ERR_VAULT_BAD_RECOVERY);
    opens_with(path, NULL, code2, 12);
    opens_with(path, "third", NULL, 12);

    vt_rmtree(dir);
    free(path);
    free(dir);
}

/* With the default Argon2id cost (64 MiB, t = 3): stored in the header and
 * used on open whatever the opener's options say. */
static void test_default_cost(void)
{
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    char code[EK_VAULT_RECOVERY_LEN + 1];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;

    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), NULL));
    ek_vault_close(v);
    EK_CHECK_OK(ek_vault_open(&v, path, pass, strlen(pass), &o));
    ek_vault_close(v);
    EK_CHECK_RC(ek_vault_open(&v, path, "wrong", 5, NULL), EK_ERR_VAULT_BAD_PASSPHRASE);
    o.argon2_m_kib = 4;
    EK_CHECK_RC(ek_vault_open(&v, path, pass, strlen(pass), &o), EK_ERR_INVALID_ARG);
    vt_rmtree(dir);
    free(path);
    free(dir);
}

/* Every single substitution is caught, in its own group; neighbours
 * swapped and whole groups swapped are caught too. */
static void test_recovery_checksums(void)
{
    char code[EK_VAULT_RECOVERY_LEN + 1], t[EK_VAULT_RECOVERY_LEN + 1];
    uint8_t seed[4] = {1, 2, 3, 4};
    ek_rng_seeded r;
    ek_vault_options o = vt_opts();
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    ek_vault *v = NULL;
    unsigned pos, g, x, subs = 0, swaps = 0;

    ek_rng_seeded_init(&r, seed, sizeof seed);
    o.rng = &r.rng;
    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));
    ek_vault_close(v);

    for (pos = 0; pos < 40; pos++) {
        for (x = 0; x < 32; x++) {
            unsigned bad = 99;
            size_t i, k = 0;
            memcpy(t, code, sizeof t);
            for (i = 0; t[i] != 0; i++) {
                if (t[i] == '-')
                    continue;
                if (k++ == pos)
                    break;
            }
            if (t[i] == alphabet[x])
                continue;
            t[i] = alphabet[x];
            EK_CHECK_RC(ek_vault_recovery_check(t, &bad), EK_ERR_VAULT_RECOVERY_TYPO);
            EK_CHECK(bad == pos / 5 + 1);
            subs++;
        }
    }
    /* Neighbours inside a group swapped. */
    for (g = 0; g < 8; g++) {
        for (pos = 0; pos < 4; pos++) {
            size_t i = g * 6 + pos;
            char ch;
            memcpy(t, code, sizeof t);
            if (t[i] == t[i + 1])
                continue;
            ch = t[i];
            t[i] = t[i + 1];
            t[i + 1] = ch;
            EK_CHECK_RC(ek_vault_recovery_check(t, NULL), EK_ERR_VAULT_RECOVERY_TYPO);
            swaps++;
        }
    }
    /* Two groups swapped. */
    memcpy(t, code, sizeof t);
    memcpy(t, code + 6, 5);
    memcpy(t + 6, code, 5);
    EK_CHECK_RC(ek_vault_recovery_check(t, NULL), EK_ERR_VAULT_RECOVERY_TYPO);
    /* A bad character is located. */
    {
        unsigned bad = 0;
        memcpy(t, code, sizeof t);
        t[20] = 'U';
        EK_CHECK_RC(ek_vault_recovery_check(t, &bad), EK_ERR_VAULT_RECOVERY_TYPO);
        EK_CHECK(bad == 4);
    }
    printf("recovery code: %u substitutions, %u swaps detected\n", subs, swaps);
    EK_CHECK(subs == 40 * 31);
    EK_CHECK(swaps > 20);
    EK_CHECK_OK(ek_vault_recovery_check(code, NULL));
    vt_rmtree(dir);
    free(path);
    free(dir);
}

int main(void)
{
    test_wrong_secrets();
    test_change_passphrase();
    test_default_cost();
    test_recovery_checksums();
    return ek_test_finish("store.auth");
}
