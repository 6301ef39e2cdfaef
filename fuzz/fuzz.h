/*
 * fuzz.h - what every fuzz target shares: the libFuzzer entry point's prototype (our
 * -Wmissing-prototypes wants one) and CHECK, an invariant test that aborts.
 */
#ifndef ST_FUZZ_H
#define ST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() rather than assert(): the check must stay in builds with NDEBUG. */
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            abort();                                                                                                   \
    } while (0)

#endif
