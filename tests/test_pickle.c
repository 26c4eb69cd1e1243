/* test_pickle.c - the restricted unpickler (src/pickle.c) and the Python-version path of
 * the dataset reader (cact_cifar_open_python / _open_any).
 *
 * 1. Fidelity: tools/make_cifar_pickle.py (Python standard library only) writes, at test
 *    time into a temporary directory, cifar-10-batches-py/ in the layout of the
 *    originals from the real binary test set; all 10,000 images and labels read through
 *    the pickle path must equal the binary reader's. Also the 5-file train split and
 *    the CIFAR-100 layout (fine and coarse labels).
 * 2. Hostile pickles built here byte by byte: each gets CACT_ERR_FORMAT with a message
 *    saying what was refused, and nothing runs (a GLOBAL os system that would create a
 *    file does not).
 */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "check.h"
#include "cifar.h"
#include "pickle.h"
#include "pyfetch.h"

static char tmp[512];

/* ---- A pickle builder, enough for protocol-2 batches ---- */

struct pb {
    unsigned char *b;
    size_t n, cap;
};

static void pb_raw(struct pb *p, const void *d, size_t n)
{
    if (p->n + n > p->cap) {
        p->cap = (p->n + n) * 2 + 64;
        p->b = realloc(p->b, p->cap);
        if (!p->b)
            exit(2);
    }
    memcpy(p->b + p->n, d, n);
    p->n += n;
}
/* Literals may hold NUL bytes ("K\x00"): their length is the literal's size. */
#define pb_s(p, lit) pb_raw((p), "" lit, sizeof(lit) - 1)
static void pb_z(struct pb *p, const char *s) { pb_raw(p, s, strlen(s)); }
static void pb_c(struct pb *p, int c) { unsigned char b = (unsigned char)c; pb_raw(p, &b, 1); }
static void pb_u32(struct pb *p, int op, uint32_t v)
{
    unsigned char b[5] = {(unsigned char)op, (unsigned char)v, (unsigned char)(v >> 8),
                          (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    pb_raw(p, b, 5);
}
static void pb_str(struct pb *p, const char *s)
{
    pb_c(p, 'U');
    pb_c(p, (int)strlen(s));
    pb_z(p, s);
}
static void pb_int(struct pb *p, int v)
{
    if (v >= 0 && v < 256) {
        pb_c(p, 'K');
        pb_c(p, v);
    } else {
        pb_u32(p, 'J', (uint32_t)v);
    }
}

/* numpy's array pickle: _reconstruct(ndarray, (0,), 'b') BUILD (1, shape, dtype, False, raw). */
static void pb_array(struct pb *p, size_t rows, size_t cols, size_t bytes, const char *dtype)
{
    pb_s(p, "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85");
    pb_str(p, "b");
    pb_s(p, "\x87R(K\x01");
    pb_u32(p, 'J', (uint32_t)rows);
    pb_u32(p, 'J', (uint32_t)cols);
    pb_s(p, "\x86""cnumpy\ndtype\n");
    pb_str(p, dtype);
    pb_s(p, "K\x00K\x01\x87R(K\x03");
    pb_str(p, "|");
    pb_s(p, "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89");
    pb_u32(p, 'T', (uint32_t)bytes);
    for (size_t k = 0; k < bytes; k++)
        pb_c(p, (int)((k * 7 + 3) & 255));
    pb_s(p, "tb");
}

/* A valid CIFAR-10 batch of n images, labels i % 10. */
static void pb_batch(struct pb *p, size_t n)
{
    pb_s(p, "\x80\x02}(");
    pb_str(p, "batch_label");
    pb_str(p, "testing batch 1 of 1");
    pb_str(p, "labels");
    pb_s(p, "](");
    for (size_t i = 0; i < n; i++)
        pb_int(p, (int)(i % 10));
    pb_c(p, 'e');
    pb_str(p, "data");
    pb_array(p, n, CACT_CIFAR_PIXELS, n * CACT_CIFAR_PIXELS, "u1");
    pb_s(p, "u.");
}

static enum cact_status parse(const struct pb *p, struct cact_err *e)
{
    struct cact_pickle_batch b;
    enum cact_status st = cact_pickle_batch_mem(p->b, p->n, "hostile.pkl", &b, e);
    cact_pickle_batch_free(&b);
    return st;
}

/* Parse p, expect CACT_ERR_FORMAT with `want` in the message. */
#define REFUSED(p, want)                                                                   \
    do {                                                                                   \
        struct cact_err e_;                                                                \
        cact_err_clear(&e_);                                                               \
        enum cact_status st_ = parse(p, &e_);                                              \
        CHECK_MSG(st_ == CACT_ERR_FORMAT && strstr(e_.msg, want) && !strchr(e_.msg, '\n'), \
                  "status %d, message '%s', wanted '%s'", (int)st_, e_.msg, want);         \
    } while (0)

static void pb_reset(struct pb *p) { p->n = 0; }

/* ---- The builder's own batch parses, with the right numbers ---- */

static void test_valid(void)
{
    struct pb p = {0};
    struct cact_pickle_batch b;
    struct cact_err e;
    pb_batch(&p, 3);
    CHECK_EQ_INT(cact_pickle_batch_mem(p.b, p.n, "ok.pkl", &b, &e), CACT_OK);
    CHECK_EQ_INT(b.rows, 3);
    CHECK_EQ_INT(b.cols, CACT_CIFAR_PIXELS);
    CHECK(b.labels && b.labels[2] == 2);
    CHECK(b.coarse == NULL);
    /* data_offset is where the raw bytes start: the BINSTRING payload. */
    CHECK(b.data_offset + 3 * CACT_CIFAR_PIXELS + 4 == p.n);
    CHECK(p.b[b.data_offset] == 3 && p.b[b.data_offset + 1] == 10);
    cact_pickle_batch_free(&b);
    free(p.b);
}

/* ---- Hostile pickles ---- */

static void test_globals(void)
{
    struct pb p = {0};
    char marker[600], cmd[700];
    struct stat sb;

    /* The classic: os.system("touch MARKER"). Refused at the GLOBAL; the file must not
     * appear, because nothing is ever resolved or called. */
    snprintf(marker, sizeof marker, "%s/pwned", tmp);
    snprintf(cmd, sizeof cmd, "touch %s", marker);
    pb_s(&p, "\x80\x02""cos\nsystem\n(");
    pb_u32(&p, 'X', (uint32_t)strlen(cmd));
    pb_z(&p, cmd);
    pb_s(&p, "tR.");
    REFUSED(&p, "GLOBAL 'os system' refused");
    CHECK(stat(marker, &sb) != 0);

    static const char *const bad[] = {
        "\x80\x02""cposix\nsystem\n",        "GLOBAL 'posix system' refused",
        "\x80\x02""c__builtin__\neval\n",    "GLOBAL '__builtin__ eval' refused",
        "\x80\x02""cbuiltins\ngetattr\n",    "GLOBAL 'builtins getattr' refused",
        "\x80\x02""cnumpy.core.multiarray\nscalar\n", "refused",
        "\x80\x02""cnumpy\nload\n",          "GLOBAL 'numpy load' refused",
        "\x80\x02""cnumpy \nndarray\n",      "GLOBAL name with byte 0x20 refused",
        "\x80\x02""cos\nsys tem\n",          "byte 0x20 refused",
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k += 2) {
        pb_reset(&p);
        pb_z(&p, bad[k]);
        pb_s(&p, ")R.");
        REFUSED(&p, bad[k + 1]);
    }
    /* A GLOBAL name longer than any allowed one. */
    pb_reset(&p);
    pb_s(&p, "\x80\x02""c");
    for (int k = 0; k < 100; k++)
        pb_c(&p, 'a');
    pb_s(&p, "\nb\n.");
    REFUSED(&p, "GLOBAL name longer than");
    free(p.b);
}

static void test_reduce(void)
{
    struct pb p = {0};
    /* An allowed name, called the wrong way. */
    pb_s(&p, "\x80\x02""cnumpy\nndarray\nK\x00\x85R.");
    REFUSED(&p, "REDUCE of numpy.ndarray refused");
    pb_reset(&p);
    pb_s(&p, "\x80\x02""cnumpy.core.multiarray\n_reconstruct\ncnumpy\ndtype\nK\x00\x85U\x01""b\x87R.");
    REFUSED(&p, "_reconstruct with arguments other than");
    pb_reset(&p);
    pb_s(&p, "\x80\x02""cnumpy\ndtype\nU\x02O8K\x00K\x01\x87R.");   /* object arrays */
    REFUSED(&p, "array dtype is not 'u1'");
    pb_reset(&p);
    pb_s(&p, "\x80\x02U\x01x)R.");                                    /* a string as callable */
    REFUSED(&p, "REDUCE of a string refused");
    pb_reset(&p);
    pb_s(&p, "\x80\x02""cnumpy\ndtype\n]R.");                         /* args not a tuple */
    REFUSED(&p, "REDUCE with list arguments");
    pb_reset(&p);
    pb_s(&p, "\x80\x02}}b.");                                         /* BUILD on a dict */
    REFUSED(&p, "BUILD of a dict refused");
    free(p.b);
}

static void test_opcodes(void)
{
    struct pb p = {0};
    static const struct { const char *bytes; size_t len; const char *want; } cases[] = {
        { "\x80\x02\x81", 3, "NEWOBJ (0x81) refused" },
        { "\x80\x02i", 3, "INST (0x69) refused" },
        { "\x80\x02o", 3, "OBJ (0x6f) refused" },
        { "\x80\x02\x93", 3, "STACK_GLOBAL (0x93) refused" },
        { "\x80\x02Q", 3, "BINPERSID (0x51) refused" },
        { "\x80\x02\x82\x01", 4, "EXT1 (0x82) refused" },
        { "\x80\x02\xff", 3, "unknown opcode 0xff" },
        { "\x80\x04\x95", 3, "pickle protocol 4, expected 2" },
        { "(dp0\n.", 6, "first byte 0x28, expected PROTO 2" },
        { "", 0, "empty file" },
        { "\x80\x02}.junk", 8, "4 bytes after STOP" },
        { "\x80\x02}}.", 5, "STOP with 2 values" },
        { "\x80\x02].", 4, "the pickle is a list, expected a dict" },
        { "\x80\x02}\x80\x02.", 6, "PROTO not at the start" },
        { "\x80\x02}K\x01K\x02s.", 9, "dict key is a int" },
        { "\x80\x02}(K\x01u.", 7, "SETITEMS with an odd number" },
        { "\x80\x02}K\x01" "a.", 6, "adds to a dict, expected a list" },
        { "\x80\x02}e.", 4, "without a MARK" },
        { "\x80\x02(t.", 5, "the pickle is a tuple" },   /* fuzz: empty stack, NULL + 0 */
        { "\x80\x02\x85.", 4, "TUPLE1 with fewer than 1" },
        { "\x80\x02}(R.", 5, "pops from an empty stack" },
        { "\x80\x02h\x05.", 4, "memo GET of undefined entry 5" },
        { "\x80\x02}r\xff\xff\xff\xff.", 8, "memo index 4294967295" },
        { "\x80\x02q\x01.", 4, "memo PUT with nothing" },
        { "\x80\x02T\xff\xff\xff\xff.", 8, "BINSTRING with negative length" },
        { "\x80\x02T\xff\xff\xff\x7f.", 8, "truncated: a 2147483647-byte string" },
        { "\x80\x02X\xff\xff\xff\xff.", 8, "truncated: a 4294967295-byte string" },
        { "\x80\x02U\xc8short", 9, "truncated: a 200-byte string" },
        { "\x80\x02}", 3, "truncated: ends before STOP" },
        { "\x80\x02J\x01", 4, "truncated: opcode 0x4a needs 4 more bytes" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        pb_reset(&p);
        pb_raw(&p, cases[k].bytes, cases[k].len);
        REFUSED(&p, cases[k].want);
    }
    free(p.b);
}

static void test_limits(void)
{
    struct pb p = {0};
    /* Nesting: CACT_PICKLE_MAX_DEPTH MARKs are allowed, one more is not. */
    pb_s(&p, "\x80\x02");
    for (int k = 0; k <= CACT_PICKLE_MAX_DEPTH; k++)
        pb_c(&p, '(');
    REFUSED(&p, "nested deeper than 32 MARKs");
    /* Nested lists without marks: still bounded (no recursion anywhere), refused as
     * a non-dict at the end. */
    pb_reset(&p);
    pb_s(&p, "\x80\x02");
    for (int k = 0; k < 60000; k++)
        pb_c(&p, ']');
    for (int k = 0; k < 59999; k++)
        pb_c(&p, 'a');
    pb_c(&p, '.');
    REFUSED(&p, "the pickle is a list");
    /* Stack depth. */
    pb_reset(&p);
    pb_s(&p, "\x80\x02");
    for (int k = 0; k < 70000; k++)
        pb_c(&p, 'N');
    REFUSED(&p, "stack deeper than 65536");
    /* A list longer than 2^20 entries (built in APPENDS of 50000). */
    pb_reset(&p);
    pb_s(&p, "\x80\x02]");
    for (int chunk = 0; chunk < 21; chunk++) {
        pb_c(&p, '(');
        for (int k = 0; k < 50000; k++)
            pb_c(&p, 'N');
        pb_c(&p, 'e');
    }
    REFUSED(&p, "a list longer than 1048576 entries");
    /* The memory budget: three lists of 1,000,000 Nones need 3 x 24 MiB of values. */
    pb_reset(&p);
    pb_s(&p, "\x80\x02");
    for (int list = 0; list < 3; list++) {
        pb_c(&p, ']');
        for (int chunk = 0; chunk < 20; chunk++) {
            pb_c(&p, '(');
            for (int k = 0; k < 50000; k++)
                pb_c(&p, 'N');
            pb_c(&p, 'e');
        }
    }
    REFUSED(&p, "more than 64 MiB of values");
    free(p.b);
}

/* Every prefix of a valid batch is refused cleanly (and the whole one is accepted). */
static void test_truncation(void)
{
    struct pb p = {0};
    struct cact_err e;
    size_t bad = 0;
    pb_batch(&p, 2);
    size_t full = p.n;
    for (size_t len = 0; len < full; len++) {
        p.n = len;
        enum cact_status st = parse(&p, &e);
        if (st != CACT_ERR_FORMAT || !strstr(e.msg, "hostile.pkl: offset")) {
            if (bad++ < 3)
                fprintf(stderr, "prefix %zu: status %d: %s\n", len, (int)st, e.msg);
        }
    }
    CHECK_EQ_INT(bad, 0);
    p.n = full;
    CHECK_EQ_INT(parse(&p, &e), CACT_OK);
    free(p.b);
}

static void test_wrong_types(void)
{
    struct pb p = {0};
    /* Labels count differs from the rows. */
    pb_s(&p, "\x80\x02}(");
    pb_str(&p, "labels");
    pb_s(&p, "](K\x01K\x02" "e");
    pb_str(&p, "data");
    pb_array(&p, 3, CACT_CIFAR_PIXELS, 3 * CACT_CIFAR_PIXELS, "u1");
    pb_s(&p, "u.");
    REFUSED(&p, "'labels' has 2 entries, 'data' has 3 rows");
    /* A label that is not a byte. */
    pb_reset(&p);
    pb_s(&p, "\x80\x02}(");
    pb_str(&p, "labels");
    pb_s(&p, "]J\xff\xff\xff\xff" "a");
    pb_str(&p, "data");
    pb_array(&p, 1, CACT_CIFAR_PIXELS, CACT_CIFAR_PIXELS, "u1");
    pb_s(&p, "u.");
    REFUSED(&p, "'labels'[0] is not an int in 0..255");
    /* labels is a dict. */
    pb_reset(&p);
    pb_s(&p, "\x80\x02}(");
    pb_str(&p, "labels");
    pb_s(&p, "}");
    pb_str(&p, "data");
    pb_array(&p, 1, CACT_CIFAR_PIXELS, CACT_CIFAR_PIXELS, "u1");
    pb_s(&p, "u.");
    REFUSED(&p, "'labels' is a dict, expected a list of ints");
    /* data is a list; no data at all; no labels. */
    pb_reset(&p);
    pb_s(&p, "\x80\x02}(");
    pb_str(&p, "data");
    pb_s(&p, "]");
    pb_str(&p, "labels");
    pb_s(&p, "]u.");
    REFUSED(&p, "no 'data' array (list found)");
    pb_reset(&p);
    pb_s(&p, "\x80\x02}(");
    pb_str(&p, "data");
    pb_array(&p, 1, CACT_CIFAR_PIXELS, CACT_CIFAR_PIXELS, "u1");
    pb_s(&p, "u.");
    REFUSED(&p, "neither 'labels' nor 'fine_labels'");
    /* Shape and length disagree; a 3-D array; Fortran order. */
    pb_reset(&p);
    pb_s(&p, "\x80\x02}(");
    pb_str(&p, "data");
    pb_array(&p, 2, CACT_CIFAR_PIXELS, CACT_CIFAR_PIXELS, "u1");
    pb_s(&p, "u.");
    REFUSED(&p, "array of 6144 elements holds 3072 bytes");
    pb_reset(&p);
    pb_s(&p, "\x80\x02""cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01""b\x87R"
             "(K\x01K\x01K\x01K\x01\x87""cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNN"
             "J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x01xtb.");
    REFUSED(&p, "3-dimensional array refused");
    pb_reset(&p);
    pb_s(&p, "\x80\x02""cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01""b\x87R"
             "(K\x01K\x01\x85""cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNN"
             "J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x88U\x01xtb.");
    REFUSED(&p, "Fortran-order array refused");
    /* A big-endian or otherwise odd dtype state. */
    pb_reset(&p);
    pb_s(&p, "\x80\x02""cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01>NNN"
             "J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb.");
    REFUSED(&p, "uint8 dtype state other than");
    /* The same key twice. */
    pb_reset(&p);
    pb_s(&p, "\x80\x02}(");
    pb_str(&p, "labels");
    pb_s(&p, "]");
    pb_str(&p, "labels");
    pb_s(&p, "]u.");
    REFUSED(&p, "key 'labels' appears twice");
    free(p.b);
}

static void test_names(void)
{
    struct pb p = {0};
    struct cact_pickle_names n;
    struct cact_err e;
    pb_s(&p, "\x80\x02}(");
    pb_str(&p, "label_names");
    pb_s(&p, "](");
    pb_str(&p, "cat");
    pb_str(&p, "dog");
    pb_s(&p, "eu.");
    CHECK_EQ_INT(cact_pickle_names_mem(p.b, p.n, "meta", "label_names", 10, &n, &e), CACT_OK);
    CHECK(n.n == 2 && strcmp(n.name[1], "dog") == 0);
    cact_pickle_names_free(&n);
    CHECK_EQ_INT(cact_pickle_names_mem(p.b, p.n, "meta", "label_names", 1, &n, &e), CACT_ERR_FORMAT);
    CHECK(strstr(e.msg, "has 2 names, expected 1..1"));
    cact_pickle_names_free(&n);
    CHECK_EQ_INT(cact_pickle_names_mem(p.b, p.n, "meta", "fine_label_names", 10, &n, &e), CACT_ERR_FORMAT);
    CHECK(strstr(e.msg, "'fine_label_names' is absent"));
    cact_pickle_names_free(&n);
    pb_reset(&p);
    pb_s(&p, "\x80\x02}(");
    pb_str(&p, "label_names");
    pb_s(&p, "](");
    pb_str(&p, "c\x1b[2Jat");
    pb_s(&p, "eu.");
    CHECK_EQ_INT(cact_pickle_names_mem(p.b, p.n, "meta", "label_names", 10, &n, &e), CACT_ERR_FORMAT);
    CHECK(strstr(e.msg, "has a control character"));
    cact_pickle_names_free(&n);
    free(p.b);
}

/* ---- Fidelity against the binary reader, on pickles written at test time ---- */

static int find_real(char *dir, size_t size)
{
    char path[1024];
    const char *cands[2] = {check_env("CA_SHARED", "../shared"), NULL};
    static char data[600];
    snprintf(data, sizeof data, "%s/data", check_env("CA_ROOT", "."));
    cands[1] = data;
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/cifar-10-batches-bin/test_batch.bin", cands[k]);
        if (access(path, R_OK) == 0) {
            snprintf(dir, size, "%s", cands[k]);
            return 1;
        }
    }
    return 0;
}

static int make_pickles(const char *bin_root, const char *out, const char *extra)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "python3 '%s/tools/make_cifar_pickle.py' --bin '%s/cifar-10-batches-bin' "
             "--out '%s' %s", check_env("CA_ROOT", "."), bin_root, out, extra);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "%s: exit %d", cmd, rc);
    return rc == 0;
}

/* Every image of py equals image map(i) of bin, in batches of 512. */
static void compare_sets(const struct cact_cifar_set *py, const struct cact_cifar_set *bin,
                         int label_mode)
{
    enum { B = 512 };
    static uint8_t a[B * CACT_CIFAR_PIXELS], b[B * CACT_CIFAR_PIXELS];
    size_t ia[B];
    int la[B], lb[B];
    struct cact_err e;
    size_t px_bad = 0, lab_bad = 0;
    for (size_t first = 0; first < cact_cifar_count(py); first += B) {
        size_t n = cact_cifar_count(py) - first < B ? cact_cifar_count(py) - first : B;
        for (size_t k = 0; k < n; k++)
            ia[k] = first + k;
        CHECK_EQ_INT(cact_cifar_read(py, ia, n, a, la, &e), CACT_OK);
        CHECK_EQ_INT(cact_cifar_read(bin, ia, n, b, lb, &e), CACT_OK);
        for (size_t k = 0; k < n; k++) {
            size_t i = first + k;
            int want = label_mode == 0 ? lb[k] : label_mode == 1 ? lb[k] * 10 + (int)(i % 10)
                                                                 : (lb[k] * 10 + (int)(i % 10)) / 5;
            px_bad += memcmp(a + k * CACT_CIFAR_PIXELS, b + k * CACT_CIFAR_PIXELS,
                             CACT_CIFAR_PIXELS) != 0;
            lab_bad += la[k] != want;
        }
    }
    CHECK_EQ_INT(px_bad, 0);
    CHECK_EQ_INT(lab_bad, 0);
}

static void test_fidelity(void)
{
    char real[600], out[600];
    struct cact_cifar_set *bin = NULL, *py = NULL;
    struct cact_err e;

    if (!find_real(real, sizeof real)) {
        CHECK_MSG(0, "the real test set must be at $CA_SHARED or ./data /cifar-10-batches-bin");
        return;
    }
    snprintf(out, sizeof out, "%s/py", tmp);
    if (!make_pickles(real, out, "--train"))
        return;
    CHECK_EQ_INT(cact_cifar_open(&bin, real, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e), CACT_OK);
    CHECK_EQ_INT(cact_cifar_open_python(&py, out, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e), CACT_OK);
    if (!bin || !py) {
        fprintf(stderr, "%s\n", e.msg);
        goto out;
    }
    CHECK_EQ_INT(cact_cifar_count(py), 10000);
    CHECK_EQ_INT(cact_cifar_format(py), CACT_CIFAR_FORMAT_PYTHON);
    CHECK_EQ_INT(cact_cifar_format(bin), CACT_CIFAR_FORMAT_BINARY);
    CHECK_EQ_INT(cact_cifar_n_classes(py), 10);
    for (int k = 0; k < 10; k++)
        CHECK(strcmp(cact_cifar_class_name(py, k), cact_cifar_class_name(bin, k)) == 0);
    compare_sets(py, bin, 0);
    /* A shuffled, non-contiguous read too. */
    {
        size_t idx[5] = {9999, 0, 5000, 5001, 17};
        static uint8_t a[5 * CACT_CIFAR_PIXELS], b[5 * CACT_CIFAR_PIXELS];
        int la[5], lb[5];
        CHECK_EQ_INT(cact_cifar_read(py, idx, 5, a, la, &e), CACT_OK);
        CHECK_EQ_INT(cact_cifar_read(bin, idx, 5, b, lb, &e), CACT_OK);
        CHECK(memcmp(a, b, sizeof a) == 0 && memcmp(la, lb, sizeof la) == 0);
    }
    cact_cifar_free(py);
    py = NULL;
    /* Train split: five files of 2000 images, in order. */
    CHECK_EQ_INT(cact_cifar_open_python(&py, out, CACT_CIFAR_10, CACT_CIFAR_TRAIN, CACT_CIFAR_LABEL_FINE, &e), CACT_OK);
    if (py) {
        CHECK_EQ_INT(cact_cifar_count(py), 10000);
        compare_sets(py, bin, 0);
        cact_cifar_free(py);
        py = NULL;
    }
    /* CIFAR-100 layout: fine and coarse labels. */
    if (make_pickles(real, out, "--cifar100")) {
        CHECK_EQ_INT(cact_cifar_open_python(&py, out, CACT_CIFAR_100, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e), CACT_OK);
        if (py) {
            CHECK_EQ_INT(cact_cifar_n_classes(py), 100);
            CHECK(strcmp(cact_cifar_class_name(py, 42), "fine_42") == 0);
            compare_sets(py, bin, 1);
            cact_cifar_free(py);
            py = NULL;
        }
        CHECK_EQ_INT(cact_cifar_open_python(&py, out, CACT_CIFAR_100, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_COARSE, &e), CACT_OK);
        if (py) {
            CHECK_EQ_INT(cact_cifar_n_classes(py), 20);
            compare_sets(py, bin, 2);
            cact_cifar_free(py);
            py = NULL;
        }
    }
out:
    cact_cifar_free(py);
    cact_cifar_free(bin);
}

/* open_any: the binary version when both are there, else the Python one, else a
 * message that names both and where each comes from. */
static void test_open_any(void)
{
    char real[600], out[600], cmd[4096];
    struct cact_cifar_set *s = NULL;
    struct cact_err e;

    snprintf(out, sizeof out, "%s/py", tmp); /* written by test_fidelity */
    CHECK_EQ_INT(cact_cifar_open_any(&s, out, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, 0, &e), CACT_OK);
    if (s)
        CHECK_EQ_INT(cact_cifar_format(s), CACT_CIFAR_FORMAT_PYTHON);
    cact_cifar_free(s);
    s = NULL;
    if (find_real(real, sizeof real)) {
        snprintf(cmd, sizeof cmd, "mkdir -p '%s/cifar-10-batches-bin' && cp '%s/cifar-10-batches-bin/"
                 "test_batch.bin' '%s/cifar-10-batches-bin/batches.meta.txt' '%s/cifar-10-batches-bin/'",
                 out, real, real, out);
        CHECK_EQ_INT(system(cmd), 0);
        CHECK_EQ_INT(cact_cifar_open_any(&s, out, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, 1, &e), CACT_OK);
        if (s)
            CHECK_EQ_INT(cact_cifar_format(s), CACT_CIFAR_FORMAT_BINARY);
        cact_cifar_free(s);
        s = NULL;
    }
    CHECK_EQ_INT(cact_cifar_open_any(&s, tmp, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, 0, &e), CACT_ERR_MISSING);
    CHECK(strstr(e.msg, "cifar-10-batches-bin/test_batch.bin not found"));
    CHECK(strstr(e.msg, "; or the Python version: ") && strstr(e.msg, "/cifar-10-batches-py/test_batch, as "
                        "torchvision.datasets.CIFAR10(root, download=True) leaves it"));
    CHECK_EQ_INT(cact_cifar_open_any(&s, tmp, CACT_CIFAR_100, CACT_CIFAR_TRAIN, CACT_CIFAR_LABEL_FINE, 0, &e), CACT_ERR_MISSING);
    CHECK(strstr(e.msg, "cifar-100-python/train") && strstr(e.msg, "CIFAR100(root"));
    /* A missing file named as such by the reader itself. */
    struct cact_pickle_batch b;
    snprintf(cmd, sizeof cmd, "%s/nonexistent", tmp);
    CHECK_EQ_INT(cact_pickle_batch_read(cmd, &b, &e), CACT_ERR_MISSING);
    cact_pickle_batch_free(&b);
}

/* ---- Verification by torchvision's MD5s, and its archive ---- */

static void md5_of(const char *path, char *hex)
{
    unsigned char buf[65536], d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    size_t got;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    FILE *f = fopen(path, "rb");
    hex[0] = '\0';
    if (!f || !md || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1)
        goto out;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(md, buf, got);
    EVP_DigestFinal_ex(md, d, &dn);
    for (unsigned k = 0; k < dn; k++)
        sprintf(hex + 2 * k, "%02x", d[k]);
out:
    if (f)
        fclose(f);
    EVP_MD_CTX_free(md);
}

static void test_pyfetch(void)
{
    char real[600], dir[600], path[1400], cmd[4096], tb[33], meta[33], arch[33];
    struct cact_fetch_opts o;
    struct cact_err e;
    enum cact_cifar_format used = CACT_CIFAR_FORMAT_BINARY;

    if (!find_real(real, sizeof real))
        return; /* test_fidelity already failed for it */
    snprintf(dir, sizeof dir, "%s/pyfetch", tmp);
    if (!make_pickles(real, dir, ""))
        return;
    /* The generator reproduces batches.meta byte for byte: torchvision's published MD5. */
    snprintf(path, sizeof path, "%s/cifar-10-batches-py/batches.meta", dir);
    md5_of(path, meta);
    CHECK_MSG(strcmp(meta, "5ff9c542aee3614f3951f8cda6e48888") == 0, "batches.meta MD5 %s", meta);
    snprintf(path, sizeof path, "%s/cifar-10-batches-py/test_batch", dir);
    md5_of(path, tb);

    cact_fetch_opts_default(&o);
    o.data_dir = dir;
    o.offline = 1;
    CHECK(cact_pyfetch_present(dir, CACT_CIFAR_10, CACT_CIFAR_TEST));
    CHECK(!cact_pyfetch_present(dir, CACT_CIFAR_10, CACT_CIFAR_TRAIN));
    /* torchvision's table: test_batch cannot match (the binary version has no file
     * names, so ours are made up), and the message says so with both digests. */
    CHECK_EQ_INT(cact_pyfetch_verify(&o, &e), CACT_ERR_CHECKSUM);
    CHECK(strstr(e.msg, "test_batch: MD5 ") && strstr(e.msg, "expected 40351d587109b95175f43aff81a1287e"));
    /* With the tests' table (the --no-verify-like library option): verified, Python. */
    struct cact_fetch_md5 ok[] = {{.member = "test_batch", .md5 = tb}, {.member = "batches.meta", .md5 = meta},
                                  {.member = "cifar-10-python.tar.gz", .md5 = arch}, {.member = NULL}};
    o.test_md5 = ok;
    CHECK_EQ_INT(cact_pyfetch_verify(&o, &e), CACT_OK);
    CHECK_EQ_INT(cact_pyfetch_ensure(&o, &used, &e), CACT_OK);
    CHECK_EQ_INT(used, CACT_CIFAR_FORMAT_PYTHON);
    /* Verified files get fetch's stamp, so the next run does not hash them again ... */
    snprintf(path, sizeof path, "%s/cifar-10-batches-py/.test_batch.verified", dir);
    CHECK(access(path, R_OK) == 0);
    /* ... and a changed byte is still caught (the stamp no longer matches). */
    snprintf(cmd, sizeof cmd, "cp '%s/cifar-10-batches-py/test_batch' '%s/saved' && "
             "printf 'Z' | dd of='%s/cifar-10-batches-py/test_batch' bs=1 seek=30000000 conv=notrunc 2>/dev/null",
             dir, tmp, dir);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK_EQ_INT(cact_pyfetch_ensure(&o, &used, &e), CACT_ERR_CHECKSUM);
    CHECK(strstr(e.msg, "test_batch: MD5"));

    /* The archive: torchvision's name, built here with tarfile (standard library). */
    snprintf(cmd, sizeof cmd, "mv '%s/saved' '%s/cifar-10-batches-py/test_batch' && cd '%s' && python3 -c "
             "\"import tarfile; t = tarfile.open('%s/cifar-10-python.tar.gz', 'w:gz'); "
             "[t.add('cifar-10-batches-py/' + n) for n in ('batches.meta', 'test_batch')]; t.close()\" "
             "&& rm -r cifar-10-batches-py && mkdir cifar-10-batches-py", tmp, dir, dir, tmp);
    CHECK_EQ_INT(system(cmd), 0);
    snprintf(path, sizeof path, "%s/cifar-10-python.tar.gz", tmp);
    md5_of(path, arch);
    o.archive = path;
    CHECK(cact_pyfetch_is_archive(path, CACT_CIFAR_10));
    CHECK(!cact_pyfetch_is_archive("cifar-10-binary.tar.gz", CACT_CIFAR_10));
    /* Wrong archive digest: refused, nothing left behind. */
    struct cact_fetch_md5 bad_arch[] = {{.member = "test_batch", .md5 = tb}, {.member = "batches.meta", .md5 = meta},
                                        {.member = "cifar-10-python.tar.gz", .md5 = "c58f30108f718f92721af3b95e74349a"},
                                        {.member = NULL}};
    o.test_md5 = bad_arch;
    CHECK_EQ_INT(cact_pyfetch_ensure(&o, &used, &e), CACT_ERR_CHECKSUM);
    CHECK(strstr(e.msg, "expected c58f30108f718f92721af3b95e74349a (torchvision's published digest of "
                        "cifar-10-python.tar.gz)"));
    CHECK(!cact_pyfetch_present(dir, CACT_CIFAR_10, CACT_CIFAR_TEST));
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/cifar-10-batches-py')\"", dir);
    CHECK_EQ_INT(system(cmd), 0);
    /* Right digests: extracted, verified, readable, pixels as before. */
    o.test_md5 = ok;
    CHECK_EQ_INT(cact_pyfetch_ensure(&o, &used, &e), CACT_OK);
    CHECK_EQ_INT(used, CACT_CIFAR_FORMAT_PYTHON);
    struct cact_cifar_set *s = NULL, *bin = NULL;
    CHECK_EQ_INT(cact_cifar_open_any(&s, dir, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, 1, &e), CACT_OK);
    CHECK_EQ_INT(cact_cifar_open(&bin, real, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e), CACT_OK);
    if (s && bin)
        compare_sets(s, bin, 0);
    cact_cifar_free(s);
    cact_cifar_free(bin);
    /* Nothing anywhere, offline: the message names both versions. */
    o.archive = NULL;
    o.data_dir = tmp;
    o.test_md5 = NULL;
    CHECK_EQ_INT(cact_pyfetch_ensure(&o, &used, &e), CACT_ERR_MISSING);
    CHECK(strstr(e.msg, "or the Python version: ") && strstr(e.msg, "/cifar-10-batches-py/ as "
          "torchvision.datasets.CIFAR10(root, download=True) leaves it, or its archive "
          "cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz)"));
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s/test_pickle.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(tmp))
        return 2;
    test_valid();
    test_globals();
    test_reduce();
    test_opcodes();
    test_limits();
    test_truncation();
    test_wrong_types();
    test_names();
    test_fidelity();
    test_open_any();
    test_pyfetch();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return check_summary("test_pickle");
}
