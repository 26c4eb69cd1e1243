/* args.c - argv to library options: one table row per option, --help and --list.
 *
 * To add an option: a row in cli_opts (long name, short letter or 0, whether it takes
 * a value, its setter) and its line in cli_help_text. The getopt_long table and the
 * short-option string are built from cli_opts, so a row is all the parser needs.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act.h"
#include "act_kernels.h"
#include "ca.h"
#include "cifar.h"
#include "grid.h"
#include "part.h" /* CACT_PART_MAX_SHARDS */
#include "pngw.h"

#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x)

/* In sections: C11 compilers need only take string literals up to 4095 bytes. */
static const char *const cli_help_text[] = {
"Usage: cifar-act [OPTION]...\n"
"Load CIFAR-10 in batches (like torch.utils.data.DataLoader), apply PyTorch\n"
"activation functions after ToTensor, and write every input and output batch\n"
"as a PNG grid: the pixels torchvision's save_image (or TensorBoard's\n"
"add_images) shows.\n"
"\n"
"Examples:\n"
"  cifar-act --fn sigmoid                 sigmoid on the test set; see out/*.png\n"
"  cifar-act --data ../shared --fn relu   use a dataset you already have\n"
"  cifar-act --fn 'leaky_relu(negative_slope=0.2)' --fn tanh\n"
"                                         a chain, like nn.Sequential\n"
"  cifar-act --fn 'gelu(approximate=tanh)' --normalize 0.5,0.5 --max-batches 1\n"
"  cifar-act --fn softmax --style tensorboard --layout pairs --scale 3\n"
"  cifar-act --fn log_softmax --grid-normalize  values below 0, not black\n"
"  cifar-act --tensor '[[1,-0.5],[-1,3]]' --fn relu  the lesson's first demo\n"
"  cifar-act --list                       every function, parameters and formula\n"
"  cifar-act --download-only              fetch and verify the dataset, no more\n"
,
"\n"
"Activation:\n"
"  -f, --fn SPEC          function: torch name or class, keyword parameters in\n"
"                         PyTorch's spelling: relu, LeakyReLU, 'elu(alpha=0.5)',\n"
"                         'hardtanh(min_val=-2, max_val=2)'. Repeat to chain, in\n"
"                         order (at most " CLI_STR(CACT_ACT_MAX_CHAIN) "). Default: sigmoid.\n"
"      --list             list the functions, parameters, defaults and formulas\n"
"      --long             with --list: one wide row per function (>80 columns)\n"
"      --normalize M,S    transforms.Normalize after ToTensor: one mean and\n"
"                         std for all channels, or M1,M2,M3,S1,S2,S3\n"
"      --inplace          kernels overwrite the batch buffer (inplace=True); the\n"
"                         input grid is drawn first, so outputs are the same\n"
"      --tensor LIST      the lesson's demo, no dataset: nested lists up to 4-D,\n"
"                         as torch.tensor(LIST, dtype=float32); a 2-D H x W is\n"
"                         reshaped to (1, 1, H, W), the lesson's (-1, 1, 2, 2);\n"
"                         other shapes kept. Prints shape, output and the input\n"
"                         after the call (overwritten with --inplace) as PyTorch\n"
"                         prints them; with --quiet only the output\n"
"      --no-lut           run the float kernels on every value instead of the\n"
"                         exact per-channel lookup table (slower; same pixels)\n"
,
"\n"
"Data:\n"
"  -d, --data DIR         directory holding cifar-10-batches-bin/ (default:\n"
"                         $CIFAR_ACT_DATA, else ./data); downloaded there\n"
"                         when missing; or holding torchvision's\n"
"                         cifar-10-batches-py/ (if no binary one)\n"
"      --dataset NAME     cifar10 (default) or cifar100\n"
"      --split NAME       test (default) or train\n"
"      --label KIND       CIFAR-100 labels: fine (default) or coarse\n"
"  -b, --batch N          images per batch (default 64)\n"
"      --drop-last        skip a last batch smaller than N\n"
"      --shuffle          shuffle the order (Fisher-Yates, splitmix64: the same\n"
"                         --seed gives the same order everywhere; not torch's)\n"
"      --seed S           shuffle seed (default 0)\n"
"  -n, --max-batches K    stop after K batches\n"
,
"\n"
"Download (when the data is missing or fails its MD5 check):\n"
"      --download-only    fetch, verify and extract, then exit\n"
"      --url URL          mirror or file:// URL instead of the official one\n"
"      --sha256 HEX       expected archive SHA-256 for --url (the members' MD5s\n"
"                         are always checked)\n"
"      --archive FILE     extract this local .tar.gz instead of downloading\n"
"                         (torchvision's cifar-10-python.tar.gz too: its MD5s)\n"
"      --offline          never use the network; say what file to put where\n"
"      --keep-archive     keep the verified .tar.gz beside the data\n"
"      --no-verify        use the files under --data as they are: no MD5 check,\n"
"                         no download (your files in the CIFAR binary format)\n"
"  Proxies: libcurl honours http_proxy, https_proxy and no_proxy.\n"
,
"\n"
"Output:\n"
"  -o, --out DIR          output directory, created if missing (default ./out)\n"
"      --logdir DIR       also write a TensorBoard event file into DIR: images\n"
"                         input and output (add_images' grids), histograms\n"
"                         input/values and output/values, the settings as\n"
"                         text. Without --out, only the event file. View it:\n"
"                         tensorboard --logdir DIR\n"
"      --style NAME       torchvision (default): save_image(nrow=8,\n"
"                         padding=2), rounded; tensorboard: add_images,\n"
"                         8 columns, no padding, truncated\n"
"      --nrow N           images per grid row (default 8)\n"
"      --padding N        torchvision padding in pixels (default 2)\n"
"      --pad-value V      torchvision pad value in [0,1] (default 0)\n"
"      --scale K          enlarge the grids K times, nearest neighbour\n"
"                         (default 1)\n"
"      --layout NAME      separate (default): input_KKKK.png, output_KKKK.png;\n"
"                         pairs: compare_KKKK.png, input left, output right\n"
"      --grid-normalize   make_grid(normalize=True): scale each grid's tensor\n"
"                         (input and output alike) by its min and max to [0,1]\n"
"      --value-range LO,HI  with --grid-normalize: clamp to [LO,HI], scale that\n"
"      --scale-each       with --grid-normalize: each image by its own min, max.\n"
"                         With --style tensorboard they apply before add_images'\n"
"                         x*255 (add_images has no such options)\n"
"      --png-level N      0 stored; 1-5 fast (ISA-L; sigmoid grids within\n"
"                         0.2% of PIL's size); 6-9 zlib, up to 1% smaller,\n"
"                         20-80x slower (default " CLI_STR(CACT_PNGW_DEFAULT_LEVEL) ")\n"
"      --html, --no-html  write (default) or skip OUT/index.html, a viewer of\n"
"                         every step that works from file://\n"
"      --html-pixels, --no-html-pixels\n"
"                         write (default) or skip OUT/html/px_*.js, the input\n"
"                         bytes behind the page's pixel values under the\n"
"                         cursor (41 MB in 20 files for the test set)\n"
"      --gallery [NAMES]  instead of the job: one batch through many functions,\n"
"                         as OUT/gallery.{png,html,json} and manifest.json.\n"
"                         NAMES: specs separated by commas, e.g.\n"
"                         'relu,sigmoid,gelu(approximate=tanh)'; none: every\n"
"                         element-wise function with its defaults\n"
"      --gallery-batch K  the batch the gallery shows (default 0)\n"
,
"\n"
"Many runs (a job array; see the README):\n"
"      --shard K/N        do only the batches k with k mod N == K, 0 <= K < N\n"
"                         <= 1024: round robin, so every shard gets as many\n"
"                         batches as the next (give or take one) and a\n"
"                         costly stretch of the data is spread over all.\n"
"                         Names and TensorBoard steps keep k. Run the N\n"
"                         shards in any order, at once or not, into one --out\n"
"                         (and --logdir): each adds its files and its\n"
"                         OUT/manifest.part-KKKK.json; the last to finish\n"
"                         writes OUT/manifest.json, index.html and the pixel\n"
"                         files, as one run would have (and one event file)\n"
"      --shard auto       K and N from a Slurm job array (contiguous ids):\n"
"                         SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN and\n"
"                         SLURM_ARRAY_TASK_COUNT\n"
"      --shard auto/N     K from Slurm, else from JOB_COMPLETION_INDEX (a\n"
"                         Kubernetes Indexed Job); N given\n"
"      --merge DIR        no job: merge DIR's parts now; says which shards'\n"
"                         parts are missing\n"
"\n"
"  -j, --jobs N           worker threads (default: online CPUs); the output\n"
"                         is the same for any N\n"
"  -q, --quiet            no progress bar and no summary\n"
"  -h, --help             this help\n"
"  -V, --version          version, copyright and license\n"
"\n"
"Also written: OUT/manifest.json (settings, and per batch its files, image\n"
"indices, labels, class names, min/mean/max, what the grids clipped). A run\n"
"ends with what each clipped:\n"
"\"output: 41.3% of values below 0 shown as 0, 0% above 1\".\n"
"And OUT/index.html: open it in a browser (file:// works) to step through it.\n"
"Exit status: 0 ok, 1 failure, 2 usage error, 130 interrupted (SIGINT),\n"
"143 terminated (SIGTERM).\n"
"Dataset: A. Krizhevsky, Learning Multiple Layers of Features from Tiny Images,\n"
"2009. Manual: man cifar-act.\n"
"\n"
"Report bugs to the cifar-act issue tracker; say what you ran and what\n"
"cifar-act --version prints.\n",
NULL};

/* ---- Option values ---- */

/* A whole number in min..max. Only digits: strtoull would accept leading spaces and
 * a sign (' -1' would become 2^64 - 1). */
static int cli_uint(const char *opt, const char *arg, unsigned long long min,
                    unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;
    if (!isdigit((unsigned char)arg[0]))
        goto bad;
    errno = 0;
    v = strtoull(arg, &end, 10);
    if (errno || *end || v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    return cli_usage("%s: '%s' is not a whole number in %llu..%llu", opt, arg, min, max);
}

static int cli_int(const char *opt, const char *arg, int min, int max, int *out)
{
    unsigned long long v;
    int rc = cli_uint(opt, arg, (unsigned long long)min, (unsigned long long)max, &v);
    if (rc == 0)
        *out = (int)v;
    return rc;
}

/* arg as one of an enum's names (the table beside the enum); -1 after a usage error
 * that lists them. */
static int cli_choice(const char *opt, const char *arg, const char *const *names, int n)
{
    char list[256] = "";
    int i = cact_name_find(names, n, arg);
    if (i >= 0)
        return i;
    for (i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    cli_usage("%s: unknown value '%s'; choose one of: %s", opt, arg, list);
    return -1;
}

/* ---- Setters: one per option, (args, option name, value or NULL) -> 0 or 2 ---- */

#define SETTER(fn) static int fn(struct cli_args *a, const char *opt, const char *arg)

SETTER(set_fn)
{
    struct cact_act_chain *c = &a->run.chain;
    struct cact_err err;
    if (c->n == CACT_ACT_MAX_CHAIN)
        return cli_usage("%s: at most %d functions in a chain", opt, CACT_ACT_MAX_CHAIN);
    if (cact_act_parse(arg, &c->fn[c->n], &err) != CACT_OK)
        return cli_usage("%s: %s", opt, err.msg);
    c->n++;
    return 0;
}

SETTER(set_normalize)
{
    struct cact_err err;
    if (cact_act_parse_normalize(arg, &a->run.chain, &err) != CACT_OK)
        return cli_usage("%s: %s", opt, err.msg);
    return 0;
}

/* Room for the longest name the library creates under a directory option: for --out
 * the sibling staging directory ".BASE.cifar-act-stage.PID.N" (36 bytes more than OUT)
 * and "/html/NAME.tmp.PID.N" in it; for --logdir "/events.out.tfevents.TIME.HOST.PID.N"
 * (HOST up to 64 bytes: 115); for --data "/cifar-10-python.tar.gz.part.source" and the
 * stamps. The library's path buffers are PATH_MAX bytes. */
#define CLI_DIR_RESERVE 128

/* A path the system can take, checked before anything is created: no name in it longer
 * than NAME_MAX, and (as an absolute path, the way the library resolves it) at most
 * PATH_MAX - 1 bytes with `reserve` bytes to spare. Else a usage error naming opt, the
 * limit and the reason; the path itself is abbreviated (it may be 4 KB long). */
static int cli_path(const char *opt, const char *arg, size_t reserve)
{
    size_t len = strlen(arg), abs = len, limit = PATH_MAX - 1 - reserve;
    char cwd[PATH_MAX];

    for (const char *c = arg; *c;) {
        size_t n = strcspn(c, "/");
        if (n > NAME_MAX)
            return cli_usage("%s: a name in the path is %zu bytes, more than NAME_MAX (%d): "
                             "'%.24s...': %s", opt, n, NAME_MAX, c, strerror(ENAMETOOLONG));
        c += n + (c[n] == '/');
    }
    if (arg[0] != '/')
        abs += getcwd(cwd, sizeof cwd) ? strlen(cwd) + 1 : PATH_MAX;
    if (abs > limit)
        return cli_usage("%s: the path is %zu bytes%s ('%.24s...'); the limit is %zu bytes "
                         "(PATH_MAX %d%s): %s", opt, abs,
                         arg[0] != '/' ? " as an absolute path" : "", arg, limit, PATH_MAX,
                         reserve ? ", less room for the names cifar-act creates in it" : "",
                         strerror(ENAMETOOLONG));
    return 0;
}

SETTER(set_data)
{
    if (arg[0] == '\0')
        return cli_usage("%s: empty directory name", opt);
    a->run.data_dir = arg;
    return cli_path(opt, arg, CLI_DIR_RESERVE);
}

SETTER(set_out)
{
    if (arg[0] == '\0')
        return cli_usage("%s: empty directory name", opt);
    a->run.out_dir = arg;
    a->out_given = 1;
    return cli_path(opt, arg, CLI_DIR_RESERVE);
}

SETTER(set_logdir)
{
    if (arg[0] == '\0')
        return cli_usage("%s: empty directory name", opt);
    a->run.logdir = arg;
    return cli_path(opt, arg, CLI_DIR_RESERVE);
}

SETTER(set_dataset)
{
    int i = cli_choice(opt, arg, cact_cifar_kind_names, CACT_CIFAR_KIND_COUNT);
    a->run.kind = (enum cact_cifar_kind)i;
    return i < 0 ? 2 : 0;
}

SETTER(set_split)
{
    int i = cli_choice(opt, arg, cact_cifar_split_names, CACT_CIFAR_SPLIT_COUNT);
    a->run.split = (enum cact_cifar_split)i;
    return i < 0 ? 2 : 0;
}

SETTER(set_label)
{
    int i = cli_choice(opt, arg, cact_cifar_label_names, CACT_CIFAR_LABEL_COUNT);
    a->run.label = (enum cact_cifar_label)i;
    return i < 0 ? 2 : 0;
}

SETTER(set_style)
{
    int i = cli_choice(opt, arg, cact_grid_style_names, CACT_GRID_STYLE_COUNT);
    a->run.grid.style = (enum cact_grid_style)i;
    return i < 0 ? 2 : 0;
}

SETTER(set_layout)
{
    int i = cli_choice(opt, arg, cact_run_layout_names, CACT_RUN_LAYOUT_COUNT);
    a->run.layout = (enum cact_run_layout)i;
    return i < 0 ? 2 : 0;
}

SETTER(set_batch)
{
    unsigned long long u;
    int rc = cli_uint(opt, arg, 1, 1000000, &u);
    a->run.batch = (size_t)u;
    return rc;
}

SETTER(set_seed)
{
    unsigned long long u;
    int rc = cli_uint(opt, arg, 0, UINT64_MAX, &u);
    a->run.seed = (uint64_t)u;
    return rc;
}

SETTER(set_max_batches)
{
    unsigned long long u;
    int rc = cli_uint(opt, arg, 1, SIZE_MAX, &u);
    a->run.max_batches = (size_t)u;
    return rc;
}

SETTER(set_sha256)
{
    size_t n = strspn(arg, "0123456789abcdefABCDEF");
    if (n != 64 || arg[n] != '\0')
        return cli_usage("%s: '%s' is not a SHA-256 digest (64 hexadecimal digits)", opt,
                         arg);
    a->fetch.sha256 = arg;
    return 0;
}

SETTER(set_pad_value)
{
    char *end;
    float v;
    errno = 0;
    v = strtof(arg, &end);
    if (errno || end == arg || *end || isspace((unsigned char)arg[0]) || !(v >= 0.0f) ||
        v > 1.0f)
        return cli_usage("%s: '%s' is not a number in [0, 1]", opt, arg);
    a->run.grid.pad_value = v;
    return 0;
}

/* --value-range LO,HI: two finite numbers, LO < HI (Python floats: doubles). */
SETTER(set_value_range)
{
    char *end, *mid;
    double lo, hi;
    errno = 0;
    lo = strtod(arg, &mid);
    if (mid == arg || *mid != ',' || isspace((unsigned char)arg[0]))
        goto bad;
    hi = strtod(mid + 1, &end);
    if (errno || end == mid + 1 || *end || isspace((unsigned char)mid[1]) || !isfinite(lo) ||
        !isfinite(hi))
        goto bad;
    if (!(lo < hi))
        return cli_usage("%s: '%s': LO must be less than HI", opt, arg);
    a->run.grid.has_value_range = 1;
    a->run.grid.value_range[0] = lo;
    a->run.grid.value_range[1] = hi;
    return 0;
bad:
    return cli_usage("%s: '%s' is not LO,HI (two numbers, e.g. -1,1)", opt, arg);
}

SETTER(set_shard)
{
    (void)opt;
    a->shard_spec = arg;
    return 0;
}

SETTER(set_merge)
{
    if (arg[0] == '\0')
        return cli_usage("%s: empty directory name", opt);
    a->run.out_dir = arg;
    a->action = CLI_MERGE;
    return 0;
}

SETTER(set_tensor)
{
    (void)opt;
    a->tensor = arg;
    a->action = CLI_TENSOR;
    return 0;
}

SETTER(set_nrow) { return cli_int(opt, arg, 1, 4096, &a->run.grid.nrow); }
SETTER(set_padding) { return cli_int(opt, arg, 0, 1024, &a->run.grid.padding); }
SETTER(set_scale) { return cli_int(opt, arg, 1, 64, &a->run.grid.scale); }
SETTER(set_png_level) { return cli_int(opt, arg, 0, 9, &a->run.png_level); }
SETTER(set_jobs) { return cli_int(opt, arg, 1, 1024, &a->run.jobs); }
SETTER(set_url) { (void)opt; a->fetch.url = arg; return 0; }
SETTER(set_archive)
{
    a->fetch.archive = arg;
    return cli_path(opt, arg, 0); /* only read */
}

/* --gallery NAMES: specs split at the commas outside parentheses, so
 * 'hardtanh(min_val=-2, max_val=2),relu' is two functions. */
SETTER(set_gallery)
{
    struct cact_err err;
    char spec[256];
    a->gallery = 1;
    a->n_gallery = 0;
    if (!arg)
        return 0;
    for (const char *p = arg;;) {
        size_t len = 0;
        int depth = 0;
        while (p[len] && (depth > 0 || p[len] != ',')) {
            depth += p[len] == '(' ? 1 : p[len] == ')' ? -1 : 0;
            len++;
        }
        if (len == 0 || len >= sizeof spec)
            return cli_usage("%s: '%s': %s", opt, arg, len ? "a spec is too long" : "an empty name");
        if (a->n_gallery == CLI_GALLERY_MAX)
            return cli_usage("%s: at most %d functions", opt, CLI_GALLERY_MAX);
        memcpy(spec, p, len);
        spec[len] = '\0';
        if (cact_act_parse(spec, &a->gallery_fns[a->n_gallery], &err) != CACT_OK)
            return cli_usage("%s: %s", opt, err.msg);
        a->n_gallery++;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

SETTER(set_gallery_batch)
{
    unsigned long long u;
    int rc = cli_uint(opt, arg, 0, SIZE_MAX, &u);
    a->gallery_batch = (size_t)u;
    return rc;
}

/* Flags. The (void) casts: every setter has the same signature. */
SETTER(set_list) { (void)opt; (void)arg; a->action = CLI_LIST; return 0; }
SETTER(set_long) { (void)opt; (void)arg; a->list_long = 1; return 0; }
SETTER(set_help) { (void)opt; (void)arg; a->action = CLI_HELP; return 0; }
SETTER(set_version) { (void)opt; (void)arg; a->action = CLI_VERSION; return 0; }
SETTER(set_download_only) { (void)opt; (void)arg; a->action = CLI_DOWNLOAD_ONLY; return 0; }
SETTER(set_inplace) { (void)opt; (void)arg; a->run.inplace = 1; return 0; }
SETTER(set_no_lut) { (void)opt; (void)arg; a->run.force_float = 1; return 0; }
SETTER(set_drop_last) { (void)opt; (void)arg; a->run.drop_last = 1; return 0; }
SETTER(set_shuffle) { (void)opt; (void)arg; a->run.shuffle = 1; return 0; }
SETTER(set_offline) { (void)opt; (void)arg; a->fetch.offline = 1; return 0; }
SETTER(set_keep_archive) { (void)opt; (void)arg; a->fetch.keep_archive = 1; return 0; }
SETTER(set_no_verify) { (void)opt; (void)arg; a->no_verify = 1; return 0; }
SETTER(set_grid_normalize) { (void)opt; (void)arg; a->run.grid.normalize = 1; return 0; }
SETTER(set_scale_each) { (void)opt; (void)arg; a->run.grid.scale_each = 1; return 0; }
SETTER(set_quiet) { (void)opt; (void)arg; a->quiet = 1; return 0; }
SETTER(set_html) { (void)opt; (void)arg; a->run.html = 1; return 0; }
SETTER(set_no_html) { (void)opt; (void)arg; a->run.html = 0; return 0; }
SETTER(set_html_pixels) { (void)opt; (void)arg; a->run.html_pixels = 1; return 0; }
SETTER(set_no_html_pixels) { (void)opt; (void)arg; a->run.html_pixels = 0; return 0; }

/* ---- The option table ---- */

struct cli_opt {
    const char *name;  /* long name, without "--" */
    char short_name;   /* 0: long only */
    int has_arg;       /* getopt_long's no_argument / required_argument / optional_argument */
    int (*set)(struct cli_args *a, const char *opt, const char *arg);
};

static const struct cli_opt cli_opts[] = {
    {"fn", 'f', required_argument, set_fn},
    {"list", 0, no_argument, set_list},
    {"long", 0, no_argument, set_long},
    {"normalize", 0, required_argument, set_normalize},
    {"inplace", 0, no_argument, set_inplace},
    {"no-lut", 0, no_argument, set_no_lut},
    {"tensor", 0, required_argument, set_tensor},
    {"data", 'd', required_argument, set_data},
    {"dataset", 0, required_argument, set_dataset},
    {"split", 0, required_argument, set_split},
    {"label", 0, required_argument, set_label},
    {"batch", 'b', required_argument, set_batch},
    {"drop-last", 0, no_argument, set_drop_last},
    {"shuffle", 0, no_argument, set_shuffle},
    {"seed", 0, required_argument, set_seed},
    {"max-batches", 'n', required_argument, set_max_batches},
    {"download-only", 0, no_argument, set_download_only},
    {"url", 0, required_argument, set_url},
    {"sha256", 0, required_argument, set_sha256},
    {"archive", 0, required_argument, set_archive},
    {"offline", 0, no_argument, set_offline},
    {"keep-archive", 0, no_argument, set_keep_archive},
    {"no-verify", 0, no_argument, set_no_verify},
    {"out", 'o', required_argument, set_out},
    {"logdir", 0, required_argument, set_logdir},
    {"style", 0, required_argument, set_style},
    {"nrow", 0, required_argument, set_nrow},
    {"padding", 0, required_argument, set_padding},
    {"pad-value", 0, required_argument, set_pad_value},
    {"scale", 0, required_argument, set_scale},
    {"layout", 0, required_argument, set_layout},
    {"grid-normalize", 0, no_argument, set_grid_normalize},
    {"value-range", 0, required_argument, set_value_range},
    {"scale-each", 0, no_argument, set_scale_each},
    {"png-level", 0, required_argument, set_png_level},
    {"html", 0, no_argument, set_html},
    {"no-html", 0, no_argument, set_no_html},
    {"html-pixels", 0, no_argument, set_html_pixels},
    {"no-html-pixels", 0, no_argument, set_no_html_pixels},
    {"gallery", 0, optional_argument, set_gallery},
    {"gallery-batch", 0, required_argument, set_gallery_batch},
    {"shard", 0, required_argument, set_shard},
    {"merge", 0, required_argument, set_merge},
    {"jobs", 'j', required_argument, set_jobs},
    {"quiet", 'q', no_argument, set_quiet},
    {"help", 'h', no_argument, set_help},
    {"version", 'V', no_argument, set_version},
};
#define CLI_N_OPTS (sizeof cli_opts / sizeof cli_opts[0])

/* Options of the job that --gallery (one batch, element-wise functions drawn through
 * their lookup tables, one thread, no event file) has no use for: refused with the
 * reason rather than silently ignored. Every other option is honoured by the gallery
 * or is already refused (--fn, --tensor, --download-only). */
static const struct {
    const char *name, *why;
} cli_not_with_gallery[] = {
    {"inplace", "every function runs on the same input batch"},
    {"no-lut", "its cards are drawn through the exact lookup tables"},
    {"max-batches", "it shows one batch: --gallery-batch K"},
    {"logdir", "it writes no event file"},
    {"layout", "its PNG is the input grid and one output grid per function"},
    {"html-pixels", "gallery.html has no pixel values"},
    {"jobs", "it runs in one thread"},
};
#define CLI_N_NOT_WITH_GALLERY (sizeof cli_not_with_gallery / sizeof cli_not_with_gallery[0])

/* The row of the option called name (a name in cli_opts: a typo is a bug, caught by
 * the gallery tests, which then find row 0's flag instead). */
static size_t cli_opt_find(const char *name)
{
    for (size_t i = 0; i < CLI_N_OPTS; i++)
        if (strcmp(cli_opts[i].name, name) == 0)
            return i;
    return 0;
}

/* getopt_long's val for row i: above every char, so short letters never collide. */
#define CLI_VAL(i) (256 + (int)(i))

/* The option that getopt_long just rejected, as the user typed it. */
static int cli_bad_option(char **argv, int opt)
{
    const char *arg = argv[optind - 1];
    if (opt == ':')
        return cli_usage("%s needs a value", arg);
    if (strncmp(arg, "--", 2) != 0)
        return cli_usage("unknown option '-%c'", optopt);
    if (optopt != 0) /* a known long option given a value it does not take */
        return cli_usage("%.*s takes no value", (int)strcspn(arg, "="), arg);
    /* getopt_long takes any unique prefix (--max for --max-batches); a prefix of
     * several options is rejected like an unknown one, so name the candidates. */
    size_t len = strcspn(arg + 2, "="), n = 0;
    char cands[512] = "";
    for (size_t i = 0; i < CLI_N_OPTS; i++)
        if (strncmp(cli_opts[i].name, arg + 2, len) == 0) {
            size_t used = strlen(cands);
            snprintf(cands + used, sizeof cands - used, " --%s", cli_opts[i].name);
            n++;
        }
    if (n > 1 && len > 0)
        return cli_usage("option '--%.*s' is ambiguous; possibilities:%s", (int)len, arg + 2,
                         cands);
    return cli_usage("unknown option '%s'", arg);
}

/* The environment's overrides of the fetch's robustness knobs (the CLI tests keep
 * retries and stalls short with them). Unset, empty or malformed: the default stays. */
static void cli_env_long(const char *name, long *v)
{
    const char *s = getenv(name);
    char *end = NULL;
    long x;

    if (!s || !*s)
        return;
    errno = 0;
    x = strtol(s, &end, 10);
    if (!errno && !*end && x >= 0)
        *v = x;
}

static void cli_fetch_env(struct cact_fetch_opts *fo)
{
    long attempts = fo->max_attempts;
    cli_env_long("CIFAR_ACT_RETRY_BASE_MS", &fo->retry_base_ms);
    cli_env_long("CIFAR_ACT_STALL_SECONDS", &fo->stall_seconds);
    cli_env_long("CIFAR_ACT_FETCH_MAX_SECONDS", &fo->max_seconds);
    cli_env_long("CIFAR_ACT_FETCH_MAX_ATTEMPTS", &attempts);
    fo->max_attempts = attempts > INT_MAX ? INT_MAX : (int)attempts;
}

/* A whole number in 0..max from the environment variable name; what is wrong in why. */
static int cli_env_uint(const char *name, unsigned long long max, unsigned long long *v,
                        const char **why)
{
    const char *s = getenv(name);
    char *end;

    *why = "is not set";
    if (!s || !*s)
        return -1;
    *why = "is not a whole number in range";
    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || *end || *v > max ? -1 : 0;
}

/* --shard K/N, auto or auto/N into run.shard and run.shards. The job-array variables
 * are read here (the library never reads the environment). */
static int cli_shard(struct cli_args *a)
{
    const char *s = a->shard_spec, *slash = strchr(s, '/'), *why;
    unsigned long long k = 0, n = 0, id, min;
    char kbuf[32];
    const unsigned long long max = CACT_PART_MAX_SHARDS;

    if (!slash && strcmp(s, "auto") != 0)
        return cli_usage("--shard: '%s' is not K/N, auto or auto/N", s);
    if (slash && (size_t)(slash - s) >= sizeof kbuf)
        return cli_usage("--shard: '%s' is not K/N, auto or auto/N", s);
    if (slash && cli_uint("--shard", slash + 1, 1, max, &n) != 0)
        return 2;
    if (!slash && cli_env_uint("SLURM_ARRAY_TASK_COUNT", max, &n, &why) != 0)
        return cli_usage("--shard auto: SLURM_ARRAY_TASK_COUNT %s (1..%llu); outside a Slurm "
                         "array give N: --shard auto/N (Kubernetes: JOB_COMPLETION_INDEX)",
                         why, max);
    if (!slash && n == 0)
        return cli_usage("--shard auto: SLURM_ARRAY_TASK_COUNT is 0");
    if (slash && strncmp(s, "auto/", 5) != 0) {
        memcpy(kbuf, s, (size_t)(slash - s));
        kbuf[slash - s] = '\0';
        if (cli_uint("--shard", kbuf, 0, n - 1, &k) != 0)
            return 2;
    } else if (getenv("SLURM_ARRAY_TASK_ID")) {
        if (cli_env_uint("SLURM_ARRAY_TASK_ID", UINT32_MAX, &id, &why) != 0)
            return cli_usage("--shard %s: SLURM_ARRAY_TASK_ID %s", s, why);
        if (cli_env_uint("SLURM_ARRAY_TASK_MIN", UINT32_MAX, &min, &why) != 0)
            return cli_usage("--shard %s: SLURM_ARRAY_TASK_MIN %s", s, why);
        if (id < min || id - min >= n)
            return cli_usage("--shard %s: SLURM_ARRAY_TASK_ID %llu - SLURM_ARRAY_TASK_MIN %llu "
                             "is not below N = %llu (an array with gaps or a step?)",
                             s, id, min, n);
        k = id - min;
    } else if (slash && getenv("JOB_COMPLETION_INDEX")) {
        if (cli_env_uint("JOB_COMPLETION_INDEX", n - 1, &k, &why) != 0)
            return cli_usage("--shard %s: JOB_COMPLETION_INDEX %s (0..%llu)", s, why, n - 1);
    } else {
        return cli_usage("--shard %s: SLURM_ARRAY_TASK_ID is not set%s", s,
                         slash ? ", nor JOB_COMPLETION_INDEX" : "");
    }
    a->run.shard = (size_t)k;
    a->run.shards = (size_t)n;
    return 0;
}

int cli_parse(int argc, char **argv, struct cli_args *a)
{
    struct option longs[CLI_N_OPTS + 1];
    unsigned char given[CLI_N_OPTS] = {0}; /* each option seen on the command line */
    char shorts[2 * CLI_N_OPTS + 2], name[64];
    size_t ns = 0;
    const char *env_data = getenv("CIFAR_ACT_DATA");
    const char *env_generic = getenv("CIFAR_ACT_GENERIC"), *env_isa = getenv("CIFAR_ACT_ISA");
    int opt, idx, rc;

    memset(a, 0, sizeof *a);
    a->action = CLI_RUN;
    cact_run_opts_default(&a->run);
    cact_fetch_opts_default(&a->fetch);
    cli_fetch_env(&a->fetch);
    if (env_data && *env_data)
        a->run.data_dir = env_data;
    /* Kernel choice for testing the portable code paths (make test-generic). */
    if (env_generic && *env_generic && strcmp(env_generic, "0") != 0)
        cact_act_kernels_set_generic(1);
    else if (env_isa && *env_isa && cact_act_kernels_use(env_isa) != 0)
        return cli_usage("CIFAR_ACT_ISA=%s: no such kernel set on this CPU "
                         "(generic, default, avx2, avx512f)", env_isa);

    shorts[ns++] = ':'; /* report a missing value as ':' rather than '?' */
    for (size_t i = 0; i < CLI_N_OPTS; i++) {
        longs[i] = (struct option){cli_opts[i].name, cli_opts[i].has_arg, NULL, CLI_VAL(i)};
        if (cli_opts[i].short_name) {
            shorts[ns++] = cli_opts[i].short_name;
            if (cli_opts[i].has_arg == required_argument)
                shorts[ns++] = ':';
        }
    }
    longs[CLI_N_OPTS] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';

    opterr = 0; /* our own one-line messages */
    while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            return cli_bad_option(argv, opt);
        idx = -1;
        if (opt >= CLI_VAL(0))
            idx = opt - CLI_VAL(0);
        else
            for (size_t i = 0; i < CLI_N_OPTS; i++)
                if (cli_opts[i].short_name == opt)
                    idx = (int)i;
        /* An optional value may also be the next word (--gallery relu,tanh), as long
         * as that word is not an option itself. */
        if (cli_opts[idx].has_arg == optional_argument && !optarg && optind < argc &&
            argv[optind][0] != '-')
            optarg = argv[optind++];
        snprintf(name, sizeof name, "--%s", cli_opts[idx].name);
        if ((rc = cli_opts[idx].set(a, name, optarg)) != 0)
            return rc;
        given[idx] = 1;
    }
    if (optind < argc)
        return cli_usage("unexpected argument '%s': cifar-act takes options only",
                         argv[optind]);
    if (a->action == CLI_MERGE && a->shard_spec)
        return cli_usage("--merge merges the shards' parts: no --shard");
    if (a->shard_spec && a->action != CLI_RUN)
        return cli_usage("--shard cannot be combined with --%s",
                         a->action == CLI_TENSOR ? "tensor"
                         : a->action == CLI_DOWNLOAD_ONLY ? "download-only" : "merge");
    if (a->run.data_dir == env_data && env_data &&
        (rc = cli_path("CIFAR_ACT_DATA", env_data, CLI_DIR_RESERVE)) != 0)
        return rc;
    if (a->action != CLI_RUN && a->action != CLI_DOWNLOAD_ONLY && a->action != CLI_TENSOR)
        return 0;
    if (a->list_long)
        return cli_usage("--long goes with --list");
    /* make_grid ignores value_range and scale_each without normalize=True; we say so
     * rather than silently drawing the plain grid. */
    if (!a->run.grid.normalize && (a->run.grid.has_value_range || a->run.grid.scale_each))
        return cli_usage("%s works only with --grid-normalize (make_grid needs normalize=True)",
                         a->run.grid.has_value_range ? "--value-range" : "--scale-each");
    if (a->action == CLI_TENSOR && a->run.chain.normalize)
        return cli_usage("--tensor takes the numbers as they are: no --normalize (that is "
                         "the dataset's ToTensor step)");

    if (a->gallery && a->run.chain.n)
        return cli_usage("--gallery takes its functions itself: --gallery 'relu,tanh', not --fn");
    for (size_t k = 0; a->gallery && k < CLI_N_NOT_WITH_GALLERY; k++)
        if (given[cli_opt_find(cli_not_with_gallery[k].name)])
            return cli_usage("--%s cannot be combined with --gallery (%s)",
                             cli_not_with_gallery[k].name, cli_not_with_gallery[k].why);
    if (!a->gallery && given[cli_opt_find("gallery-batch")])
        return cli_usage("--gallery-batch goes with --gallery");
    if (a->gallery && (a->action == CLI_DOWNLOAD_ONLY || a->action == CLI_TENSOR))
        return cli_usage("--gallery cannot be combined with --%s",
                         a->action == CLI_TENSOR ? "tensor" : "download-only");
    if (a->run.chain.n == 0) {
        struct cact_err err;
        cact_act_parse("sigmoid", &a->run.chain.fn[0], &err);
        a->run.chain.n = 1;
    }
    if (a->run.logdir && !a->out_given)
        a->run.out_dir = NULL; /* --logdir alone: only the event file */
    if (a->shard_spec && a->gallery)
        return cli_usage("--shard cannot be combined with --gallery (one batch)");
    if (a->shard_spec && !a->run.out_dir)
        return cli_usage("--shard needs an output directory (--out): the shards' parts and "
                         "their merge live there");
    if (a->shard_spec && (rc = cli_shard(a)) != 0)
        return rc;
    if (a->run.kind == CACT_CIFAR_10 && a->run.label == CACT_CIFAR_LABEL_COARSE)
        return cli_usage("--label: coarse labels exist only in CIFAR-100");
    if (a->no_verify && (a->action == CLI_DOWNLOAD_ONLY || a->fetch.url ||
                         a->fetch.archive || a->fetch.sha256))
        return cli_usage("--no-verify cannot be combined with download options");
    return 0;
}

/* ---- --help and --list ---- */

int cli_help(void)
{
    for (size_t i = 0; cli_help_text[i]; i++)
        fputs(cli_help_text[i], stdout);
    return cli_stdout_done(0);
}

/* The parameter column of --list for row d: "(negative_slope=0.01)", "(threshold=?,
 * value=?)" for required ones, "" for none; in buf. */
static const char *cli_list_params(const struct cact_act_desc *d, char *buf, size_t size)
{
    struct cact_act_fn fn;
    struct cact_err e;
    if (d->n_params == 0)
        return "";
    /* The canonical spelling with defaults shows every parameter's name. */
    if (cact_act_parse(d->name, &fn, &e) == CACT_OK) {
        cact_act_format(&fn, buf, size);
        return strchr(buf, '(') ? strchr(buf, '(') : "";
    }
    /* Rows with required parameters (threshold) show their names. */
    size_t len = 0;
    buf[0] = '\0';
    for (int j = 0; j < d->n_params && len < size; j++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s=?", j ? ", " : "(",
                                d->params[j].name);
    if (len < size - 1)
        strcat(buf, ")");
    return buf;
}

/* text wrapped at word boundaries to lines of at most 79 columns, each line indented
 * by indent spaces. */
static void cli_wrap(const char *text, int indent)
{
    const int max = 79 - indent;
    while (*text) {
        int n = (int)strlen(text);
        if (n > max) {
            n = max;
            while (n > 0 && text[n] != ' ')
                n--;
            if (n == 0) /* one word longer than the line: break it */
                n = max;
        }
        printf("%*s%.*s\n", indent, "", n, text);
        text += n;
        while (*text == ' ')
            text++;
    }
}

int cli_list(int wide)
{
    char spec[256];
    if (wide)
        printf("%-14s %-12s %-44s %s\n", "NAME", "TORCH.NN", "PARAMETERS (defaults)",
               "FORMULA");
    else
        printf("%-14s %-12s %s\n    %s\n", "NAME", "TORCH.NN", "PARAMETERS (defaults)",
               "formula");
    for (size_t i = 0; i < cact_act_count(); i++) {
        const struct cact_act_desc *d = cact_act_at(i);
        const char *params = cli_list_params(d, spec, sizeof spec);
        if (wide) {
            printf("%-14s %-12s %-44s %s\n", d->name, d->torch_module, params, d->formula);
        } else {
            /* 80 columns: the formula goes under the name, wrapped. */
            if (*params)
                printf("%-14s %-12s %s\n", d->name, d->torch_module, params);
            else
                printf("%-14s %s\n", d->name, d->torch_module);
            cli_wrap(d->formula, 4);
        }
    }
    printf("\nsoftmax, log_softmax and softmin run over the channel dimension (dim=1), as\n"
           "nn.Softmax(dim=1) does for a 4-D batch; the others are element-wise.%s\n",
           wide ? "" : "\nOne row per function, formulas included: cifar-act --list --long.");
    return cli_stdout_done(0);
}
