/* test_writer.c: ek_writer: fixed and growable, allocation failure. */
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_base.h>

#include "ek_test.h"

/* An allocator that fails after a budget of successful allocations. */
struct budget {
    int left;
    int live;
};

static void *b_alloc(void *ctx, size_t n)
{
    struct budget *b = ctx;
    if (b->left-- <= 0)
        return NULL;
    b->live++;
    return malloc(n);
}

static void *b_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)old;
    struct budget *b = ctx;
    if (b->left-- <= 0)
        return NULL;
    return realloc(p, n);
}

static void b_free(void *ctx, void *p, size_t n)
{
    (void)n;
    struct budget *b = ctx;
    b->live--;
    free(p);
}

static void test_fixed(void)
{
    uint8_t buf[7];
    ek_writer w;
    ek_writer_init_fixed(&w, buf, sizeof(buf));
    EK_CHECK_OK(ek_write_u8(&w, 0x01));
    EK_CHECK_OK(ek_write_u16(&w, 0x0203));
    EK_CHECK_OK(ek_write_u32(&w, 0x04050607));
    EK_CHECK(w.len == 7 && buf[0] == 1 && buf[2] == 3 && buf[6] == 7);
    EK_CHECK_RC(ek_write_u8(&w, 0), EK_ERR_TOO_LARGE);
    EK_CHECK_RC(ek_write_bytes(&w, "", 0), EK_ERR_TOO_LARGE); /* sticky */
    EK_CHECK(w.len == 7);
    uint8_t *p;
    size_t len, cap;
    EK_CHECK_RC(ek_writer_take(&w, &p, &len, &cap), EK_ERR_TOO_LARGE);
    ek_writer_dispose(&w);
    EK_CHECK(buf[0] == 0); /* disposal wipes */
}

static void test_growable(void)
{
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    for (int i = 0; i < 1000; i++)
        EK_CHECK_OK(ek_write_u64(&w, (uint64_t)i));
    EK_CHECK(w.len == 8000);
    EK_CHECK(w.buf[7998] == (999 >> 8) && w.buf[7999] == (999 & 0xff));
    uint8_t *p;
    size_t len, cap;
    EK_CHECK_OK(ek_writer_take(&w, &p, &len, &cap));
    EK_CHECK(len == 8000 && cap >= len && w.buf == NULL);
    ek_free(NULL, p, cap);
    ek_writer_dispose(&w); /* harmless after take */
    uint8_t *r;
    ek_writer_init_growable(&w, NULL);
    r = ek_write_reserve(&w, 5);
    EK_CHECK(r != NULL);
    ek_writer_dispose(&w);
}

static void test_alloc_failure(void)
{
    /* Fail at every allocation point in turn: the writer reports
     * EK_ERR_NOMEM, keeps what it had, and leaks nothing. */
    for (int budget = 0; budget < 8; budget++) {
        struct budget b = {budget, 0};
        ek_allocator a = {b_alloc, b_realloc, b_free, &b};
        ek_writer w;
        ek_writer_init_growable(&w, &a);
        int rc = EK_OK;
        for (int i = 0; i < 100 && rc == EK_OK; i++)
            rc = ek_write_bytes(&w, "0123456789", 10);
        if (budget < 5)
            EK_CHECK_RC(rc, EK_ERR_NOMEM);
        ek_writer_dispose(&w);
        EK_CHECK(b.live == 0);
    }
}

int main(void)
{
    test_fixed();
    test_growable();
    test_alloc_failure();
    return ek_test_finish("base.writer");
}
