/* main.c - the cifar-act command line: the only place that parses argv, prints, or
 * exits. Everything else is library code in src/ that returns a status and a message.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act.h"
#include "ca.h"
#include "fetch.h"
#include "pyfetch.h"
#include "grid.h"
#include "pngw.h"
#include "run.h"

static const char cli_usage_a[] =
"Usage: cifar-act [OPTION]...\n"
"Load CIFAR-10 in batches (like torch.utils.data.DataLoader), apply PyTorch activation\n"
"functions after ToTensor, and write every input and output batch as a PNG grid:\n"
"the pixels torchvision's save_image (or TensorBoard's add_images) would show.\n"
"\n"
"Examples:\n"
"  cifar-act --fn sigmoid                 sigmoid on the test set; see out/*.png\n"
"  cifar-act --data ../shared --fn relu   use a dataset you already have\n"
"  cifar-act --fn 'leaky_relu(negative_slope=0.2)' --fn tanh   a chain, like nn.Sequential\n"
"  cifar-act --fn 'gelu(approximate=tanh)' --normalize 0.5,0.5 --max-batches 1\n"
"  cifar-act --fn softmax --style tensorboard --layout pairs --scale 3\n"
"  cifar-act --list                       every function, its parameters and formula\n"
"  cifar-act --download-only              fetch and verify the dataset, nothing else\n"
"\n"
"Activation:\n"
"  -f, --fn SPEC          function, torch name or class with keyword parameters in\n"
"                         PyTorch's spelling: relu, LeakyReLU, 'elu(alpha=0.5)',\n"
"                         'hardtanh(min_val=-2, max_val=2)'. Repeat to chain, in order.\n"
"                         Default: sigmoid.\n"
"      --list             list the functions, parameters, defaults and formulas\n"
"      --normalize M,S    transforms.Normalize after ToTensor: one mean and std for all\n"
"                         channels, or M1,M2,M3,S1,S2,S3\n"
"      --inplace          kernels overwrite the batch buffer (inplace=True); the input\n"
"                         grid is drawn first, so outputs are the same\n"
"      --no-lut           run the float kernels on every value instead of the exact\n"
"                         per-channel lookup table (slower; same pixels)\n"
"\n"
"Data:\n"
"  -d, --data DIR         directory holding cifar-10-batches-bin/ (default: $CIFAR_ACT_DATA,\n"
"                         else ./data); downloaded there when missing\n"
"      --dataset NAME     cifar10 (default) or cifar100\n"
"      --split NAME       test (default) or train\n"
"      --label KIND       CIFAR-100 labels: fine (default) or coarse\n"
"  -b, --batch N          images per batch (default 64)\n"
"      --drop-last        skip a last batch smaller than N\n"
"      --shuffle          shuffle the order (Fisher-Yates with splitmix64: the same\n"
"                         --seed gives the same order everywhere; not torch's order)\n"
"      --seed S           shuffle seed (default 0)\n"
"  -n, --max-batches K    stop after K batches\n"
"\n"
"Download (when the data is missing or fails its MD5 check):\n"
"      --download-only    fetch, verify and extract, then exit\n"
"      --url URL          mirror or file:// URL instead of the official one\n"
"      --sha256 HEX       expected archive SHA-256 for --url (members are always checked)\n"
"      --archive FILE     extract this local .tar.gz instead of downloading\n"
"      --offline          never use the network; say what file to put where\n"
"      --keep-archive     keep the verified .tar.gz beside the data\n"
"      --no-verify        use the files under --data as they are: no MD5 check, no\n"
"                         download (for your own files in the CIFAR binary format)\n"
"  Proxies: libcurl honours http_proxy, https_proxy and no_proxy.\n"
"\n"
"Output:\n"
"  -o, --out DIR          output directory, created if missing (default ./out)\n"
"      --style NAME       torchvision (default): save_image(nrow=8, padding=2), rounded;\n"
"                         tensorboard: add_images, 8 columns, no padding, truncated\n"
"      --nrow N           images per grid row (default 8)\n"
"      --padding N        torchvision padding in pixels (default 2)\n"
"      --pad-value V      torchvision pad value in [0,1] (default 0)\n"
"      --scale K          enlarge the grids K times, nearest neighbour (default 1)\n"
"      --layout NAME      separate (default): input_KKKK.png and output_KKKK.png;\n"
"                         pairs: compare_KKKK.png, input left, output right\n";

static const char cli_usage_b[] =
"\n"
"  -j, --jobs N           worker threads (default: online CPUs); output is identical\n"
"  -q, --quiet            no progress line and no summary\n"
"  -h, --help             this help\n"
"  -V, --version          version\n"
"\n"
"Also written: OUT/manifest.json (settings, and per batch its files, image indices,\n"
"labels, class names, min/mean/max). Exit status: 0 ok, 1 failure, 2 usage error.\n"
"Dataset: A. Krizhevsky, Learning Multiple Layers of Features from Tiny Images, 2009.\n";

enum {
    OPT_LIST = 256, OPT_NORMALIZE, OPT_INPLACE, OPT_NO_LUT, OPT_DATASET, OPT_SPLIT,
    OPT_LABEL, OPT_DROP_LAST, OPT_SHUFFLE, OPT_SEED, OPT_DOWNLOAD_ONLY, OPT_URL,
    OPT_SHA256, OPT_ARCHIVE, OPT_OFFLINE, OPT_KEEP_ARCHIVE, OPT_NO_VERIFY, OPT_STYLE,
    OPT_NROW, OPT_PADDING, OPT_PAD_VALUE, OPT_SCALE, OPT_LAYOUT, OPT_PNG_LEVEL
};

static const struct option cli_options[] = {
    {"fn", required_argument, NULL, 'f'},
    {"list", no_argument, NULL, OPT_LIST},
    {"normalize", required_argument, NULL, OPT_NORMALIZE},
    {"inplace", no_argument, NULL, OPT_INPLACE},
    {"no-lut", no_argument, NULL, OPT_NO_LUT},
    {"data", required_argument, NULL, 'd'},
    {"dataset", required_argument, NULL, OPT_DATASET},
    {"split", required_argument, NULL, OPT_SPLIT},
    {"label", required_argument, NULL, OPT_LABEL},
    {"batch", required_argument, NULL, 'b'},
    {"drop-last", no_argument, NULL, OPT_DROP_LAST},
    {"shuffle", no_argument, NULL, OPT_SHUFFLE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"max-batches", required_argument, NULL, 'n'},
    {"download-only", no_argument, NULL, OPT_DOWNLOAD_ONLY},
    {"url", required_argument, NULL, OPT_URL},
    {"sha256", required_argument, NULL, OPT_SHA256},
    {"archive", required_argument, NULL, OPT_ARCHIVE},
    {"offline", no_argument, NULL, OPT_OFFLINE},
    {"keep-archive", no_argument, NULL, OPT_KEEP_ARCHIVE},
    {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
    {"out", required_argument, NULL, 'o'},
    {"style", required_argument, NULL, OPT_STYLE},
    {"nrow", required_argument, NULL, OPT_NROW},
    {"padding", required_argument, NULL, OPT_PADDING},
    {"pad-value", required_argument, NULL, OPT_PAD_VALUE},
    {"scale", required_argument, NULL, OPT_SCALE},
    {"layout", required_argument, NULL, OPT_LAYOUT},
    {"png-level", required_argument, NULL, OPT_PNG_LEVEL},
    {"jobs", required_argument, NULL, 'j'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0}
};

/* ---- Messages ---- */

static void cli_error(const char *msg)
{
    fprintf(stderr, "cifar-act: %s\n", msg);
}

static int cli_usage_error(const char *fmt, const char *opt, const char *arg)
{
    fprintf(stderr, "cifar-act: ");
    fprintf(stderr, fmt, opt, arg);
    fprintf(stderr, " (see cifar-act --help)\n");
    return 2;
}

/* ---- Option values ---- */

static int cli_uint(const char *opt, const char *arg, unsigned long long min,
                    unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (arg[0] == '-' || arg[0] == '\0')
        goto bad;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || *end || v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    fprintf(stderr, "cifar-act: %s: '%s' is not a whole number in %llu..%llu "
                    "(see cifar-act --help)\n", opt, arg, min, max);
    return 2;
}

static int cli_int(const char *opt, const char *arg, int min, int max, int *out)
{
    unsigned long long v;
    int rc = cli_uint(opt, arg, (unsigned long long)min, (unsigned long long)max, &v);
    if (rc == 0)
        *out = (int)v;
    return rc;
}

/* Match arg against a NULL-terminated list of names; index or -1 after an error. */
static int cli_choice(const char *opt, const char *arg, const char *const *names)
{
    char list[256] = "";
    for (int i = 0; names[i]; i++) {
        if (strcmp(arg, names[i]) == 0)
            return i;
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    fprintf(stderr, "cifar-act: %s: unknown value '%s'; choose one of: %s\n", opt, arg, list);
    return -1;
}

/* ---- --list ---- */

static void cli_list(void)
{
    char spec[256];
    printf("%-14s %-12s %-44s %s\n", "NAME", "TORCH.NN", "PARAMETERS (defaults)", "FORMULA");
    for (size_t i = 0; i < cact_act_count(); i++) {
        const struct cact_act_desc *d = cact_act_at(i);
        struct cact_act_fn fn;
        struct cact_err e;
        const char *params = "";
        /* The canonical spelling with defaults shows every parameter's name. */
        if (cact_act_parse(d->name, &fn, &e) == CACT_OK && d->n_params > 0) {
            cact_act_format(&fn, spec, sizeof spec);
            params = strchr(spec, '(') ? strchr(spec, '(') : "";
        } else if (d->n_params > 0) {
            /* Rows with required parameters (threshold) show their names. */
            size_t len = 0;
            spec[0] = '\0';
            for (int j = 0; j < d->n_params && len < sizeof spec; j++)
                len += (size_t)snprintf(spec + len, sizeof spec - len, "%s%s=?",
                                        j ? ", " : "(", d->params[j].name);
            if (len < sizeof spec - 1)
                strcat(spec, ")");
            params = spec;
        }
        printf("%-14s %-12s %-44s %s\n", d->name, d->torch_module, params, d->formula);
    }
    printf("\nsoftmax, log_softmax and softmin run over the channel dimension (dim=1), as\n"
           "nn.Softmax(dim=1) does for a 4-D batch; the others are element-wise.\n");
}

/* ---- Progress ---- */

static void cli_run_progress(const struct cact_run_progress *p, void *ctx)
{
    static double last = -1;
    (void)ctx;
    /* A terminal needs no more than ten updates a second; the last one always shows. */
    if (p->batches_done != p->batches_total && last >= 0 && p->seconds - last < 0.1)
        return;
    last = p->seconds;
    double rate = p->seconds > 0 ? (double)p->images_done / p->seconds : 0;
    fprintf(stderr, "\rbatch %zu/%zu  %zu images  %.0f images/s ", p->batches_done,
            p->batches_total, p->images_done, rate);
    if (p->batches_done == p->batches_total)
        fputc('\n', stderr);
}

/* Set once a progress line is on the terminal, so the next message starts a line. */
static int cli_fetch_line;

static void cli_fetch_progress(const struct cact_fetch_progress *p, void *ctx)
{
    (void)ctx;
    cli_fetch_line = 1;
    double mb = (double)p->done / 1e6;
    if (p->total)
        fprintf(stderr, "\rdownload %.1f/%.1f MB %3.0f%%  %.2f MB/s  ETA %s%.0f s ", mb,
                (double)p->total / 1e6, 100.0 * (double)p->done / (double)p->total,
                p->rate / 1e6, p->eta < 0 ? "?" : "", p->eta < 0 ? 0.0 : p->eta);
    else
        fprintf(stderr, "\rdownload %.1f MB  %.2f MB/s ", mb, p->rate / 1e6);
}

/* The fetch is about to wait (a retry, another process's lock): say so, on a line of
 * its own. */
static void cli_fetch_notice(const char *msg, void *ctx)
{
    (void)ctx;
    if (cli_fetch_line)
        fputc('\n', stderr);
    cli_fetch_line = 0;
    fprintf(stderr, "cifar-act: %s\n", msg);
}

static volatile sig_atomic_t cli_cancel;

static void cli_on_signal(int sig)
{
    (void)sig;
    cli_cancel = 1;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    static const char *const datasets[] = {"cifar10", "cifar100", NULL};
    static const char *const splits[] = {"test", "train", NULL};
    static const char *const labels[] = {"fine", "coarse", NULL};
    static const char *const styles[] = {"torchvision", "tensorboard", NULL};
    static const char *const layouts[] = {"separate", "pairs", NULL};
    struct cact_run_opts ro;
    struct cact_fetch_opts fo;
    struct cact_run_stats stats;
    struct cact_err err;
    int list = 0, quiet = 0, download_only = 0, no_verify = 0, opt, rc;
    const char *env_data = getenv("CIFAR_ACT_DATA");
    unsigned long long u;
    char *end;

    cact_run_opts_default(&ro);
    cact_fetch_opts_default(&fo);
    cact_err_clear(&err);
    if (env_data && *env_data)
        ro.data_dir = env_data;

    opterr = 0; /* our own one-line messages, below */
    while ((opt = getopt_long(argc, argv, ":f:d:b:n:o:j:qhV", cli_options, NULL)) != -1) {
        int i;
        switch (opt) {
        case 'f':
            if (ro.chain.n == CACT_ACT_MAX_CHAIN)
                return cli_usage_error("%s: at most 16 functions in a chain%s", "--fn", "");
            if (cact_act_parse(optarg, &ro.chain.fn[ro.chain.n], &err) != CACT_OK) {
                fprintf(stderr, "cifar-act: --fn: %s\n", err.msg);
                return 2;
            }
            ro.chain.n++;
            break;
        case OPT_LIST: list = 1; break;
        case OPT_NORMALIZE:
            if (cact_act_parse_normalize(optarg, &ro.chain, &err) != CACT_OK) {
                fprintf(stderr, "cifar-act: --normalize: %s\n", err.msg);
                return 2;
            }
            break;
        case OPT_INPLACE: ro.inplace = 1; break;
        case OPT_NO_LUT: ro.force_float = 1; break;
        case 'd': ro.data_dir = optarg; break;
        case OPT_DATASET:
            if ((i = cli_choice("--dataset", optarg, datasets)) < 0) return 2;
            ro.kind = i ? CACT_CIFAR_100 : CACT_CIFAR_10;
            break;
        case OPT_SPLIT:
            if ((i = cli_choice("--split", optarg, splits)) < 0) return 2;
            ro.split = i ? CACT_CIFAR_TRAIN : CACT_CIFAR_TEST;
            break;
        case OPT_LABEL:
            if ((i = cli_choice("--label", optarg, labels)) < 0) return 2;
            ro.label = i ? CACT_CIFAR_LABEL_COARSE : CACT_CIFAR_LABEL_FINE;
            break;
        case 'b':
            if ((rc = cli_uint("--batch", optarg, 1, 1000000, &u))) return rc;
            ro.batch = (size_t)u;
            break;
        case OPT_DROP_LAST: ro.drop_last = 1; break;
        case OPT_SHUFFLE: ro.shuffle = 1; break;
        case OPT_SEED:
            if ((rc = cli_uint("--seed", optarg, 0, UINT64_MAX, &u))) return rc;
            ro.seed = (uint64_t)u;
            break;
        case 'n':
            if ((rc = cli_uint("--max-batches", optarg, 1, SIZE_MAX, &u))) return rc;
            ro.max_batches = (size_t)u;
            break;
        case OPT_DOWNLOAD_ONLY: download_only = 1; break;
        case OPT_URL: fo.url = optarg; break;
        case OPT_SHA256: fo.sha256 = optarg; break;
        case OPT_ARCHIVE: fo.archive = optarg; break;
        case OPT_OFFLINE: fo.offline = 1; break;
        case OPT_KEEP_ARCHIVE: fo.keep_archive = 1; break;
        case OPT_NO_VERIFY: no_verify = 1; break;
        case 'o': ro.out_dir = optarg; break;
        case OPT_STYLE:
            if ((i = cli_choice("--style", optarg, styles)) < 0) return 2;
            ro.grid.style = i ? CACT_GRID_TENSORBOARD : CACT_GRID_TORCHVISION;
            break;
        case OPT_NROW:
            if ((rc = cli_int("--nrow", optarg, 1, 4096, &ro.grid.nrow))) return rc;
            break;
        case OPT_PADDING:
            if ((rc = cli_int("--padding", optarg, 0, 1024, &ro.grid.padding))) return rc;
            break;
        case OPT_PAD_VALUE:
            errno = 0;
            ro.grid.pad_value = strtof(optarg, &end);
            if (errno || end == optarg || *end || !(ro.grid.pad_value >= 0.0f) ||
                ro.grid.pad_value > 1.0f)
                return cli_usage_error("%s: '%s' is not a number in [0, 1]", "--pad-value",
                                       optarg);
            break;
        case OPT_SCALE:
            if ((rc = cli_int("--scale", optarg, 1, 64, &ro.grid.scale))) return rc;
            break;
        case OPT_LAYOUT:
            if ((i = cli_choice("--layout", optarg, layouts)) < 0) return 2;
            ro.layout = i ? CACT_RUN_LAYOUT_PAIRS : CACT_RUN_LAYOUT_SEPARATE;
            break;
        case OPT_PNG_LEVEL:
            if ((rc = cli_int("--png-level", optarg, 0, 9, &ro.png_level))) return rc;
            break;
        case 'j':
            if ((rc = cli_int("--jobs", optarg, 1, 1024, &ro.jobs))) return rc;
            break;
        case 'q': quiet = 1; break;
        case 'h':
            printf("%s      --png-level N      0 stored; 1-5 fast (ISA-L; sigmoid grids within 0.2%% of\n"
                   "                         PIL's size); 6-9 zlib, up to 1%% smaller, 20-80x slower\n"
                   "                         (default %d)\n%s",
                   cli_usage_a, CACT_PNGW_DEFAULT_LEVEL, cli_usage_b);
            return 0;
        case 'V': printf("cifar-act %s\n", CACT_VERSION); return 0;
        case ':':
            fprintf(stderr, "cifar-act: %s needs a value (see cifar-act --help)\n",
                    argv[optind - 1]);
            return 2;
        default: {
            const char *arg = argv[optind - 1];
            if (strncmp(arg, "--", 2) != 0)
                fprintf(stderr, "cifar-act: unknown option '-%c' (see cifar-act --help)\n",
                        optopt);
            else if (optopt != 0) /* a known long option given a value it does not take */
                fprintf(stderr, "cifar-act: %.*s takes no value (see cifar-act --help)\n",
                        (int)strcspn(arg, "="), arg);
            else
                fprintf(stderr, "cifar-act: unknown option '%s' (see cifar-act --help)\n", arg);
            return 2;
        }
        }
    }
    if (optind < argc)
        return cli_usage_error("%s'%s': cifar-act takes options only", "unexpected argument ",
                               argv[optind]);
    if (list) {
        cli_list();
        return 0;
    }
    if (ro.chain.n == 0) {
        cact_act_parse("sigmoid", &ro.chain.fn[0], &err);
        ro.chain.n = 1;
    }
    if (ro.kind == CACT_CIFAR_10 && ro.label == CACT_CIFAR_LABEL_COARSE)
        return cli_usage_error("%s: coarse labels exist only in CIFAR-100%s", "--label", "");
    if (no_verify && (download_only || fo.url || fo.archive || fo.sha256))
        return cli_usage_error("%s cannot be combined with download options%s", "--no-verify",
                               "");

    /* Fetch before the job, but after checking where the job will write. */
    if (!download_only && cact_mkdirs(ro.out_dir, &err) != CACT_OK) {
        fprintf(stderr, "cifar-act: --out: %s\n", err.msg);
        return 1;
    }
    /* Ctrl-C: finish the file being written (or keep the download's .part) and stop. */
    signal(SIGINT, cli_on_signal);
    signal(SIGTERM, cli_on_signal);
    fo.cancel = &cli_cancel;
    ro.cancel = &cli_cancel;
    if (!no_verify) {
        fo.data_dir = ro.data_dir;
        fo.kind = ro.kind;
        fo.split = ro.split;
        if (!quiet && isatty(STDERR_FILENO))
            fo.progress = cli_fetch_progress;
        if (!quiet)
            fo.notice = cli_fetch_notice;
        /* pickle helper: the binary version, or torchvision's Python one if that is what
         * is there (or --archive is torchvision's archive); the manifest says which. */
        enum cact_cifar_format used;
        enum cact_status fst = cact_pyfetch_ensure(&fo, &used, &err);
        if (cli_fetch_line)
            fputc('\n', stderr);
        if (fst != CACT_OK) {
            cli_error(err.msg);
            return err.code == CACT_ERR_INTERRUPTED ? 130 : cact_exit_code(err.code);
        }
        if (download_only) {
            if (!quiet)
                printf("cifar-act: dataset ready under %s\n", ro.data_dir);
            return 0;
        }
        ro.data_verified = 1;
    }

    if (!quiet && isatty(STDERR_FILENO))
        ro.progress = cli_run_progress;
    if (cact_run_job(&ro, &stats, &err) != CACT_OK) {
        if (ro.progress)
            fputc('\n', stderr);
        cli_error(err.msg);
        return err.code == CACT_ERR_INTERRUPTED ? 130 : cact_exit_code(err.code);
    }
    if (!quiet)
        printf("cifar-act: %zu batches, %zu images -> %zu PNG files (%.1f MB) in %s/ "
               "in %.2f s (%.0f images/s)\n",
               stats.batches, stats.images, stats.files, (double)stats.png_bytes / 1e6,
               ro.out_dir, stats.seconds,
               stats.seconds > 0 ? (double)stats.images / stats.seconds : 0.0);
    return 0;
}
