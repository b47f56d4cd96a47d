/*
 * driver.c: a stand-in for libFuzzer in the normal test build.
 *   fuzz_<target> RUNS [CORPUS_DIR]
 * Feeds every file of the corpus, then RUNS inputs that are either random
 * bytes or corpus files with random byte flips, insertions and truncations.
 * Deterministic (fixed seed), so a failure reproduces.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_INPUT = 1 << 16, MAX_SEEDS = 256 };

static uint64_t state = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dULL;
}

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS];
static size_t nseeds;

static void load_corpus(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nseeds < MAX_SEEDS) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        uint8_t *buf = malloc(MAX_INPUT);
        size_t n = buf != NULL ? fread(buf, 1, MAX_INPUT, f) : 0;
        fclose(f);
        if (buf == NULL)
            continue;
        seeds[nseeds] = buf;
        seed_len[nseeds++] = n;
        LLVMFuzzerTestOneInput(buf, n);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    long runs = argc > 1 ? atol(argv[1]) : 10000;
    if (argc > 2)
        load_corpus(argv[2]);
    static uint8_t buf[MAX_INPUT];
    for (long r = 0; r < runs; r++) {
        size_t n;
        if (nseeds > 0 && (next() & 3) != 0) {
            size_t s = next() % nseeds;
            n = seed_len[s];
            memcpy(buf, seeds[s], n);
            int edits = 1 + (int)(next() % 8);
            for (int i = 0; i < edits; i++) {
                switch (next() % 4) {
                case 0: /* flip a bit */
                    if (n > 0)
                        buf[next() % n] ^= (uint8_t)(1u << (next() % 8));
                    break;
                case 1: /* set a byte */
                    if (n > 0)
                        buf[next() % n] = (uint8_t)next();
                    break;
                case 2: /* truncate */
                    if (n > 0)
                        n = next() % n;
                    break;
                default: /* append */
                    if (n < MAX_INPUT)
                        buf[n++] = (uint8_t)next();
                }
            }
        } else {
            n = next() % 4096;
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)next();
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("fuzz driver: %ld runs, %zu corpus files\n", runs, nseeds);
    for (size_t i = 0; i < nseeds; i++)
        free(seeds[i]);
    return 0;
}
