/* test_run.c - the job runner on a small fixture dataset: pairs layout, manifest
 * escaping and contents, zero batches, cancellation, sizes refused before any work, and
 * the output directory as one unit (outdir.h): what a second run, a failed run, a
 * concurrent run and a killed run leave in OUT. */
#include <regex.h>
#include <stb_image.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "outdir.h"
#include "run.h"

static char root[256];

/* 10 flat grey images (fx_make_grey10); class names a JSON writer must escape. */
static void make_dataset(void)
{
    fx_make_grey10(root, "a\"quote\nback\\slash\ntab\there\nd\ne\nf\ng\nh\ni\nj\n");
}

/* A fresh OUT path under root (not created). */
static const char *out_path(const char *name)
{
    static char buf[600];
    snprintf(buf, sizeof buf, "%s/%s", root, name);
    return buf;
}

static void opts(struct cact_run_opts *o, const char *out)
{
    struct cact_err e;
    cact_run_opts_default(o);
    o->data_dir = root;
    o->out_dir = out;
    o->batch = 4;
    o->jobs = 2;
    o->html = 0; /* test_html_in_out has it */
    cact_act_parse("sigmoid", &o->chain.fn[0], &e);
    o->chain.n = 1;
}

/* ---- What OUT holds ---- */

/* Names in dir matching cifar-act's output files (regex), sorted, comma-separated. */
static void list_ours(const char *dir, char *buf, size_t size)
{
    char cmd[800];
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof cmd,
             "ls -A '%s' 2>/dev/null | grep -E '^((input|output|compare)_[0-9]+\\.png|manifest\\.json)' "
             "| sort | tr '\\n' ,", dir);
    p = popen(cmd, "r");
    n = p ? fread(buf, 1, size - 1, p) : 0;
    buf[n] = '\0';
    if (p)
        pclose(p);
}

/* Every entry of dir, hidden ones included, sorted, comma-separated. */
static void list_all(const char *dir, char *buf, size_t size)
{
    char cmd[800];
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | sort | tr '\\n' ,", dir);
    p = popen(cmd, "r");
    n = p ? fread(buf, 1, size - 1, p) : 0;
    buf[n] = '\0';
    if (p)
        pclose(p);
}

/* The files dir/manifest.json lists, plus itself, in list_ours's form; "" without one. */
static void list_manifest(const char *dir, char *buf, size_t size)
{
    char path[700], names[64][40];
    int n = 0;
    regex_t re;
    regmatch_t m[3];
    char *s, *at;

    buf[0] = '\0';
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    if (!(s = fx_read_text(path, NULL)))
        return;
    regcomp(&re, "\"(input|output|compare)\": \"([^\"]+)\"", REG_EXTENDED);
    for (at = s; n < 63 && regexec(&re, at, 3, m, 0) == 0; at += m[0].rm_eo)
        snprintf(names[n++], sizeof names[0], "%.*s", (int)(m[2].rm_eo - m[2].rm_so),
                 at + m[2].rm_so);
    regfree(&re);
    free(s);
    snprintf(names[n++], sizeof names[0], "manifest.json");
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) {
        strncat(buf, names[i], size - strlen(buf) - 1);
        strncat(buf, ",", size - strlen(buf) - 1);
    }
}

/* The output directory's promise: manifest.json describes exactly our files in it. */
static void check_truthful(const char *what, const char *dir)
{
    char ours[4096], listed[4096];
    list_ours(dir, ours, sizeof ours);
    list_manifest(dir, listed, sizeof listed);
    CHECK_MSG(strcmp(ours, listed) == 0, "%s: OUT has [%s], manifest lists [%s]", what, ours,
              listed);
}

/* ---- Layouts, manifest, errors ---- */

static void test_separate_and_manifest(void)
{
    const char *out = out_path("out1");
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    char path[700];

    /* 3 batches (4, 4, 2), manifest with escaped names and stats. */
    opts(&o, out);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK_EQ_INT(st.batches, 3);
    CHECK_EQ_INT(st.images, 10);
    CHECK_EQ_INT(st.files, 6);
    /* png_bytes is what the PNG files on disk add up to. */
    uint64_t sum = 0;
    for (int k = 0; k < 3; k++)
        for (int io = 0; io < 2; io++) {
            snprintf(path, sizeof path, "%s/%s_%04d.png", out, io ? "output" : "input", k);
            if (fx_size(path) > 0)
                sum += (uint64_t)fx_size(path);
        }
    CHECK_MSG(sum > 0 && st.png_bytes == sum, "png_bytes %llu, files %llu",
              (unsigned long long)st.png_bytes, (unsigned long long)sum);
    snprintf(path, sizeof path, "%s/manifest.json", out);
    char *m = fx_read_text(path, NULL);
    CHECK(m != NULL);
    if (m) {
        CHECK(strstr(m, "\"a\\\"quote\"") != NULL);
        CHECK(strstr(m, "\"back\\\\slash\"") != NULL);
        CHECK(strstr(m, "\"tab\\u0009here\"") != NULL);
        CHECK(strstr(m, "\"images\": [8, 9]") != NULL);
        CHECK(strstr(m, "\"labels\": [8, 9]") != NULL);
        CHECK(strstr(m, "\"input\": \"input_0002.png\", \"output\": \"output_0002.png\"") != NULL);
        /* Batch 0 holds greys 0, 20, 40, 60: ToTensor min 0, max 60/255. */
        CHECK(strstr(m, "\"input_stats\": {\"min\": 0, \"mean\": 0.117647") != NULL);
        CHECK(strstr(m, "\"spec\": \"sigmoid\"") != NULL);
        free(m);
    }
    check_truthful("first run", out);
}

static void test_pairs(void)
{
    const char *out = out_path("out2");
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    char path[700];

    /* Pairs: input | white gap | output, one file per batch. */
    opts(&o, out);
    o.layout = CACT_RUN_LAYOUT_PAIRS;
    o.max_batches = 1;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK_EQ_INT(st.files, 1);
    snprintf(path, sizeof path, "%s/compare_0000.png", out);
    int w, h, comp;
    uint8_t *px = stbi_load(path, &w, &h, &comp, 3);
    int gw, gh;
    cact_grid_size(&o.grid, 4, &gw, &gh);
    CHECK(px != NULL && w > 2 * gw && h == gh);
    if (px) {
        int gap = w - 2 * gw;
        CHECK(gap >= 4);
        /* The gap is white top to bottom; the image at (2,2) of the first tile is
         * grey 0 on the left (input) and sigmoid(0) = 0.5 -> 128 on the right. */
        int white = 1;
        for (int y = 0; y < h; y++)
            for (int x = gw; x < gw + gap; x++)
                white &= px[3 * (y * w + x)] == 255 && px[3 * (y * w + x) + 2] == 255;
        CHECK(white);
        CHECK_EQ_INT(px[3 * (2 * w + 2)], 0);
        CHECK_EQ_INT(px[3 * (2 * w + gw + gap + 2)], 128);
        /* Padding stays black on both sides. */
        CHECK_EQ_INT(px[0], 0);
        CHECK_EQ_INT(px[3 * (gw + gap)], 0);
        stbi_image_free(px);
    }
    snprintf(path, sizeof path, "%s/input_0000.png", out);
    CHECK(!fx_exists(path));
    check_truthful("pairs", out);
}

static void test_errors_write_nothing(void)
{
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    char path[700], all[4096];

    /* No batch at all: an error before anything is written. */
    opts(&o, out_path("out3"));
    o.batch = 64;
    o.drop_last = 1;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_ERR_USAGE);
    CHECK_MSG(strstr(e.msg, "no batch to write: 10 images") != NULL, "%s", e.msg);
    list_all(out_path("out3"), all, sizeof all);
    CHECK_MSG(all[0] == '\0', "%s", all);

    /* Cancelled before the first batch: interrupted, no manifest, no staging left. */
    static volatile sig_atomic_t cancel = 1;
    opts(&o, out_path("out4"));
    o.cancel = &cancel;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_ERR_INTERRUPTED);
    snprintf(path, sizeof path, "%s/manifest.json", out_path("out4"));
    CHECK(!fx_exists(path));
    list_all(root, all, sizeof all);
    CHECK_MSG(!strstr(all, "cifar-act-stage"), "%s", all);

    /* An output "directory" under a regular file fails, naming it. */
    check_write_file(root, "plain", "x", 1);
    opts(&o, out_path("plain/sub"));
    CHECK(cact_run_job(&o, &st, &e) == CACT_ERR_IO);
    CHECK_MSG(strstr(e.msg, "plain") != NULL, "%s", e.msg);

    /* Bad options are usage errors, in words, not flags (the CLI names those). */
    opts(&o, out_path("out5"));
    o.png_level = 10;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_ERR_USAGE);
    CHECK_MSG(strstr(e.msg, "PNG level 10") && !strstr(e.msg, "--"), "%s", e.msg);
}

/* ---- Sizes and memory (issue 9 item 4) ---- */

static void test_check_limits(void)
{
    struct cact_run_opts o;
    struct cact_run_plan p;
    struct cact_err e;

    /* The default job: 274x274, every worker fits. */
    opts(&o, out_path("unused"));
    o.batch = 64;
    o.jobs = 3;
    CHECK_EQ_INT(cact_run_check(&o, 10000, &p, &e), CACT_OK);
    CHECK_EQ_INT(p.grid_w, 274);
    CHECK_EQ_INT(p.file_h, 274);
    CHECK_EQ_INT(p.jobs, 3);
    CHECK(p.worker_bytes > 2 * 274 * 274 * 3 && p.worker_bytes < 8u << 20);

    /* Pairs at scale 49: 27244x13426, (3w+1)h = 1.097e9 > 2^30. Refused at once. */
    o.layout = CACT_RUN_LAYOUT_PAIRS;
    o.grid.scale = 49;
    CHECK_EQ_INT(cact_run_check(&o, 0, &p, &e), CACT_ERR_USAGE);
    CHECK_EQ_INT(p.limit, CACT_RUN_LIMIT_PNG);
    CHECK_MSG(strstr(e.msg, "27244x13426") && strstr(e.msg, "2^30") && !strstr(e.msg, "--"),
              "%s", e.msg);
    o.grid.scale = 48; /* 26688x13152: fits */
    CHECK_EQ_INT(cact_run_check(&o, 0, &p, &e), CACT_OK);

    /* Scale 64 with 192 images: 17536x52352. */
    o.layout = CACT_RUN_LAYOUT_SEPARATE;
    o.grid.scale = 64;
    o.batch = 192;
    CHECK_EQ_INT(cact_run_check(&o, 0, &p, &e), CACT_ERR_USAGE);
    CHECK_EQ_INT(p.limit, CACT_RUN_LIMIT_PNG);
    /* ... but a data set of 64 images makes only 64-image batches. */
    CHECK_EQ_INT(cact_run_check(&o, 64, &p, &e), CACT_OK);

    /* The overflow UBSan found (grid height 3.4e9 > INT_MAX): refused, exactly sized. */
    o.batch = 50000;
    o.grid.nrow = 1;
    o.grid.padding = 1024;
    CHECK_EQ_INT(cact_run_check(&o, 0, &p, &e), CACT_ERR_USAGE);
    CHECK_EQ_INT(p.grid_h, (uint64_t)((32 + 1024) * 50000ull + 1024) * 64);
    CHECK_EQ_INT(p.limit, CACT_RUN_LIMIT_PNG);

    /* Memory: fewer workers when the budget holds only some, refused when none. */
    opts(&o, out_path("unused"));
    o.batch = 64;
    o.jobs = 8;
    CHECK_EQ_INT(cact_run_check(&o, 0, &p, &e), CACT_OK);
    uint64_t one = p.worker_bytes;
    o.memory_limit = one * 2 + one / 2;
    CHECK_EQ_INT(cact_run_check(&o, 0, &p, &e), CACT_OK);
    CHECK_EQ_INT(p.jobs, 2);
    o.memory_limit = one - 1;
    CHECK_EQ_INT(cact_run_check(&o, 0, &p, &e), CACT_ERR_USAGE);
    CHECK_EQ_INT(p.limit, CACT_RUN_LIMIT_MEMORY);
    CHECK_MSG(strstr(e.msg, "memory limit") && !strstr(e.msg, "--"), "%s", e.msg);

    /* The job itself refuses before touching OUT. */
    struct cact_run_stats st;
    opts(&o, out_path("big"));
    o.layout = CACT_RUN_LAYOUT_PAIRS;
    o.grid.scale = 64;
    o.grid.nrow = 1;
    o.batch = 1000; /* refused on the options alone, before the 10-image set is read */
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_ERR_USAGE);
    CHECK(!fx_exists(out_path("big")));
}

/* ---- The output directory as one unit (issue 9 item 3) ---- */

/* A second run with fewer batches, or another layout: nothing of the first survives. */
static void test_rerun_replaces_everything(void)
{
    const char *out = out_path("rerun");
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    char ours[4096];

    opts(&o, out);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    o.max_batches = 1;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    list_ours(out, ours, sizeof ours);
    CHECK_MSG(strcmp(ours, "input_0000.png,manifest.json,output_0000.png,") == 0, "%s", ours);
    check_truthful("fewer batches", out);

    o.layout = CACT_RUN_LAYOUT_PAIRS;
    o.max_batches = 0;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    list_ours(out, ours, sizeof ours);
    CHECK_MSG(strcmp(ours, "compare_0000.png,compare_0001.png,compare_0002.png,manifest.json,") == 0,
              "%s", ours);
    check_truthful("layout change", out);

    /* The pool beside OUT holds only emptied files of ours (outdir.h). */
    char pool[700], cmd[800];
    snprintf(pool, sizeof pool, "%s/.rerun.cifar-act-pool", root);
    CHECK(fx_exists(pool));
    snprintf(cmd, sizeof cmd, "test -z \"$(find '%s' -mindepth 1 ! -empty)\"", pool);
    CHECK_MSG(system(cmd) == 0, "non-empty files in %s", pool);
    /* Recycled files that this run does not write never reach OUT. */
    o.layout = CACT_RUN_LAYOUT_SEPARATE;
    o.max_batches = 2;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    o.max_batches = 1;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    list_all(out, ours, sizeof ours);
    CHECK_MSG(strcmp(ours, "input_0000.png,manifest.json,output_0000.png,") == 0, "%s", ours);
    check_truthful("from the pool", out);
    snprintf(cmd, sizeof cmd, "%s/input_0000.png", out);
    CHECK(fx_size(cmd) > 100);
}

/* Interrupted (or failed) midway: OUT is still the previous run, byte for byte, and
 * while a run works OUT keeps showing the previous one (no file missing, none new). */
struct watch {
    const char *out;
    char before[4096];
    volatile sig_atomic_t *cancel;
    int calls, same;
};

/* list_all without our staging directory (inside OUT when merging). */
static void list_visible(const char *dir, char *buf, size_t size)
{
    char cmd[800];
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | grep -v '^\\.cifar-act-stage\\.' | sort | tr '\\n' ,",
             dir);
    p = popen(cmd, "r");
    n = p ? fread(buf, 1, size - 1, p) : 0;
    buf[n] = '\0';
    if (p)
        pclose(p);
}

static void watch_progress(const struct cact_run_progress *p, void *ctx)
{
    struct watch *w = ctx;
    char now[4096];
    (void)p;
    list_visible(w->out, now, sizeof now);
    w->same += strcmp(now, w->before) == 0;
    w->calls++;
    if (w->cancel)
        *w->cancel = 1;
}

static void test_interrupted_keeps_previous(void)
{
    const char *out = out_path("keep");
    static volatile sig_atomic_t cancel;
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    struct watch w = {0};
    char path[700], all[4096];
    size_t n0, n1;

    opts(&o, out);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    snprintf(path, sizeof path, "%s/output_0000.png", out);
    unsigned char *old = fx_read(path, &n0);
    snprintf(path, sizeof path, "%s/manifest.json", out);
    char *old_manifest = fx_read_text(path, NULL);

    /* relu instead of sigmoid: other bytes; stop after the first batch. */
    w.out = out;
    list_all(out, w.before, sizeof w.before);
    w.cancel = &cancel;
    cancel = 0;
    cact_act_parse("relu", &o.chain.fn[0], &e);
    o.jobs = 1;
    o.progress = watch_progress;
    o.progress_ctx = &w;
    o.cancel = &cancel;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_ERR_INTERRUPTED);
    CHECK(w.calls >= 1 && w.same == w.calls);
    snprintf(path, sizeof path, "%s/output_0000.png", out);
    unsigned char *now = fx_read(path, &n1);
    CHECK_MSG(old && now && n0 == n1 && memcmp(old, now, n0) == 0,
              "output_0000.png changed by an interrupted run");
    snprintf(path, sizeof path, "%s/manifest.json", out);
    char *m = fx_read_text(path, NULL);
    CHECK(m && old_manifest && strcmp(m, old_manifest) == 0);
    list_all(out, all, sizeof all);
    CHECK_MSG(strcmp(all, w.before) == 0, "%s vs %s", all, w.before);
    list_all(root, all, sizeof all);
    CHECK_MSG(!strstr(all, "cifar-act-stage"), "staging left: %s", all);
    check_truthful("interrupted", out);
    free(old);
    free(now);
    free(m);

    /* A successful run watched the same way: OUT shows the old result until the end. */
    memset(&w, 0, sizeof w);
    w.out = out;
    list_all(out, w.before, sizeof w.before);
    o.cancel = NULL;
    o.max_batches = 2;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK(w.calls == 2 && w.same == 2);
    snprintf(path, sizeof path, "%s/manifest.json", out);
    m = fx_read_text(path, NULL);
    CHECK(m && strstr(m, "\"name\": \"relu\""));
    check_truthful("after a watched run", out);
    free(m);
    free(old_manifest);
}

/* Files that are not ours are kept (merge), ours of an earlier run removed. */
static void test_foreign_files_kept(void)
{
    const char *out = out_path("mixed");
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    char path[700], all[4096];

    opts(&o, out);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    check_write_file(out, "notes.txt", "mine", 4);
    snprintf(path, sizeof path, "%s/sub", out);
    mkdir(path, 0777);
    check_write_file(out, "sub/input_0000.png", "not a png", 9);
    check_write_file(out, "input_12.txt", "mine too", 8);
    o.max_batches = 2;
    o.layout = CACT_RUN_LAYOUT_PAIRS;
    /* Merging too: OUT shows the previous result until the end. */
    struct watch w = {0};
    w.out = out;
    list_all(out, w.before, sizeof w.before);
    o.progress = watch_progress;
    o.progress_ctx = &w;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK(w.calls == 2 && w.same == 2);
    list_all(out, all, sizeof all);
    CHECK_MSG(strcmp(all, "compare_0000.png,compare_0001.png,input_12.txt,manifest.json,notes.txt,sub,") == 0,
              "%s", all);
    snprintf(path, sizeof path, "%s/sub/input_0000.png", out);
    CHECK(fx_size(path) == 9);
    check_truthful("merge", out);
    list_all(root, all, sizeof all);
    CHECK_MSG(!strstr(all, "cifar-act-stage"), "staging left: %s", all);
}

/* OUT a symlink: the link stays, its target gets the files. OUT the current directory:
 * merged, so the caller's working directory is not swapped away. */
static void test_symlink_and_cwd(void)
{
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    char target[700], link[700], cwd[4096], path[800];
    struct stat sb, before;

    snprintf(target, sizeof target, "%s/target", root);
    snprintf(link, sizeof link, "%s/link", root);
    mkdir(target, 0777);
    CHECK(symlink(target, link) == 0);
    opts(&o, link);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
    check_truthful("through a symlink", target);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));

    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(target) == 0 && stat(".", &before) == 0);
    opts(&o, ".");
    o.max_batches = 1;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK(stat(".", &sb) == 0 && sb.st_ino == before.st_ino && sb.st_nlink > 0);
    snprintf(path, sizeof path, "%s/input_0000.png", target);
    CHECK(fx_exists(path));
    check_truthful("out is the current directory", target);
    CHECK(chdir(cwd) == 0);
}

/* One run at a time: a second one waits, says so, and goes on once the first is done. */
struct lock_holder {
    int fd, notices;
    char msg[600];
    volatile sig_atomic_t *cancel;
};

static void on_notice(const char *msg, void *ctx)
{
    struct lock_holder *h = ctx;
    h->notices++;
    snprintf(h->msg, sizeof h->msg, "%s", msg);
    if (h->cancel)
        *h->cancel = 1;       /* give up waiting */
    else if (h->fd >= 0) {
        close(h->fd);         /* the "other run" finishes */
        h->fd = -1;
    }
}

static void test_lock(void)
{
    const char *out = out_path("locked");
    static volatile sig_atomic_t cancel;
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    struct lock_holder h = {-1, 0, "", NULL};
    char path[700];

    mkdir(out, 0777);
    h.fd = open(out, O_RDONLY | O_DIRECTORY);
    CHECK(h.fd >= 0 && flock(h.fd, LOCK_EX) == 0);
    opts(&o, out);
    o.notice = on_notice;
    o.notice_ctx = &h;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK_EQ_INT(h.notices, 1);
    CHECK_MSG(strstr(h.msg, "waiting for another cifar-act") && strstr(h.msg, "locked"), "%s",
              h.msg);
    check_truthful("after waiting", out);

    /* Interrupted while waiting: nothing written. */
    h.fd = open(out, O_RDONLY | O_DIRECTORY);
    CHECK(h.fd >= 0 && flock(h.fd, LOCK_EX) == 0);
    h.notices = 0;
    h.cancel = &cancel;
    cancel = 0;
    o.cancel = &cancel;
    cact_act_parse("relu", &o.chain.fn[0], &e);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_ERR_INTERRUPTED);
    CHECK_MSG(strstr(e.msg, "interrupted waiting for"), "%s", e.msg);
    snprintf(path, sizeof path, "%s/manifest.json", out);
    char *m = fx_read_text(path, NULL);
    CHECK(m && strstr(m, "\"name\": \"sigmoid\""));
    free(m);
    close(h.fd);
}

/* What killed runs left: a staging directory beside OUT, one inside, temporaries. */
static void test_sweep(void)
{
    const char *out = out_path("swept");
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    char path[700], all[4096];

    opts(&o, out);
    o.max_batches = 1;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    snprintf(path, sizeof path, "%s/.swept.cifar-act-stage.99999.0", root);
    mkdir(path, 0700);
    check_write_file(path, "output_0005.png", "x", 1);
    check_write_file(path, "manifest.json.tmp.99999.3", "x", 1);
    snprintf(path, sizeof path, "%s/.cifar-act-stage.99999.1", out);
    mkdir(path, 0700);
    check_write_file(path, "input_0001.png", "x", 1);
    check_write_file(out, "input_0000.png.tmp.99999.7", "x", 1);
    check_write_file(out, "output_0003.png.tmp.1.2", "x", 1);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    list_all(out, all, sizeof all);
    CHECK_MSG(strcmp(all, "input_0000.png,manifest.json,output_0000.png,") == 0, "%s", all);
    list_all(root, all, sizeof all);
    CHECK_MSG(!strstr(all, "cifar-act-stage"), "staging left: %s", all);

    /* A staging directory in use (flock'ed) is left alone. */
    snprintf(path, sizeof path, "%s/.swept.cifar-act-stage.99999.9", root);
    mkdir(path, 0700);
    check_write_file(path, "input_0000.png", "x", 1);
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK(fx_exists(path));
    close(fd);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK(!fx_exists(path));
}

/* The viewer's files (html.h) are ours: replaced with the rest, stale ones removed. */
static void test_html_in_out(void)
{
    const char *out = out_path("html");
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    char path[700], all[4096];

    opts(&o, out);
    o.html = 1;
    CHECK_EQ_INT(o.html_pixels, 1); /* the default (opts keeps it) */
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    snprintf(path, sizeof path, "%s/html", out);
    list_all(path, all, sizeof all);
    /* 3 batches of 4 images: one file holds them all (html.h: ~2 MB a file). */
    CHECK_MSG(strcmp(all, "px_0000.js,") == 0, "%s", all);
    check_truthful("with the pixel files", out);
    /* A stale pixel file of an earlier, larger run goes. */
    snprintf(path, sizeof path, "%s/html/px_0003.js", out);
    {
        FILE *f = fopen(path, "w");
        CHECK(f && fputs("x", f) >= 0 && fclose(f) == 0);
    }
    o.max_batches = 1;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    snprintf(path, sizeof path, "%s/html", out);
    list_all(path, all, sizeof all);
    CHECK_MSG(strcmp(all, "px_0000.js,") == 0, "%s", all);
    list_all(out, all, sizeof all);
    CHECK_MSG(strcmp(all, "html,index.html,input_0000.png,manifest.json,output_0000.png,") == 0,
              "%s", all);
    check_truthful("with the viewer", out);
    o.html_pixels = 0; /* --no-html-pixels: the page without OUT/html/ */
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK(!fx_exists(path));
    list_all(out, all, sizeof all);
    CHECK_MSG(strcmp(all, "index.html,input_0000.png,manifest.json,output_0000.png,") == 0,
              "%s", all);
    check_truthful("without the pixel files", out);
    o.html = 0;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    list_all(out, all, sizeof all);
    CHECK_MSG(strcmp(all, "input_0000.png,manifest.json,output_0000.png,") == 0, "%s", all);
}

/* The name table decides what is ours. */
static void test_outdir_names(void)
{
    static const struct cact_outdir_name ours[] = {
        {"input_", ".png", 0}, {"manifest.json", NULL, 0}, {"html", NULL, 1}, {NULL, NULL, 0}};
    CHECK(cact_outdir_is_ours(ours, "input_0000.png", 0));
    CHECK(cact_outdir_is_ours(ours, "input_123456.png", 0));
    CHECK(cact_outdir_is_ours(ours, "input_0000.png.tmp.12.3", 0));
    CHECK(cact_outdir_is_ours(ours, "manifest.json", 0));
    CHECK(cact_outdir_is_ours(ours, "manifest.json.tmp.1.2", 0));
    CHECK(cact_outdir_is_ours(ours, "html", 1));
    CHECK(!cact_outdir_is_ours(ours, "html", 0));           /* a file named html */
    CHECK(!cact_outdir_is_ours(ours, "input_0000.png", 1)); /* a directory */
    CHECK(!cact_outdir_is_ours(ours, "html2", 1));
    CHECK(!cact_outdir_is_ours(ours, "input_.png", 0));
    CHECK(!cact_outdir_is_ours(ours, "input_12.png~", 0));
    CHECK(!cact_outdir_is_ours(ours, "input_12.pngx", 0));
    CHECK(!cact_outdir_is_ours(ours, "manifest.json.bak", 0));
    CHECK(!cact_outdir_is_ours(ours, "output_0000.png", 0));
}

/* A directory of ours (the HTML viewer's OUT/html/): replaced with the rest, swapped
 * or merged, its stale files removed. */
static void stage_files(const char *out, const char *const *names, int n, int foreign)
{
    static const struct cact_outdir_name ours[] = {
        {"input_", ".png", 0}, {"manifest.json", NULL, 0}, {"html", NULL, 1}, {NULL, NULL, 0}};
    struct cact_outdir_opts oo = {out, ours, NULL, NULL, NULL, 0};
    struct cact_outdir *od;
    struct cact_err e;
    char path[800];

    CHECK_EQ_INT(cact_outdir_begin(&od, &oo, &e), CACT_OK);
    if (!od)
        return;
    CHECK_EQ_INT(cact_outdir_swaps(od), !foreign);
    snprintf(path, sizeof path, "%s/html", cact_outdir_stage(od));
    mkdir(path, 0777);
    for (int i = 0; i < n; i++)
        check_write_file(cact_outdir_stage(od), names[i], names[i], strlen(names[i]));
    CHECK_EQ_INT(cact_outdir_commit(od, "manifest.json", &e), CACT_OK);
    cact_outdir_free(od);
}

static void test_outdir_dirs(void)
{
    static const char *const run1[] = {"input_0000.png", "input_0001.png", "html/px_0000.js",
                                       "html/px_0001.js", "manifest.json"};
    static const char *const run2[] = {"input_0000.png", "html/px_0000.js", "manifest.json"};
    char all[4096], path[700];

    for (int foreign = 0; foreign < 2; foreign++) {
        const char *out = out_path(foreign ? "dirs-merge" : "dirs-swap");
        mkdir(out, 0777);
        if (foreign)
            check_write_file(out, "notes.txt", "mine", 4);
        stage_files(out, run1, 5, foreign);
        snprintf(path, sizeof path, "%s/html", out);
        list_all(path, all, sizeof all);
        CHECK_MSG(strcmp(all, "px_0000.js,px_0001.js,") == 0, "%s", all);
        stage_files(out, run2, 3, foreign);
        list_all(path, all, sizeof all);
        CHECK_MSG(strcmp(all, "px_0000.js,") == 0, "%s", all);
        list_all(out, all, sizeof all);
        CHECK_MSG(strcmp(all, foreign ? "html,input_0000.png,manifest.json,notes.txt,"
                                      : "html,input_0000.png,manifest.json,") == 0, "%s", all);
    }
    /* Not committed (a failed run): the staging directory goes, subdirectory and all. */
    static const struct cact_outdir_name ours[] = {{"html", NULL, 1}, {NULL, NULL, 0}};
    struct cact_outdir_opts oo = {out_path("dirs-swap"), ours, NULL, NULL, NULL, 0};
    struct cact_outdir *od;
    struct cact_err e;
    CHECK_EQ_INT(cact_outdir_begin(&od, &oo, &e), CACT_OK);
    if (od) {
        snprintf(path, sizeof path, "%s/html", cact_outdir_stage(od));
        mkdir(path, 0777);
        check_write_file(path, "px_0007.js", "x", 1);
        cact_outdir_free(od);
    }
    list_all(root, all, sizeof all);
    CHECK_MSG(!strstr(all, "cifar-act-stage"), "staging left: %s", all);
}

int main(void)
{
    snprintf(root, sizeof root, "%s/test_run.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(root))
        return 2;
    make_dataset();

    test_separate_and_manifest();
    test_pairs();
    test_errors_write_nothing();
    test_check_limits();
    test_rerun_replaces_everything();
    test_interrupted_keeps_previous();
    test_foreign_files_kept();
    test_symlink_and_cwd();
    test_lock();
    test_sweep();
    test_html_in_out();
    test_outdir_names();
    test_outdir_dirs();

    fx_rmrf(root);
    return check_summary("test_run");
}
