/* msg.c - every message the CLI prints goes through here: one shape, format-checked. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    cli_progress_end();
    fputs("cifar-act: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("cifar-act: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see cifar-act --help)\n", stderr);
    return 2;
}

int cli_stdout_done(int rc)
{
    /* fflush reports the error of the last write; ferror any earlier one, whose errno
     * is still there if nothing failed since (so keep it: "No space left on device"). */
    if (!ferror(stdout))
        errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output: %s",
                  errno ? strerror(errno) : "write error");
        return rc ? rc : 1;
    }
    return rc;
}

const char *cli_plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}
