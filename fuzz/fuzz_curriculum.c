/*
 * fuzz_curriculum.c - the curriculum file parser and checker on arbitrary bytes.
 * Must never crash, leak or read out of bounds; errors are fine.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz.h"
#include "curriculum/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_curf_bank *b = malloc(sizeof(*b));
    if (!b)
        return 0;
    st_curf_init(b);
    struct st_error err;
    if (st_curf_add_file(b, "fuzz.txt", (const char *)data, size, &err) == 0)
        (void)st_curf_check(b, NULL, &err);
    st_curf_release(b);
    free(b);
    return 0;
}
