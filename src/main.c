/* main.c - the cifar-act command line (placeholder until the CLI lands). */
#include <stdio.h>

int main(void)
{
    fputs("cifar-act: not built yet\n", stderr);
    return 1;
}
