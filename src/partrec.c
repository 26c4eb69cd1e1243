/* partrec.c - the .part's source record; see partrec.h. */
#include "partrec.h"

#include <stdio.h>
#include <string.h>

#include "ca.h"

void cact_partrec_write(const char *path, const char *url, const char *validator)
{
    char buf[CACT_PARTREC_MAX];
    int n = snprintf(buf, sizeof buf, "%s\n%s\n", url, validator);
    if (n > 0 && (size_t)n < sizeof buf)
        (void)cact_write_atomic(path, buf, (size_t)n, NULL);
}

int cact_partrec_read(const char *path, char *url, size_t usize, char *validator,
                      size_t vsize)
{
    char buf[CACT_PARTREC_MAX];
    FILE *f = fopen(path, "r");
    size_t n;
    char *nl, *nl2;

    if (!f)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    nl = strchr(buf, '\n');
    nl2 = nl ? strchr(nl + 1, '\n') : NULL;
    if (!nl || !nl2)
        return 0;
    *nl = *nl2 = '\0';
    snprintf(url, usize, "%s", buf);
    snprintf(validator, vsize, "%s", nl + 1);
    return 1;
}

const char *cact_partrec_validator(const char *etag, const char *last_modified)
{
    if (etag[0] && strncmp(etag, "W/", 2) != 0)
        return etag;
    if (last_modified[0])
        return last_modified;
    return "";
}
