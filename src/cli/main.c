/* main.c - cifar-act's entry point: parse, then list / help / fetch / run.
 * See cli.h for how the command line is split into files. */
#include "cli.h"

#include <stdio.h>

#include "ca.h"

int main(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, &a);
    if (rc != 0)
        return rc;
    switch (a.action) {
    case CLI_HELP: return cli_help();
    case CLI_LIST: return cli_list(a.list_long);
    case CLI_VERSION:
        /* The GNU coding standards' --version: name and version, copyright, license. */
        printf("cifar-act %s\n"
               "Copyright (C) 2026 the cifar-act developers\n"
               "License MIT <https://spdx.org/licenses/MIT.html>.\n"
               "This is free software: you are free to change and redistribute it.\n"
               "There is NO WARRANTY, to the extent permitted by law.\n",
               CACT_VERSION);
        return cli_stdout_done(0);
    case CLI_TENSOR: return cli_stdout_done(cli_tensor(&a));
    case CLI_MERGE: /* no dataset: the parts hold everything */
        cli_signals_install();
        return cli_stdout_done(cli_merge(&a));
    case CLI_RUN:
    case CLI_DOWNLOAD_ONLY:
        break;
    }
    cli_signals_install();
    if ((rc = cli_fetch(&a)) != 0 || a.action == CLI_DOWNLOAD_ONLY)
        return cli_stdout_done(rc);
    return cli_stdout_done(a.gallery ? cli_gallery(&a) : cli_job(&a));
}
