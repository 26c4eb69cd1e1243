/* pickle.c - restricted unpickler for the Python version of CIFAR-10/100: see pickle.h.
 *
 * A pickle is a program for a stack machine. This one runs only the handful of
 * opcodes cPickle wrote for these files, over a value model that can hold nothing
 * but what they contain (ints, strings, lists, tuples, dicts, and three numpy names).
 * "GLOBAL numpy dtype" pushes a name, not a class, and REDUCE on it builds a record of
 * what numpy would have done after checking the arguments; there is no code to call.
 */
#include "pickle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PK_MAX_STACK 65536
#define PK_MAX_MEMO (1u << 20)
#define PK_MAX_ITEMS (1u << 20)       /* list/tuple/dict entries */
#define PK_SMALL_MAX (64u * 1024)      /* longer strings are skipped, not loaded */
#define PK_BUDGET (64u * 1024 * 1024)  /* bytes of values and strings held at once */
#define PK_GLOBAL_MAX 64               /* module or name line */
#ifndef PK_BUF
#define PK_BUF 65536                   /* file read buffer; the fuzz build makes it tiny */
#endif

/* ---- Values ---- */

enum pk_type {
    PK_UNSET, /* memo slot never written */
    PK_NONE, PK_BOOL, PK_INT, PK_STR, PK_LIST, PK_TUPLE, PK_DICT, PK_GLOBAL, PK_DTYPE,
    PK_ARRAY, PK_TYPE_COUNT
};
static const char *const pk_type_name[] = {
    [PK_UNSET] = "nothing", [PK_NONE] = "None", [PK_BOOL] = "bool", [PK_INT] = "int",
    [PK_STR] = "string", [PK_LIST] = "list", [PK_TUPLE] = "tuple", [PK_DICT] = "dict",
    [PK_GLOBAL] = "global name", [PK_DTYPE] = "numpy dtype", [PK_ARRAY] = "numpy array",
};
_Static_assert(sizeof pk_type_name / sizeof *pk_type_name == PK_TYPE_COUNT, "one name per type");

/* The only globals: names compared as text, never resolved. */
enum pk_global { PK_G_RECONSTRUCT, PK_G_NDARRAY, PK_G_DTYPE, PK_G_COUNT };
static const struct { const char *module, *name; } pk_globals[] = {
    [PK_G_RECONSTRUCT] = { "numpy.core.multiarray", "_reconstruct" },
    [PK_G_NDARRAY] = { "numpy", "ndarray" },
    [PK_G_DTYPE] = { "numpy", "dtype" },
};
_Static_assert(sizeof pk_globals / sizeof *pk_globals == PK_G_COUNT, "one row per global");

struct pk_obj;
struct pk_val {
    enum pk_type t;
    int64_t i;          /* PK_BOOL, PK_INT */
    struct pk_obj *o;   /* everything else */
};

struct pk_obj {
    enum pk_type t;
    struct pk_obj *next;      /* every object, for freeing (memo and lists may share) */
    /* PK_STR */
    uint64_t off, len;        /* where the bytes are in the input, and how many */
    unsigned char *bytes;     /* NUL-terminated copy if len <= PK_SMALL_MAX, else NULL */
    /* PK_LIST, PK_TUPLE, PK_DICT (keys and values alternate) */
    struct pk_val *v;
    size_t n, cap;
    /* PK_GLOBAL */
    enum pk_global which;
    /* PK_DTYPE, PK_ARRAY */
    int built;
    int ndim;
    uint64_t shape[2];
    struct pk_obj *data;      /* PK_ARRAY: its PK_STR */
};

/* ---- Input ---- */

struct pk_src {
    const char *name;
    int fd;                   /* -1: in memory */
    const unsigned char *mem;
    uint64_t size, pos;
    unsigned char *buf;       /* fd only: bytes [bstart, bstart + blen) of the file */
    uint64_t bstart;
    size_t blen;
};

struct pk_vm {
    struct pk_src src;
    struct cact_err *err;
    uint64_t op_off;          /* offset of the opcode being run, for messages */
    unsigned char op;
    struct pk_val *stack;
    size_t sp, scap;
    size_t marks[CACT_PICKLE_MAX_DEPTH];
    int n_marks;
    struct pk_val *memo;
    size_t memo_cap;
    struct pk_obj *objs;
    size_t used;              /* bytes counted against PK_BUDGET */
    int stopped;
};

static enum cact_status pk_bad(struct pk_vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Every refusal: "FILE: offset N: what" (CACT_ERR_FORMAT). */
static enum cact_status pk_bad(struct pk_vm *vm, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: offset %llu: %s (not a CIFAR pickle as "
                     "torchvision downloads it)", vm->src.name,
                     (unsigned long long)vm->op_off, what);
}

static enum cact_status pk_read(struct pk_vm *vm, void *dst, size_t n)
{
    struct pk_src *s = &vm->src;
    unsigned char *d = dst;

    if (n > s->size - s->pos)
        return pk_bad(vm, "truncated: opcode 0x%02x needs %zu more bytes, %llu remain",
                      vm->op, n, (unsigned long long)(s->size - s->pos));
    if (s->fd < 0) {
        memcpy(d, s->mem + s->pos, n);
        s->pos += n;
        return CACT_OK;
    }
    while (n) {
        if (s->pos >= s->bstart && s->pos < s->bstart + s->blen) {
            size_t at = (size_t)(s->pos - s->bstart);
            size_t k = s->blen - at < n ? s->blen - at : n;
            memcpy(d, s->buf + at, k);
            d += k;
            n -= k;
            s->pos += k;
            continue;
        }
        ssize_t r = pread(s->fd, s->buf, PK_BUF, (off_t)s->pos);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cact_fail(vm->err, CACT_ERR_IO, "cannot read %s: %s", s->name,
                             strerror(errno));
        if (r == 0)
            return cact_fail(vm->err, CACT_ERR_IO, "%s: unexpected end of file (did it shrink?)",
                             s->name);
        s->bstart = s->pos;
        s->blen = (size_t)r;
    }
    return CACT_OK;
}

static uint64_t pk_le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; k--)
        v = v << 8 | b[k];
    return v;
}

/* ---- Objects, stack, memo ---- */

static enum cact_status pk_charge(struct pk_vm *vm, size_t bytes)
{
    if (bytes > PK_BUDGET - vm->used)
        return pk_bad(vm, "more than %u MiB of values", PK_BUDGET >> 20);
    vm->used += bytes;
    return CACT_OK;
}

static enum cact_status pk_new(struct pk_vm *vm, enum pk_type t, struct pk_obj **out)
{
    enum cact_status st = pk_charge(vm, sizeof **out);
    if (st != CACT_OK)
        return st;
    struct pk_obj *o = calloc(1, sizeof *o);
    if (!o)
        return cact_fail(vm->err, CACT_ERR_NOMEM, "out of memory reading %s", vm->src.name);
    o->t = t;
    o->next = vm->objs;
    vm->objs = o;
    *out = o;
    return CACT_OK;
}

static void pk_free_all(struct pk_vm *vm)
{
    for (struct pk_obj *o = vm->objs, *next; o; o = next) {
        next = o->next;
        free(o->bytes);
        free(o->v);
        free(o);
    }
    vm->objs = NULL;
    free(vm->stack);
    free(vm->memo);
    free(vm->src.buf);
}

/* Grow *arr (elements of size sz, capacity *cap) to hold need, charging the budget. */
static enum cact_status pk_grow(struct pk_vm *vm, void **arr, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return CACT_OK;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    enum cact_status st = pk_charge(vm, (ncap - *cap) * sz);
    if (st != CACT_OK)
        return st;
    void *p = realloc(*arr, ncap * sz);
    if (!p)
        return cact_fail(vm->err, CACT_ERR_NOMEM, "out of memory reading %s", vm->src.name);
    *arr = p;
    *cap = ncap;
    return CACT_OK;
}

static enum cact_status pk_push(struct pk_vm *vm, struct pk_val v)
{
    if (vm->sp == PK_MAX_STACK)
        return pk_bad(vm, "stack deeper than %d values", PK_MAX_STACK);
    enum cact_status st = pk_grow(vm, (void **)&vm->stack, &vm->scap, vm->sp + 1, sizeof v);
    if (st == CACT_OK)
        vm->stack[vm->sp++] = v;
    return st;
}

static enum cact_status pk_push_obj(struct pk_vm *vm, struct pk_obj *o)
{
    return pk_push(vm, (struct pk_val){ .t = o->t, .o = o });
}

static size_t pk_floor(const struct pk_vm *vm) /* lowest slot the current frame may pop */
{
    return vm->n_marks ? vm->marks[vm->n_marks - 1] : 0;
}

static enum cact_status pk_pop(struct pk_vm *vm, struct pk_val *v)
{
    if (vm->sp <= pk_floor(vm))
        return pk_bad(vm, "opcode 0x%02x pops from an empty stack", vm->op);
    *v = vm->stack[--vm->sp];
    return CACT_OK;
}

/* The values above the innermost MARK, which the opcode then removes with the mark. */
static enum cact_status pk_pop_mark(struct pk_vm *vm, size_t *first)
{
    if (!vm->n_marks)
        return pk_bad(vm, "opcode 0x%02x without a MARK", vm->op);
    *first = vm->marks[--vm->n_marks];
    return CACT_OK;
}

/* Append n values to a list, tuple or dict. */
static enum cact_status pk_extend(struct pk_vm *vm, struct pk_obj *c, const struct pk_val *v,
                                  size_t n)
{
    if (n > PK_MAX_ITEMS - c->n)
        return pk_bad(vm, "a %s longer than %u entries", pk_type_name[c->t], PK_MAX_ITEMS);
    enum cact_status st = pk_grow(vm, (void **)&c->v, &c->cap, c->n + n, sizeof *v);
    if (st != CACT_OK)
        return st;
    if (n)
        memcpy(c->v + c->n, v, n * sizeof *v);
    c->n += n;
    return CACT_OK;
}

static enum cact_status pk_make_tuple(struct pk_vm *vm, size_t first)
{
    struct pk_obj *t = NULL;
    enum cact_status st = pk_new(vm, PK_TUPLE, &t);
    if (st == CACT_OK)
        st = pk_extend(vm, t, vm->stack + first, vm->sp - first);
    if (st != CACT_OK)
        return st;
    vm->sp = first;
    return pk_push_obj(vm, t);
}

/* ---- Opcodes ---- */

typedef enum cact_status (*pk_op_fn)(struct pk_vm *vm);

static enum cact_status op_proto(struct pk_vm *vm)
{
    unsigned char v;
    enum cact_status st = pk_read(vm, &v, 1);
    if (st != CACT_OK)
        return st;
    if (vm->op_off != 0)
        return pk_bad(vm, "PROTO not at the start");
    if (v != 2)
        return pk_bad(vm, "pickle protocol %d, expected 2 (as Python 2's cPickle wrote it)", v);
    return CACT_OK;
}

static enum cact_status op_stop(struct pk_vm *vm)
{
    vm->stopped = 1;
    return CACT_OK;
}

static enum cact_status op_mark(struct pk_vm *vm)
{
    if (vm->n_marks == CACT_PICKLE_MAX_DEPTH)
        return pk_bad(vm, "nested deeper than %d MARKs", CACT_PICKLE_MAX_DEPTH);
    vm->marks[vm->n_marks++] = vm->sp;
    return CACT_OK;
}

static enum cact_status op_new_container(struct pk_vm *vm, enum pk_type t)
{
    struct pk_obj *o = NULL;
    enum cact_status st = pk_new(vm, t, &o);
    return st == CACT_OK ? pk_push_obj(vm, o) : st;
}
static enum cact_status op_empty_dict(struct pk_vm *vm) { return op_new_container(vm, PK_DICT); }
static enum cact_status op_empty_list(struct pk_vm *vm) { return op_new_container(vm, PK_LIST); }
static enum cact_status op_empty_tuple(struct pk_vm *vm) { return op_new_container(vm, PK_TUPLE); }

static enum cact_status op_tuple(struct pk_vm *vm)
{
    size_t first = 0;
    enum cact_status st = pk_pop_mark(vm, &first);
    return st == CACT_OK ? pk_make_tuple(vm, first) : st;
}

static enum cact_status op_tuple_n(struct pk_vm *vm, size_t n)
{
    if (vm->sp - pk_floor(vm) < n)
        return pk_bad(vm, "TUPLE%zu with fewer than %zu values on the stack", n, n);
    return pk_make_tuple(vm, vm->sp - n);
}
static enum cact_status op_tuple1(struct pk_vm *vm) { return op_tuple_n(vm, 1); }
static enum cact_status op_tuple2(struct pk_vm *vm) { return op_tuple_n(vm, 2); }
static enum cact_status op_tuple3(struct pk_vm *vm) { return op_tuple_n(vm, 3); }

/* The container an APPEND(S)/SETITEM(S) adds to sits just below its operands. */
static enum cact_status pk_target(struct pk_vm *vm, size_t below, enum pk_type want,
                                  struct pk_obj **out)
{
    if (below == 0 || below - 1 < pk_floor(vm))
        return pk_bad(vm, "opcode 0x%02x with no %s to add to", vm->op, pk_type_name[want]);
    struct pk_val *c = &vm->stack[below - 1];
    if (c->t != want)
        return pk_bad(vm, "opcode 0x%02x adds to a %s, expected a %s", vm->op,
                      pk_type_name[c->t], pk_type_name[want]);
    *out = c->o;
    return CACT_OK;
}

static enum cact_status op_append(struct pk_vm *vm)
{
    struct pk_obj *list = NULL;
    enum cact_status st = pk_target(vm, vm->sp ? vm->sp - 1 : 0, PK_LIST, &list);
    if (st != CACT_OK)
        return st;
    st = pk_extend(vm, list, &vm->stack[vm->sp - 1], 1);
    vm->sp--;
    return st;
}

static enum cact_status op_appends(struct pk_vm *vm)
{
    size_t first = 0;
    struct pk_obj *list = NULL;
    enum cact_status st = pk_pop_mark(vm, &first);
    if (st == CACT_OK)
        st = pk_target(vm, first, PK_LIST, &list);
    if (st != CACT_OK)
        return st;
    st = pk_extend(vm, list, vm->stack + first, vm->sp - first);
    vm->sp = first;
    return st;
}

/* Dict keys here are strings (bytes from cPickle, or str); anything else is refused. */
static enum cact_status pk_set_items(struct pk_vm *vm, struct pk_obj *dict, size_t first)
{
    if ((vm->sp - first) % 2)
        return pk_bad(vm, "SETITEMS with an odd number of values");
    for (size_t k = first; k < vm->sp; k += 2)
        if (vm->stack[k].t != PK_STR || !vm->stack[k].o->bytes)
            return pk_bad(vm, "dict key is a %s, expected a short string",
                          pk_type_name[vm->stack[k].t]);
    enum cact_status st = pk_extend(vm, dict, vm->stack + first, vm->sp - first);
    vm->sp = first;
    return st;
}

static enum cact_status op_setitem(struct pk_vm *vm)
{
    struct pk_obj *dict = NULL;
    if (vm->sp < pk_floor(vm) + 3)
        return pk_bad(vm, "SETITEM needs a dict, a key and a value");
    enum cact_status st = pk_target(vm, vm->sp - 2, PK_DICT, &dict);
    return st == CACT_OK ? pk_set_items(vm, dict, vm->sp - 2) : st;
}

static enum cact_status op_setitems(struct pk_vm *vm)
{
    size_t first = 0;
    struct pk_obj *dict = NULL;
    enum cact_status st = pk_pop_mark(vm, &first);
    if (st == CACT_OK)
        st = pk_target(vm, first, PK_DICT, &dict);
    if (st != CACT_OK)
        return st;
    return pk_set_items(vm, dict, first);
}

static enum cact_status op_none(struct pk_vm *vm) { return pk_push(vm, (struct pk_val){ .t = PK_NONE }); }
static enum cact_status op_true(struct pk_vm *vm) { return pk_push(vm, (struct pk_val){ .t = PK_BOOL, .i = 1 }); }
static enum cact_status op_false(struct pk_vm *vm) { return pk_push(vm, (struct pk_val){ .t = PK_BOOL, .i = 0 }); }

static enum cact_status op_int_n(struct pk_vm *vm, int n, int is_signed)
{
    unsigned char b[4];
    enum cact_status st = pk_read(vm, b, (size_t)n);
    if (st != CACT_OK)
        return st;
    uint64_t u = pk_le(b, n);
    int64_t v = is_signed ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
    return pk_push(vm, (struct pk_val){ .t = PK_INT, .i = v });
}
static enum cact_status op_binint1(struct pk_vm *vm) { return op_int_n(vm, 1, 0); }
static enum cact_status op_binint2(struct pk_vm *vm) { return op_int_n(vm, 2, 0); }
static enum cact_status op_binint(struct pk_vm *vm) { return op_int_n(vm, 4, 1); }

/* A string of len bytes follows. Short ones are copied; the long one (the pixels) is
 * only located: its bytes are skipped, after checking they are all there. */
static enum cact_status pk_string(struct pk_vm *vm, uint64_t len)
{
    struct pk_obj *o = NULL;
    enum cact_status st;

    if (len > vm->src.size - vm->src.pos)
        return pk_bad(vm, "truncated: a %llu-byte string, %llu bytes remain",
                      (unsigned long long)len, (unsigned long long)(vm->src.size - vm->src.pos));
    st = pk_new(vm, PK_STR, &o);
    if (st != CACT_OK)
        return st;
    o->off = vm->src.pos;
    o->len = len;
    if (len <= PK_SMALL_MAX) {
        st = pk_charge(vm, (size_t)len + 1);
        if (st != CACT_OK)
            return st;
        o->bytes = malloc((size_t)len + 1);
        if (!o->bytes)
            return cact_fail(vm->err, CACT_ERR_NOMEM, "out of memory reading %s", vm->src.name);
        st = pk_read(vm, o->bytes, (size_t)len);
        if (st != CACT_OK)
            return st;
        o->bytes[len] = '\0';
    } else {
        vm->src.pos += len;
    }
    return pk_push_obj(vm, o);
}

static enum cact_status op_short_binstring(struct pk_vm *vm)
{
    unsigned char b;
    enum cact_status st = pk_read(vm, &b, 1);
    return st == CACT_OK ? pk_string(vm, b) : st;
}

static enum cact_status op_binstring(struct pk_vm *vm)
{
    unsigned char b[4];
    enum cact_status st = pk_read(vm, b, 4);
    if (st != CACT_OK)
        return st;
    int32_t n = (int32_t)(uint32_t)pk_le(b, 4);
    if (n < 0)
        return pk_bad(vm, "BINSTRING with negative length %d", (int)n);
    return pk_string(vm, (uint64_t)n);
}

static enum cact_status op_binunicode(struct pk_vm *vm)
{
    unsigned char b[4];
    enum cact_status st = pk_read(vm, b, 4);
    return st == CACT_OK ? pk_string(vm, pk_le(b, 4)) : st;
}

static enum cact_status op_put_n(struct pk_vm *vm, int n)
{
    unsigned char b[4];
    enum cact_status st = pk_read(vm, b, (size_t)n);
    if (st != CACT_OK)
        return st;
    uint64_t idx = pk_le(b, n);
    if (vm->sp <= pk_floor(vm))
        return pk_bad(vm, "memo PUT with nothing on the stack");
    if (idx >= PK_MAX_MEMO)
        return pk_bad(vm, "memo index %llu, at most %u allowed", (unsigned long long)idx,
                      PK_MAX_MEMO - 1);
    size_t old = vm->memo_cap;
    st = pk_grow(vm, (void **)&vm->memo, &vm->memo_cap, (size_t)idx + 1, sizeof *vm->memo);
    if (st != CACT_OK)
        return st;
    for (size_t k = old; k < vm->memo_cap; k++)
        vm->memo[k] = (struct pk_val){ .t = PK_UNSET };
    vm->memo[idx] = vm->stack[vm->sp - 1];
    return CACT_OK;
}
static enum cact_status op_binput(struct pk_vm *vm) { return op_put_n(vm, 1); }
static enum cact_status op_long_binput(struct pk_vm *vm) { return op_put_n(vm, 4); }

static enum cact_status op_get_n(struct pk_vm *vm, int n)
{
    unsigned char b[4];
    enum cact_status st = pk_read(vm, b, (size_t)n);
    if (st != CACT_OK)
        return st;
    uint64_t idx = pk_le(b, n);
    if (idx >= vm->memo_cap || vm->memo[idx].t == PK_UNSET)
        return pk_bad(vm, "memo GET of undefined entry %llu", (unsigned long long)idx);
    return pk_push(vm, vm->memo[idx]);
}
static enum cact_status op_binget(struct pk_vm *vm) { return op_get_n(vm, 1); }
static enum cact_status op_long_binget(struct pk_vm *vm) { return op_get_n(vm, 4); }

/* One "text\n" line of a GLOBAL opcode, at most PK_GLOBAL_MAX bytes, identifier
 * characters and dots only (so it can be quoted in a message as it is). */
static enum cact_status pk_line(struct pk_vm *vm, char *out)
{
    for (int k = 0;; k++) {
        unsigned char c;
        enum cact_status st = pk_read(vm, &c, 1);
        if (st != CACT_OK)
            return st;
        if (c == '\n') {
            out[k] = '\0';
            return CACT_OK;
        }
        if (k == PK_GLOBAL_MAX)
            return pk_bad(vm, "GLOBAL name longer than %d bytes refused", PK_GLOBAL_MAX);
        if (!(c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z')))
            return pk_bad(vm, "GLOBAL name with byte 0x%02x refused", c);
        out[k] = (char)c;
    }
}

static enum cact_status op_global(struct pk_vm *vm)
{
    char module[PK_GLOBAL_MAX + 1], name[PK_GLOBAL_MAX + 1];
    enum cact_status st = pk_line(vm, module);
    if (st == CACT_OK)
        st = pk_line(vm, name);
    if (st != CACT_OK)
        return st;
    for (int g = 0; g < PK_G_COUNT; g++) {
        if (strcmp(module, pk_globals[g].module) == 0 && strcmp(name, pk_globals[g].name) == 0) {
            struct pk_obj *o = NULL;
            st = pk_new(vm, PK_GLOBAL, &o);
            if (st != CACT_OK)
                return st;
            o->which = (enum pk_global)g;
            return pk_push_obj(vm, o);
        }
    }
    return pk_bad(vm, "GLOBAL '%s %s' refused: only numpy's array reconstruction is allowed, "
                  "and nothing is ever imported or called", module, name);
}

static int pk_is_str(struct pk_val v, const char *s)
{
    return v.t == PK_STR && v.o->bytes && v.o->len == strlen(s) &&
           memcmp(v.o->bytes, s, v.o->len) == 0;
}

static int pk_is_int(struct pk_val v, int64_t i) { return v.t == PK_INT && v.i == i; }

/* REDUCE: only the two calls numpy's pickles make, checked argument by argument. */
static enum cact_status op_reduce(struct pk_vm *vm)
{
    struct pk_val args = { .t = PK_UNSET }, fn = { .t = PK_UNSET };
    struct pk_obj *o = NULL;
    enum cact_status st = pk_pop(vm, &args);
    if (st == CACT_OK)
        st = pk_pop(vm, &fn);
    if (st != CACT_OK)
        return st;
    if (fn.t != PK_GLOBAL)
        return pk_bad(vm, "REDUCE of a %s refused", pk_type_name[fn.t]);
    if (args.t != PK_TUPLE)
        return pk_bad(vm, "REDUCE with %s arguments, expected a tuple", pk_type_name[args.t]);
    const struct pk_val *a = args.o->v;
    size_t n = args.o->n;
    if (fn.o->which == PK_G_RECONSTRUCT) {
        /* numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') */
        if (n != 3 || a[0].t != PK_GLOBAL || a[0].o->which != PK_G_NDARRAY ||
            a[1].t != PK_TUPLE || a[1].o->n != 1 || !pk_is_int(a[1].o->v[0], 0) ||
            !pk_is_str(a[2], "b"))
            return pk_bad(vm, "_reconstruct with arguments other than (ndarray, (0,), 'b') refused");
        st = pk_new(vm, PK_ARRAY, &o);
    } else if (fn.o->which == PK_G_DTYPE) {
        /* numpy.dtype('u1', 0, 1): CIFAR pixels are unsigned bytes. */
        if (n != 3 || !pk_is_int(a[1], 0) || !pk_is_int(a[2], 1))
            return pk_bad(vm, "dtype with arguments other than (type, 0, 1) refused");
        if (!pk_is_str(a[0], "u1"))
            return pk_bad(vm, "array dtype is not 'u1' (CIFAR pixels are uint8)");
        st = pk_new(vm, PK_DTYPE, &o);
    } else {
        return pk_bad(vm, "REDUCE of numpy.%s refused", pk_globals[fn.o->which].name);
    }
    return st == CACT_OK ? pk_push_obj(vm, o) : st;
}

/* BUILD: numpy's __setstate__ tuples, for the dtype and the array REDUCE made. */
static enum cact_status op_build(struct pk_vm *vm)
{
    struct pk_val state = { .t = PK_UNSET };
    enum cact_status st = pk_pop(vm, &state);
    if (st != CACT_OK)
        return st;
    if (vm->sp <= pk_floor(vm))
        return pk_bad(vm, "BUILD with nothing to build");
    struct pk_val tgt = vm->stack[vm->sp - 1];
    if ((tgt.t != PK_DTYPE && tgt.t != PK_ARRAY) || tgt.o->built)
        return pk_bad(vm, "BUILD of a %s refused", tgt.o && tgt.o->built ? "built object" :
                      pk_type_name[tgt.t]);
    if (state.t != PK_TUPLE)
        return pk_bad(vm, "BUILD with a %s state, expected a tuple", pk_type_name[state.t]);
    const struct pk_val *s = state.o->v;
    size_t n = state.o->n;
    struct pk_obj *o = tgt.o;
    if (tgt.t == PK_DTYPE) {
        /* (3, '|', None, None, None, -1, -1, 0): version, byte order, no subarray,
         * names or fields, built-in size and alignment, no flags. */
        if (n != 8 || !pk_is_int(s[0], 3) || !pk_is_str(s[1], "|") || s[2].t != PK_NONE ||
            s[3].t != PK_NONE || s[4].t != PK_NONE || !pk_is_int(s[5], -1) ||
            !pk_is_int(s[6], -1) || !pk_is_int(s[7], 0))
            return pk_bad(vm, "uint8 dtype state other than (3, '|', None, None, None, -1, -1, 0) refused");
        o->built = 1;
        return CACT_OK;
    }
    /* (1, shape, dtype, is_fortran, raw bytes) */
    if (n != 5 || !pk_is_int(s[0], 1) || s[1].t != PK_TUPLE || s[2].t != PK_DTYPE ||
        !s[2].o->built || (s[3].t != PK_BOOL && s[3].t != PK_INT) || s[4].t != PK_STR)
        return pk_bad(vm, "array state other than (1, shape, uint8 dtype, False, bytes) refused");
    if (s[3].i != 0)
        return pk_bad(vm, "Fortran-order array refused");
    size_t ndim = s[1].o->n;
    if (ndim < 1 || ndim > 2)
        return pk_bad(vm, "%zu-dimensional array refused (CIFAR data is 2-D)", ndim);
    uint64_t count = 1;
    for (size_t k = 0; k < ndim; k++) {
        struct pk_val d = s[1].o->v[k];
        if (d.t != PK_INT || d.i < 0)
            return pk_bad(vm, "array shape entry %zu is not a non-negative int", k);
        o->shape[k] = (uint64_t)d.i;
        if (o->shape[k] && count > UINT64_MAX / o->shape[k])
            return pk_bad(vm, "array shape overflows");
        count *= o->shape[k];
    }
    if (count != s[4].o->len)
        return pk_bad(vm, "array of %llu elements holds %llu bytes", (unsigned long long)count,
                      (unsigned long long)s[4].o->len);
    o->ndim = (int)ndim;
    o->data = s[4].o;
    o->built = 1;
    return CACT_OK;
}

/* The opcode table: what is not here is refused. */
static const pk_op_fn pk_ops[256] = {
    [0x80] = op_proto,       ['.'] = op_stop,        ['('] = op_mark,
    ['}'] = op_empty_dict,   [']'] = op_empty_list,  [')'] = op_empty_tuple,
    ['t'] = op_tuple,        [0x85] = op_tuple1,     [0x86] = op_tuple2,
    [0x87] = op_tuple3,      ['a'] = op_append,      ['e'] = op_appends,
    ['s'] = op_setitem,      ['u'] = op_setitems,    ['N'] = op_none,
    [0x88] = op_true,        [0x89] = op_false,      ['K'] = op_binint1,
    ['M'] = op_binint2,      ['J'] = op_binint,      ['U'] = op_short_binstring,
    ['T'] = op_binstring,    ['X'] = op_binunicode,  ['q'] = op_binput,
    ['r'] = op_long_binput,  ['h'] = op_binget,      ['j'] = op_long_binget,
    ['c'] = op_global,       ['R'] = op_reduce,      ['b'] = op_build,
};

/* Names of the pickle opcodes we refuse, so the message says what was found. */
static const char *const pk_refused_name[256] = {
    ['I'] = "INT", ['L'] = "LONG", ['F'] = "FLOAT", ['G'] = "BINFLOAT", ['S'] = "STRING",
    ['V'] = "UNICODE", ['P'] = "PERSID", ['Q'] = "BINPERSID", ['i'] = "INST", ['o'] = "OBJ",
    ['l'] = "LIST", ['d'] = "DICT", ['p'] = "PUT", ['g'] = "GET", ['0'] = "POP",
    ['1'] = "POP_MARK", ['2'] = "DUP", [0x81] = "NEWOBJ", [0x82] = "EXT1", [0x83] = "EXT2",
    [0x84] = "EXT4", [0x8a] = "LONG1", [0x8b] = "LONG4", ['B'] = "BINBYTES",
    ['C'] = "SHORT_BINBYTES", [0x8c] = "SHORT_BINUNICODE", [0x8d] = "BINUNICODE8",
    [0x8e] = "BINBYTES8", [0x8f] = "EMPTY_SET", [0x90] = "ADDITEMS", [0x91] = "FROZENSET",
    [0x92] = "NEWOBJ_EX", [0x93] = "STACK_GLOBAL", [0x94] = "MEMOIZE", [0x95] = "FRAME",
    [0x96] = "BYTEARRAY8", [0x97] = "NEXT_BUFFER", [0x98] = "READONLY_BUFFER",
};

static enum cact_status pk_run(struct pk_vm *vm, struct pk_obj **top)
{
    /* A stack from the start: "stack + first" on an empty one must not be NULL + 0. */
    enum cact_status st = pk_grow(vm, (void **)&vm->stack, &vm->scap, 16, sizeof *vm->stack);
    if (st != CACT_OK)
        return st;

    while (!vm->stopped) {
        vm->op_off = vm->src.pos;
        if (vm->src.pos == vm->src.size)
            return pk_bad(vm, vm->src.size ? "truncated: ends before STOP" : "empty file");
        st = pk_read(vm, &vm->op, 1);
        if (st != CACT_OK)
            return st;
        if (vm->op_off == 0 && vm->op != 0x80)
            return pk_bad(vm, "first byte 0x%02x, expected PROTO 2 (0x80 0x02)", vm->op);
        pk_op_fn fn = pk_ops[vm->op];
        if (!fn)
            return pk_refused_name[vm->op]
                       ? pk_bad(vm, "opcode %s (0x%02x) refused", pk_refused_name[vm->op], vm->op)
                       : pk_bad(vm, "unknown opcode 0x%02x", vm->op);
        st = fn(vm);
        if (st != CACT_OK)
            return st;
    }
    if (vm->n_marks || vm->sp != 1)
        return pk_bad(vm, "STOP with %zu values and %d MARKs on the stack, expected one dict",
                      vm->sp, vm->n_marks);
    if (vm->stack[0].t != PK_DICT)
        return pk_bad(vm, "the pickle is a %s, expected a dict", pk_type_name[vm->stack[0].t]);
    if (vm->src.pos != vm->src.size)
        return pk_bad(vm, "%llu bytes after STOP",
                      (unsigned long long)(vm->src.size - vm->src.pos));
    *top = vm->stack[0].o;
    return CACT_OK;
}

/* ---- Sources ---- */

static void pk_init_mem(struct pk_vm *vm, const void *buf, size_t len, const char *name,
                        struct cact_err *err)
{
    memset(vm, 0, sizeof *vm);
    vm->err = err;
    vm->src.name = name;
    vm->src.fd = -1;
    vm->src.mem = buf;
    vm->src.size = len;
}

/* fd stays the caller's (pk_done does not close it). */
static enum cact_status pk_init_fd(struct pk_vm *vm, int fd, const char *path, struct cact_err *err)
{
    struct stat sb;

    memset(vm, 0, sizeof *vm);
    vm->err = err;
    vm->src.name = path;
    vm->src.fd = fd;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return cact_fail(err, CACT_ERR_IO, "%s is not a regular file", path);
    vm->src.size = (uint64_t)sb.st_size;
    vm->src.buf = malloc(PK_BUF);
    if (!vm->src.buf)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory reading %s", path);
    return CACT_OK;
}

static enum cact_status pk_open(const char *path, int *fd, struct cact_err *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return cact_fail(err, errno == ENOENT ? CACT_ERR_MISSING : CACT_ERR_IO,
                         "cannot open %s: %s", path, strerror(errno));
    return CACT_OK;
}

static void pk_done(struct pk_vm *vm)
{
    pk_free_all(vm);
}

/* ---- What the CIFAR files hold ---- */

/* The value under key in dict, or PK_UNSET; a key given twice is refused. */
static enum cact_status pk_lookup(struct pk_vm *vm, const struct pk_obj *dict, const char *key,
                                  struct pk_val *out)
{
    out->t = PK_UNSET;
    for (size_t k = 0; k + 1 < dict->n; k += 2) {
        if (!pk_is_str(dict->v[k], key))
            continue;
        if (out->t != PK_UNSET)
            return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: key '%s' appears twice",
                             vm->src.name, key);
        *out = dict->v[k + 1];
    }
    return CACT_OK;
}

static enum cact_status pk_labels(struct pk_vm *vm, const char *key, struct pk_val v, size_t rows,
                                  int32_t **out)
{
    if (v.t != PK_LIST)
        return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: '%s' is a %s, expected a list of ints",
                         vm->src.name, key, pk_type_name[v.t]);
    if (v.o->n != rows)
        return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: '%s' has %zu entries, 'data' has %zu rows",
                         vm->src.name, key, v.o->n, rows);
    *out = malloc((rows ? rows : 1) * sizeof **out);
    if (!*out)
        return cact_fail(vm->err, CACT_ERR_NOMEM, "out of memory reading %s", vm->src.name);
    for (size_t k = 0; k < rows; k++) {
        struct pk_val e = v.o->v[k];
        if (e.t != PK_INT || e.i < 0 || e.i > 255)
            return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: '%s'[%zu] is not an int in 0..255",
                             vm->src.name, key, k);
        (*out)[k] = (int32_t)e.i;
    }
    return CACT_OK;
}

static enum cact_status pk_batch(struct pk_vm *vm, struct cact_pickle_batch *out)
{
    struct pk_obj *top = NULL;
    struct pk_val data, labels, fine, coarse;
    const char *key = "labels";
    enum cact_status st = pk_run(vm, &top);
    if (st == CACT_OK)
        st = pk_lookup(vm, top, "data", &data);
    if (st == CACT_OK)
        st = pk_lookup(vm, top, "labels", &labels);
    if (st == CACT_OK)
        st = pk_lookup(vm, top, "fine_labels", &fine);
    if (st == CACT_OK)
        st = pk_lookup(vm, top, "coarse_labels", &coarse);
    if (st != CACT_OK)
        return st;
    if (data.t != PK_ARRAY)
        return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: no 'data' array (%s found): not a "
                         "CIFAR batch file", vm->src.name, pk_type_name[data.t]);
    if (data.o->ndim != 2 || data.o->shape[1] == 0)
        return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: 'data' is not a [rows][cols] array",
                         vm->src.name);
    out->data_offset = data.o->data->off;
    out->rows = (size_t)data.o->shape[0];
    out->cols = (size_t)data.o->shape[1];
    if (labels.t == PK_UNSET) {
        labels = fine;
        key = "fine_labels";
    }
    if (labels.t == PK_UNSET)
        return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: neither 'labels' nor 'fine_labels'",
                         vm->src.name);
    st = pk_labels(vm, key, labels, out->rows, &out->labels);
    if (st == CACT_OK && coarse.t != PK_UNSET)
        st = pk_labels(vm, "coarse_labels", coarse, out->rows, &out->coarse);
    return st;
}

enum cact_status cact_pickle_batch_mem(const void *buf, size_t len, const char *name,
                                       struct cact_pickle_batch *out, struct cact_err *err)
{
    struct pk_vm vm;
    memset(out, 0, sizeof *out);
    pk_init_mem(&vm, buf, len, name, err);
    enum cact_status st = pk_batch(&vm, out);
    pk_done(&vm);
    return st;
}

enum cact_status cact_pickle_batch_fd(int fd, const char *name, struct cact_pickle_batch *out,
                                      struct cact_err *err)
{
    struct pk_vm vm;
    memset(out, 0, sizeof *out);
    enum cact_status st = pk_init_fd(&vm, fd, name, err);
    if (st == CACT_OK)
        st = pk_batch(&vm, out);
    pk_done(&vm);
    return st;
}

enum cact_status cact_pickle_batch_read(const char *path, struct cact_pickle_batch *out,
                                        struct cact_err *err)
{
    memset(out, 0, sizeof *out);
    int fd;
    enum cact_status ost = pk_open(path, &fd, err);
    if (ost != CACT_OK)
        return ost;
    enum cact_status st = cact_pickle_batch_fd(fd, path, out, err);
    close(fd);
    return st;
}

void cact_pickle_batch_free(struct cact_pickle_batch *b)
{
    if (!b)
        return;
    free(b->labels);
    free(b->coarse);
    b->labels = b->coarse = NULL;
}

static enum cact_status pk_names(struct pk_vm *vm, const char *key, int max_names,
                                 struct cact_pickle_names *out)
{
    struct pk_obj *top = NULL;
    struct pk_val v;
    size_t total = 0;
    enum cact_status st = pk_run(vm, &top);
    if (st == CACT_OK)
        st = pk_lookup(vm, top, key, &v);
    if (st != CACT_OK)
        return st;
    if (v.t != PK_LIST)
        return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: '%s' is %s, expected a list of names",
                         vm->src.name, key, v.t == PK_UNSET ? "absent" : pk_type_name[v.t]);
    if (v.o->n < 1 || v.o->n > (size_t)max_names)
        return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: '%s' has %zu names, expected 1..%d",
                         vm->src.name, key, v.o->n, max_names);
    for (size_t k = 0; k < v.o->n; k++) {
        struct pk_val e = v.o->v[k];
        if (e.t != PK_STR || e.o->len < 1 || e.o->len > 255)
            return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: '%s'[%zu] is not a 1..255-byte string",
                             vm->src.name, key, k);
        for (size_t j = 0; j < e.o->len; j++)
            if (e.o->bytes[j] < 0x20 || e.o->bytes[j] == 0x7f)
                return cact_fail(vm->err, CACT_ERR_FORMAT, "%s: '%s'[%zu] has a control character",
                                 vm->src.name, key, k);
        total += (size_t)e.o->len + 1;
    }
    out->name = malloc(v.o->n * sizeof *out->name);
    out->buf = malloc(total);
    if (!out->name || !out->buf)
        return cact_fail(vm->err, CACT_ERR_NOMEM, "out of memory reading %s", vm->src.name);
    char *p = out->buf;
    for (size_t k = 0; k < v.o->n; k++) {
        memcpy(p, v.o->v[k].o->bytes, (size_t)v.o->v[k].o->len + 1);
        out->name[k] = p;
        p += v.o->v[k].o->len + 1;
    }
    out->n = (int)v.o->n;
    return CACT_OK;
}

enum cact_status cact_pickle_names_mem(const void *buf, size_t len, const char *name,
                                       const char *key, int max_names,
                                       struct cact_pickle_names *out, struct cact_err *err)
{
    struct pk_vm vm;
    memset(out, 0, sizeof *out);
    pk_init_mem(&vm, buf, len, name, err);
    enum cact_status st = pk_names(&vm, key, max_names, out);
    pk_done(&vm);
    return st;
}

enum cact_status cact_pickle_names_read(const char *path, const char *key, int max_names,
                                        struct cact_pickle_names *out, struct cact_err *err)
{
    struct pk_vm vm;
    memset(out, 0, sizeof *out);
    int fd;
    enum cact_status ost = pk_open(path, &fd, err);
    if (ost != CACT_OK)
        return ost;
    enum cact_status st = pk_init_fd(&vm, fd, path, err);
    if (st == CACT_OK)
        st = pk_names(&vm, key, max_names, out);
    pk_done(&vm);
    close(fd);
    return st;
}

void cact_pickle_names_free(struct cact_pickle_names *n)
{
    if (!n)
        return;
    free(n->name);
    free(n->buf);
    n->name = NULL;
    n->buf = NULL;
    n->n = 0;
}
