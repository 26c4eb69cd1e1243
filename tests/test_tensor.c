/* test_tensor.c - the --tensor demo's library: the literal parser (good and bad
 * input), the lesson's reshape, the chain, and str(tensor) against PyTorch 1.13's own
 * strings (tests/golden/tensor_print.txt from tools/gen_golden_tensor.py). */
#include <string.h>

#include "check.h"
#include "tensor.h"
#include "tensor_print.h"

static char big[1 << 21];

/* Undo the golden file's "\n" escapes in place. */
static void unescape(char *s)
{
    char *d = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] == 'n') {
            *d++ = '\n';
            s++;
        } else {
            *d++ = *s;
        }
    }
    *d = '\0';
}

static void check_str(const char *what, const char *literal, const char *got, const char *want)
{
    CHECK_MSG(strcmp(got, want) == 0, "%s of %.60s:\n--- got\n%s\n--- want\n%s", what, literal,
              got, want);
}

static int goldens(const char *path)
{
    static char line[1 << 18], out[1 << 18];
    FILE *f = fopen(path, "r");
    int records = 0;

    CHECK_MSG(f != NULL, "cannot open %s", path);
    while (f && fgets(line, sizeof line, f)) {
        char *field[5], *p = line, *t;
        int n = 0;
        struct cact_tensor x;
        struct cact_act_chain chain = {0};
        struct cact_err e;

        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        while (n < 5 && (t = strsep(&p, "\t")) != NULL)
            field[n++] = t;
        CHECK_MSG(n == 5, "bad golden line");
        if (n != 5)
            continue;
        records++;
        for (int i = 2; i < 5; i++)
            unescape(field[i]);
        if (cact_tensor_parse(field[0], &x, &e) != CACT_OK) {
            CHECK_MSG(0, "parse %.60s: %s", field[0], e.msg);
            continue;
        }
        CHECK_EQ_INT(cact_tensor_lesson_shape(&x, &e), CACT_OK);
        cact_tensor_format_shape(&x, out, sizeof out);
        check_str("shape", field[0], out, field[2]);
        size_t need = cact_tensor_format(&x, NULL, 0);
        CHECK_EQ_INT(cact_tensor_format(&x, out, sizeof out), need);
        check_str("input", field[0], out, field[3]);
        if (strcmp(field[1], "-") != 0) {
            char *q = field[1], *spec;
            while ((spec = strsep(&q, "|")) != NULL) {
                CHECK_MSG(cact_act_parse(spec, &chain.fn[chain.n], &e) == CACT_OK, "%s", e.msg);
                chain.n++;
            }
        }
        /* inplace=False into a new buffer, then inplace=True over the input: equal. */
        struct cact_tensor y = x;
        y.data = malloc(x.n * sizeof *y.data);
        CHECK_EQ_INT(cact_tensor_apply(&chain, &x, y.data, &e), CACT_OK);
        cact_tensor_format(&x, out, sizeof out);
        check_str("input after inplace=False", field[0], out, field[3]);
        cact_tensor_format(&y, out, sizeof out);
        check_str("output", field[0], out, field[4]);
        CHECK_EQ_INT(cact_tensor_apply(&chain, &x, x.data, &e), CACT_OK);
        cact_tensor_format(&x, out, sizeof out);
        check_str("input after inplace=True", field[0], out, field[4]);
        free(y.data);
        cact_tensor_free(&x);
    }
    if (f)
        fclose(f);
    return records;
}

static void bad(const char *text, const char *msg_part)
{
    struct cact_tensor t;
    struct cact_err e;
    cact_err_clear(&e);
    CHECK_MSG(cact_tensor_parse(text, &t, &e) == CACT_ERR_USAGE, "accepted %.40s", text);
    CHECK_MSG(strstr(e.msg, msg_part) != NULL, "%.40s: message '%s' lacks '%s'", text, e.msg,
              msg_part);
    cact_tensor_free(&t);
}

static void parser(void)
{
    struct cact_tensor t;
    struct cact_err e;

    CHECK_EQ_INT(cact_tensor_parse(" [ [1 , -0.5,] , [-1,3] , ] ", &t, &e), CACT_OK);
    CHECK(t.ndim == 2 && t.shape[0] == 2 && t.shape[1] == 2 && t.n == 4);
    CHECK(t.data[1] == -0.5f && t.data[3] == 3.0f);
    CHECK_EQ_INT(cact_tensor_lesson_shape(&t, &e), CACT_OK);
    CHECK(t.ndim == 4 && t.shape[0] == 1 && t.shape[1] == 1 && t.shape[2] == 2 && t.shape[3] == 2);
    cact_tensor_free(&t);
    /* Double then float32, like torch.tensor of a Python float. */
    CHECK_EQ_INT(cact_tensor_parse("[0.1, 1e-45, 1e39, -NaN, -inf, Infinity]", &t, &e), CACT_OK);
    CHECK(t.data[0] == (float)0.1 && t.data[1] > 0 && isinf(t.data[2]) && isnan(t.data[3]));
    CHECK(isinf(t.data[4]) && t.data[4] < 0 && isinf(t.data[5]));
    cact_tensor_free(&t);
    CHECK_EQ_INT(cact_tensor_parse("7", &t, &e), CACT_OK);
    CHECK(t.ndim == 0 && t.n == 1 && t.data[0] == 7.0f);
    CHECK_EQ_INT(cact_tensor_lesson_shape(&t, &e), CACT_OK);
    CHECK(t.ndim == 0);
    cact_tensor_free(&t);
    CHECK_EQ_INT(cact_tensor_parse("[[[[1]]]]", &t, &e), CACT_OK);
    CHECK(t.ndim == 4);
    cact_tensor_free(&t);

    /* Empty lists, as torch.tensor takes them: [] is (0), [[], []] (2, 0). A 2-D one
     * cannot take the lesson's reshape (torch.reshape: the -1 is ambiguous). */
    CHECK_EQ_INT(cact_tensor_parse("[ ]", &t, &e), CACT_OK);
    CHECK(t.ndim == 1 && t.shape[0] == 0 && t.n == 0);
    CHECK_EQ_INT(cact_tensor_lesson_shape(&t, &e), CACT_OK);
    cact_tensor_free(&t);
    CHECK_EQ_INT(cact_tensor_parse("[[], [],]", &t, &e), CACT_OK);
    CHECK(t.ndim == 2 && t.shape[0] == 2 && t.shape[1] == 0 && t.n == 0);
    CHECK_EQ_INT(cact_tensor_lesson_shape(&t, &e), CACT_ERR_USAGE);
    CHECK_MSG(strstr(e.msg, "cannot reshape tensor of 0 elements into shape [-1, 1, 2, 0]"),
              "%s", e.msg);
    CHECK(t.ndim == 2);
    cact_tensor_free(&t);

    bad("[[[[[1]]]]]", "more than 4 nested lists at offset 4");
    bad("[[1, 2], [3]]", "has 1 items, expected 2");
    bad("[[1, 2], 3]", "expected a list at offset 9");
    bad("[1, [2]]", "expected a number at offset 4");
    bad("[[1], []]", "the list at offset 6 has 0 items, expected 1");
    bad("[[], [1]]", "the list at offset 5 has 1 items, expected 0");
    bad("[[[1]], []]", "empty list at offset 8 (numbers are 3 lists deep");
    bad("[[[[[]]]]]", "more than 4 nested lists at offset 4");
    bad("", "expected a number or '[' at offset 0");
    bad("[1, 2", "missing ']' for the '[' at offset 0");
    bad("[1 2]", "expected ',' or ']' at offset 3");
    bad("[1, 2]]", "unexpected ']' at offset 6");
    bad("[1, x]", "expected a number or '[' at offset 4");
    bad("[1e]", "bad exponent at offset 2");
    bad("[0x10]", "unexpected 'x' in a number at offset 2");
    bad("[1.2.3]", "unexpected '.' in a number");
    bad("[nanx]", "expected a number or '['");
    bad("[1,,2]", "expected a number or '[' at offset 3");
    /* Too many numbers, and too long a text. */
    size_t k = 0;
    big[k++] = '[';
    for (int i = 0; i <= CACT_TENSOR_MAX_ELEMS; i++) {
        big[k++] = '1';
        big[k++] = ',';
    }
    big[k++] = ']';
    big[k] = '\0';
    bad(big, "more than 65536 numbers");
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    bad(big, "longer than");
}

static void chain_errors(void)
{
    struct cact_tensor t;
    struct cact_act_chain chain = {0};
    struct cact_err e;
    float y[3];

    CHECK_EQ_INT(cact_tensor_parse("[1, 2, 3]", &t, &e), CACT_OK);
    CHECK_EQ_INT(cact_act_parse("softmax", &chain.fn[0], &e), CACT_OK);
    chain.n = 1;
    CHECK_EQ_INT(cact_tensor_apply(&chain, &t, y, &e), CACT_ERR_USAGE);
    CHECK(strstr(e.msg, "softmax runs over dimension 1") != NULL);
    cact_tensor_free(&t);
}

static void buffers(void)
{
    struct cact_tensor t;
    struct cact_err e;
    char small[10];

    CHECK_EQ_INT(cact_tensor_parse("[[1, -0.5], [-1, 3]]", &t, &e), CACT_OK);
    size_t need = cact_tensor_format(&t, NULL, 0);
    memset(small, 'x', sizeof small);
    CHECK_EQ_INT(cact_tensor_format(&t, small, sizeof small), need);
    CHECK(strcmp(small, "tensor([[") == 0); /* truncated, NUL-terminated */
    CHECK_EQ_INT(cact_tensor_format_shape(&t, small, 1), strlen("torch.Size([2, 2])"));
    CHECK(small[0] == '\0');
    cact_tensor_free(&t);
}

int main(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/tests/golden/tensor_print.txt", check_env("CA_ROOT", "."));
    int n = goldens(path);
    CHECK_MSG(n >= 60, "only %d golden records", n);
    parser();
    chain_errors();
    buffers();
    return check_summary("test_tensor");
}
