/* test_reader.c: ek_reader: bounds, sticky errors, sub-readers, finish. */
#include <string.h>

#include <enkrypt/ek_base.h>

#include "ek_test.h"

static void test_integers(void)
{
    const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                           0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    ek_reader r;
    ek_reader_init(&r, buf, sizeof(buf));
    uint8_t a;
    uint16_t b;
    uint32_t c;
    uint64_t d;
    EK_CHECK_OK(ek_read_u8(&r, &a));
    EK_CHECK_OK(ek_read_u16(&r, &b));
    EK_CHECK_OK(ek_read_u32(&r, &c));
    EK_CHECK_OK(ek_read_u64(&r, &d));
    EK_CHECK(a == 0x01 && b == 0x0203 && c == 0x04050607u && d == 0x08090a0b0c0d0e0fULL);
    EK_CHECK(ek_reader_remaining(&r) == 0);
    EK_CHECK_OK(ek_reader_finish(&r));
}

static void test_truncation_is_sticky(void)
{
    const uint8_t buf[] = {0xaa, 0xbb, 0xcc};
    ek_reader r;
    ek_reader_init(&r, buf, sizeof(buf));
    uint32_t v = 0x12345678;
    EK_CHECK_RC(ek_read_u32(&r, &v), EK_ERR_TRUNCATED);
    EK_CHECK(v == 0x12345678); /* untouched on failure */
    /* Later reads fail too, even ones that would fit. */
    uint8_t b = 0;
    EK_CHECK_RC(ek_read_u8(&r, &b), EK_ERR_TRUNCATED);
    EK_CHECK(b == 0);
    EK_CHECK(ek_reader_remaining(&r) == 0);
    EK_CHECK_RC(ek_reader_finish(&r), EK_ERR_TRUNCATED);
}

static void test_trailing(void)
{
    const uint8_t buf[] = {1, 2, 3};
    ek_reader r;
    ek_reader_init(&r, buf, sizeof(buf));
    uint16_t v;
    EK_CHECK_OK(ek_read_u16(&r, &v));
    EK_CHECK_RC(ek_reader_finish(&r), EK_ERR_TRAILING);
}

static void test_views_and_subs(void)
{
    const uint8_t buf[] = {3, 'a', 'b', 'c', 9};
    ek_reader r, sub;
    ek_reader_init(&r, buf, sizeof(buf));
    uint8_t n;
    EK_CHECK_OK(ek_read_u8(&r, &n));
    EK_CHECK_OK(ek_read_sub(&r, &sub, n));
    const uint8_t *p;
    EK_CHECK_OK(ek_read_view(&sub, &p, 3));
    EK_CHECK(memcmp(p, "abc", 3) == 0);
    EK_CHECK_OK(ek_reader_finish(&sub));
    /* A sub-reader cannot read past its own end into the parent's bytes. */
    ek_reader_init(&r, buf, sizeof(buf));
    EK_CHECK_OK(ek_read_u8(&r, &n));
    EK_CHECK_OK(ek_read_sub(&r, &sub, 2));
    EK_CHECK_RC(ek_read_view(&sub, &p, 3), EK_ERR_TRUNCATED);
    /* A length beyond the parent fails both. */
    ek_reader_init(&r, buf, sizeof(buf));
    EK_CHECK_RC(ek_read_sub(&r, &sub, 6), EK_ERR_TRUNCATED);
    EK_CHECK_RC(ek_reader_finish(&sub), EK_ERR_TRUNCATED);
    /* Huge lengths do not wrap around. */
    ek_reader_init(&r, buf, sizeof(buf));
    EK_CHECK_OK(ek_read_u8(&r, &n));
    EK_CHECK_RC(ek_read_view(&r, &p, SIZE_MAX), EK_ERR_TRUNCATED);
}

static void test_fail_and_empty(void)
{
    ek_reader r;
    ek_reader_init(&r, NULL, 10); /* NULL buffer reads as empty */
    uint8_t b;
    EK_CHECK_RC(ek_read_u8(&r, &b), EK_ERR_TRUNCATED);
    const uint8_t one = 1;
    ek_reader_init(&r, &one, 1);
    EK_CHECK_RC(ek_reader_fail(&r, EK_ERR_DECODE), EK_ERR_DECODE);
    EK_CHECK_RC(ek_reader_fail(&r, EK_ERR_TRUNCATED), EK_ERR_DECODE); /* first error wins */
    EK_CHECK_RC(ek_read_u8(&r, &b), EK_ERR_DECODE);
    EK_CHECK_RC(ek_reader_finish(&r), EK_ERR_DECODE);
    uint8_t out[1];
    ek_reader_init(&r, &one, 1);
    EK_CHECK_OK(ek_read_bytes(&r, out, 0));
    EK_CHECK_OK(ek_read_bytes(&r, out, 1));
    EK_CHECK(out[0] == 1);
}

int main(void)
{
    test_integers();
    test_truncation_is_sticky();
    test_trailing();
    test_views_and_subs();
    test_fail_and_empty();
    return ek_test_finish("base.reader");
}
