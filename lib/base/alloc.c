/* alloc.c: the allocator hook; NULL selects the C library's allocator. */
#include <stdlib.h>

#include <enkrypt/ek_base.h>

void *ek_alloc(const ek_allocator *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (a != NULL)
        return a->alloc(a->ctx, size);
    return malloc(size);
}

void *ek_realloc(const ek_allocator *a, void *ptr, size_t old_size, size_t new_size)
{
    if (new_size == 0)
        new_size = 1;
    if (a != NULL)
        return a->realloc(a->ctx, ptr, old_size, new_size);
    return realloc(ptr, new_size);
}

void ek_free(const ek_allocator *a, void *ptr, size_t size)
{
    if (ptr == NULL)
        return;
    if (a != NULL)
        a->free(a->ctx, ptr, size);
    else
        free(ptr);
}
