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

/* The library says which situation it met (enum cact_hint); only the CLI knows the
 * options that get out of it. Indexed by the hint; NULL: nothing to add. */
static const char *const cli_hints[CACT_HINT_COUNT] = {
    [CACT_HINT_NONE] = NULL,
    [CACT_HINT_DATA_DIR] = "--data must name the directory that holds it; "
                           "'cifar-act --download-only --data DIR' fetches it",
    [CACT_HINT_OFFLINE] = "or use --archive FILE",
    [CACT_HINT_NO_NETWORK] = "without a network, give --archive FILE (the downloaded "
                             ".tar.gz) or --data DIR (a directory that already holds the "
                             "dataset), with --offline to never try the network",
};

void cli_fail(const struct cact_err *err)
{
    const char *hint = (unsigned)err->hint < CACT_HINT_COUNT ? cli_hints[err->hint] : NULL;
    if (hint)
        cli_error("%s; %s", err->msg, hint);
    else
        cli_error("%s", err->msg);
}

const char *cli_plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}
