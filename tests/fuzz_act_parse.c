/* fuzz_act_parse.c - libFuzzer target for the --fn and --normalize parsers
 * (cact_act_parse, cact_act_parse_normalize in src/act.c): untrusted text from argv.
 *
 * Input: byte 0 bit 0 picks the parser (0: --fn, 1: --normalize); the rest, cut at
 * the first NUL, is the spec. A parsed --fn spec is formatted back (cact_act_format)
 * and must parse again to the same function: the canonical spelling is accepted.
 * Build: make fuzz; run: tools/fuzz.sh [SECONDS]. Seeds: tests/fuzz/act_parse/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "act.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cact_err err;
    char *spec;

    if (size < 1 || size > 4096)
        return 0;
    spec = malloc(size);
    if (!spec)
        return 0;
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';
    if (data[0] & 1) {
        struct cact_act_chain chain;
        memset(&chain, 0, sizeof chain);
        if (cact_act_parse_normalize(spec, &chain, &err) == CACT_OK) {
            for (int c = 0; c < CACT_ACT_CHANNELS; c++)
                if (chain.std[c] == 0.0f) /* promised: a zero std is refused */
                    abort();
        }
    } else {
        struct cact_act_fn fn, again;
        char canon[512];
        if (cact_act_parse(spec, &fn, &err) == CACT_OK) {
            cact_act_format(&fn, canon, sizeof canon);
            if (cact_act_parse(canon, &again, &err) != CACT_OK || again.desc != fn.desc)
                abort(); /* the canonical spelling must parse back to the same row */
        }
    }
    free(spec);
    return 0;
}
