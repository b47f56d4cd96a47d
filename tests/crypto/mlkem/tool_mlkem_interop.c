/*
 * tool_mlkem_interop.c: our ML-KEM-768 as a line-oriented filter, for the
 * differential test against @noble/post-quantum
 * (tests/node/mlkem_noble.mjs, ctest interop.mlkem.noble).
 *
 * Each input line is one command, hex arguments, one output line:
 *   gen D Z M   ->  EK DK CT SS      KeyGen_internal(d, z), Encaps_internal(ek, m)
 *   dec DK CT   ->  SS               Decaps(dk, ct)
 * Any failure prints "error <code>" for that line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_mlkem.h>

enum { MAX_LINE = 16384 };

static int unhex(uint8_t *out, size_t n, const char *hex)
{
    if (hex == NULL || strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void put_hex(const uint8_t *p, size_t n, char end)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        putchar(digits[p[i] >> 4]);
        putchar(digits[p[i] & 15]);
    }
    putchar(end);
}

int main(void)
{
    static char line[MAX_LINE];
    static uint8_t ek[EK_MLKEM768_EK_LEN], dk[EK_MLKEM768_DK_LEN], ct[EK_MLKEM768_CT_LEN];
    uint8_t d[32], z[32], m[32], ss[32];
    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char *cmd = strtok(line, " ");
        if (cmd == NULL)
            continue;
        int rc = EK_ERR_INVALID_ARG;
        if (strcmp(cmd, "gen") == 0) {
            char *a = strtok(NULL, " "), *b = strtok(NULL, " "), *c = strtok(NULL, " ");
            if (unhex(d, 32, a) == 0 && unhex(z, 32, b) == 0 && unhex(m, 32, c) == 0 &&
                (rc = ek_mlkem768_keypair_derand(ek, dk, d, z)) == EK_OK &&
                (rc = ek_mlkem768_encaps_derand(ct, ss, ek, m)) == EK_OK) {
                put_hex(ek, sizeof(ek), ' ');
                put_hex(dk, sizeof(dk), ' ');
                put_hex(ct, sizeof(ct), ' ');
                put_hex(ss, sizeof(ss), '\n');
                continue;
            }
        } else if (strcmp(cmd, "dec") == 0) {
            char *a = strtok(NULL, " "), *b = strtok(NULL, " ");
            if (unhex(dk, sizeof(dk), a) == 0 && unhex(ct, sizeof(ct), b) == 0 &&
                (rc = ek_mlkem768_decaps(ss, ct, dk)) == EK_OK) {
                put_hex(ss, sizeof(ss), '\n');
                continue;
            }
        }
        printf("error %d\n", rc);
    }
    return 0;
}
