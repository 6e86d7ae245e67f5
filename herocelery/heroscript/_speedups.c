/* The C scan of HeroScript text: a faster `_Parser.run` line loop (see parser.py).
 *
 * It handles the common lines itself (blank lines, heads with an ASCII name, parameter
 * lines that the FAST token regex would cover and whose keys are valid, multi-line values,
 * `//` and `<!-- -->` comments, other text when it is not kept) and hands every other line
 * to the Python `_Parser.line` (or `_Parser.params`), after writing its state back into
 * the parser, so unusual input and every error take exactly the Python path.
 * A text holding white space other than ' ' and '\n' is left to Python entirely (scan
 * returns None), so here "white space" always means ' '.
 *
 * scan(parser, text, layout) -> number of lines, or None.
 * layout = (Action, member descriptors in _accel.FIELDS order, defaults of the last three
 *           fields, kinds for 1..4 '!').
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

enum {
    F_KIND, F_ACTOR, F_NAME, F_PARAMS, F_ARGS, F_COMMENTS, F_PARAM_COMMENTS, F_FILE, F_LINE,
    F_COLUMN, F_POS, F_TEXT, F_ID, F_PRIORITY, F_DONE, F_RESULT, N_FIELDS
};
#define N_DEFAULTS 3
#define MAX_TOKENS 256

typedef struct { Py_ssize_t s, e; } Span;

enum { T_COMMENT, T_KEY, T_ARG };

typedef struct {
    int type;
    Py_ssize_t s, e;     /* comment: from the "//"; key: the key; arg: the argument */
    Py_ssize_t vs, ve;   /* key: the value */
    PyObject *key;       /* key: the normalised key (borrowed from parser.keys) */
} Token;

typedef struct {
    PyObject *parser, *text;
    int kind;
    const void *data;
    Py_ssize_t n, base;
    int keep_text;
    PyObject *source, *items, *names, *keys;   /* borrowed from the parser (kept alive) */
    PyTypeObject *action_type;
    PyMemberDef *members[N_FIELDS];
    PyObject *defaults[N_DEFAULTS];
    PyObject *kinds[5];
    /* mirrored parser state; owned references */
    PyObject *cur, *cur_params, *cur_args, *cur_comments, *cur_param_comments, *cur_pos;
    long cur_line;
    PyObject *pending;     /* always a list */
    PyObject *text_item;   /* NULL for None */
    long count;
    PyObject *html_start;  /* NULL for None */
    /* open multi-line value */
    int b_open;
    PyObject *b_act, *b_key, *b_q, *b_src;
    long b_line, b_col;
    Span *b_lines;
    Py_ssize_t b_n, b_cap;
    Token *toks;
    PyObject **pos_buf;    /* (key, line offset, column) of this line's params, for pos */
    Py_ssize_t pos_n;
} Scan;

static PyObject *S_line, *S_params, *S_set, *S_cur, *S_pending, *S_text, *S_count,
    *S_block, *S_html_start, *S_source, *S_keep_text, *S_base, *S_items, *S_names, *S_keys,
    *S_id, *S_newline;
static PyObject *S_f[N_FIELDS];
static const char *FIELD_NAMES[N_FIELDS] = {
    "kind", "actor", "name", "params", "args", "comments", "param_comments", "file", "line",
    "column", "pos", "text", "id", "priority", "done", "result"};

#define CH(st, i) PyUnicode_READ((st)->kind, (st)->data, (i))

static inline int is_quote(Py_UCS4 c) { return c == '\'' || c == '"'; }

static PyObject *sub(Scan *st, Py_ssize_t s, Py_ssize_t e) {
    return PyUnicode_Substring(st->text, s, e);
}

/* text[s:e] without the spaces at both ends */
static PyObject *stripped(Scan *st, Py_ssize_t s, Py_ssize_t e) {
    while (s < e && CH(st, s) == ' ') s++;
    while (e > s && CH(st, e - 1) == ' ') e--;
    return sub(st, s, e);
}

static int starts(Scan *st, Py_ssize_t i, Py_ssize_t e, const char *lit) {
    for (; *lit; lit++, i++)
        if (i >= e || CH(st, i) != (Py_UCS4)(unsigned char)*lit) return 0;
    return 1;
}

static int append_new(PyObject *list, PyObject *item) {   /* steals item */
    if (item == NULL) return -1;
    int r = PyList_Append(list, item);
    Py_DECREF(item);
    return r;
}

/* -- parser state, in and out ---------------------------------------------------------- */

static void drop_cur(Scan *st) {
    Py_CLEAR(st->cur);
    Py_CLEAR(st->cur_params);
    Py_CLEAR(st->cur_args);
    Py_CLEAR(st->cur_comments);
    Py_CLEAR(st->cur_param_comments);
    Py_CLEAR(st->cur_pos);
}

static int set_cur(Scan *st, PyObject *act) {   /* act: borrowed, not None */
    drop_cur(st);
    Py_INCREF(act);
    st->cur = act;
    PyObject *line;
    if (!(st->cur_params = PyObject_GetAttr(act, S_f[F_PARAMS]))) return -1;
    if (!(st->cur_args = PyObject_GetAttr(act, S_f[F_ARGS]))) return -1;
    if (!(st->cur_comments = PyObject_GetAttr(act, S_f[F_COMMENTS]))) return -1;
    if (!(st->cur_param_comments = PyObject_GetAttr(act, S_f[F_PARAM_COMMENTS]))) return -1;
    if (!(st->cur_pos = PyObject_GetAttr(act, S_f[F_POS]))) return -1;
    if (!(line = PyObject_GetAttr(act, S_f[F_LINE]))) return -1;
    st->cur_line = PyLong_AsLong(line);
    Py_DECREF(line);
    if (st->cur_line == -1 && PyErr_Occurred()) return -1;
    if (!PyDict_CheckExact(st->cur_params) || !PyList_CheckExact(st->cur_args) ||
        !PyList_CheckExact(st->cur_comments) || !PyDict_CheckExact(st->cur_param_comments) ||
        !PyList_CheckExact(st->cur_pos)) {
        PyErr_SetString(PyExc_TypeError, "action containers are not plain dicts and lists");
        return -1;
    }
    return 0;
}

static int take_block(Scan *st, PyObject *block) {
    /* (action, key, quote, lines, line, col, source line), opened by _Parser.params_exact */
    if (!PyTuple_Check(block) || PyTuple_GET_SIZE(block) != 7 ||
        PyTuple_GET_ITEM(block, 0) != st->cur || PyList_Size(PyTuple_GET_ITEM(block, 3)) != 0) {
        PyErr_SetString(PyExc_TypeError, "unexpected block state");
        return -1;
    }
    st->b_line = PyLong_AsLong(PyTuple_GET_ITEM(block, 4));
    st->b_col = PyLong_AsLong(PyTuple_GET_ITEM(block, 5));
    if (PyErr_Occurred()) return -1;
    st->b_act = Py_NewRef(PyTuple_GET_ITEM(block, 0));
    st->b_key = Py_NewRef(PyTuple_GET_ITEM(block, 1));
    st->b_q = Py_NewRef(PyTuple_GET_ITEM(block, 2));
    st->b_src = Py_NewRef(PyTuple_GET_ITEM(block, 6));
    st->b_n = 0;
    st->b_open = 1;
    return PyObject_SetAttr(st->parser, S_block, Py_None);
}

static void close_block(Scan *st) {
    st->b_open = 0;
    Py_CLEAR(st->b_act);
    Py_CLEAR(st->b_key);
    Py_CLEAR(st->b_q);
    Py_CLEAR(st->b_src);
}

/* read the state the Python side may have changed */
static int sync_in(Scan *st) {
    PyObject *v;
    if (!(v = PyObject_GetAttr(st->parser, S_cur))) return -1;
    if (v == Py_None) drop_cur(st);
    else if (v != st->cur && set_cur(st, v) < 0) { Py_DECREF(v); return -1; }
    Py_DECREF(v);
    if (!(v = PyObject_GetAttr(st->parser, S_pending))) return -1;
    if (!PyList_CheckExact(v)) {
        Py_DECREF(v);
        PyErr_SetString(PyExc_TypeError, "pending is not a list");
        return -1;
    }
    Py_XSETREF(st->pending, v);
    if (!(v = PyObject_GetAttr(st->parser, S_text))) return -1;
    if (v == Py_None) { Py_DECREF(v); v = NULL; }
    Py_XSETREF(st->text_item, v);
    if (!(v = PyObject_GetAttr(st->parser, S_count))) return -1;
    st->count = PyLong_AsLong(v);
    Py_DECREF(v);
    if (st->count == -1 && PyErr_Occurred()) return -1;
    if (!(v = PyObject_GetAttr(st->parser, S_html_start))) return -1;
    if (v == Py_None) { Py_DECREF(v); v = NULL; }
    Py_XSETREF(st->html_start, v);
    if (!(v = PyObject_GetAttr(st->parser, S_block))) return -1;
    int r = v == Py_None ? 0 : take_block(st, v);
    Py_DECREF(v);
    return r;
}

static PyObject *block_tuple(Scan *st) {
    PyObject *lines = PyList_New(0), *src = NULL;
    if (lines == NULL) return NULL;
    for (Py_ssize_t i = 0; i < st->b_n; i++)
        if (append_new(lines, sub(st, st->b_lines[i].s, st->b_lines[i].e)) < 0) goto fail;
    src = st->b_src;
    return Py_BuildValue("(OOONllO)", st->b_act, st->b_key, st->b_q, lines, st->b_line,
                         st->b_col, src);
fail:
    Py_DECREF(lines);
    return NULL;
}

/* write the state into the parser before Python runs or when the scan ends */
static int sync_out(Scan *st) {
    if (PyObject_SetAttr(st->parser, S_cur, st->cur ? st->cur : Py_None) < 0) return -1;
    if (PyObject_SetAttr(st->parser, S_pending, st->pending) < 0) return -1;
    if (PyObject_SetAttr(st->parser, S_text, st->text_item ? st->text_item : Py_None) < 0)
        return -1;
    PyObject *v = PyLong_FromLong(st->count);
    if (v == NULL) return -1;
    int r = PyObject_SetAttr(st->parser, S_count, v);
    Py_DECREF(v);
    if (r < 0) return -1;
    if (PyObject_SetAttr(st->parser, S_html_start,
                         st->html_start ? st->html_start : Py_None) < 0) return -1;
    if (!st->b_open) return PyObject_SetAttr(st->parser, S_block, Py_None);
    PyObject *block = block_tuple(st);
    if (block == NULL) return -1;
    r = PyObject_SetAttr(st->parser, S_block, block);
    Py_DECREF(block);
    if (r == 0) close_block(st);
    return r;
}

/* hand line [ls, le) to _Parser.line */
static int delegate_line(Scan *st, Py_ssize_t ls, Py_ssize_t le, long lineno) {
    if (sync_out(st) < 0) return -1;
    PyObject *raw = sub(st, ls, le), *n = PyLong_FromLong(lineno), *r = NULL;
    if (raw && n) r = PyObject_CallMethodObjArgs(st->parser, S_line, raw, n, NULL);
    Py_XDECREF(raw);
    Py_XDECREF(n);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return sync_in(st);
}

/* hand the params of line [ls, le) from pos to _Parser.params (it may open a block) */
static int delegate_params(Scan *st, Py_ssize_t ls, Py_ssize_t le, long lineno,
                           Py_ssize_t pos) {
    PyObject *raw = sub(st, ls, le), *n = PyLong_FromLong(lineno);
    PyObject *p = PyLong_FromSsize_t(pos - ls), *r = NULL;
    if (raw && n && p)
        r = PyObject_CallMethodObjArgs(st->parser, S_params, st->cur, raw, n, p, NULL);
    Py_XDECREF(raw);
    Py_XDECREF(n);
    Py_XDECREF(p);
    if (r == NULL) return -1;
    Py_DECREF(r);
    PyObject *block = PyObject_GetAttr(st->parser, S_block);
    if (block == NULL) return -1;
    int res = block == Py_None ? 0 : take_block(st, block);
    Py_DECREF(block);
    return res;
}

/* -- values ------------------------------------------------------------------------------ */

/* _FQ: a quoted string with backslash escapes starting at s; its end, or -1 */
static Py_ssize_t quoted_end(Scan *st, Py_ssize_t s, Py_ssize_t le) {
    Py_UCS4 q = CH(st, s);
    for (Py_ssize_t r = s + 1; r < le; r++) {
        Py_UCS4 c = CH(st, r);
        if (c == '\\') {
            if (r + 1 >= le) return -1;
            r++;
        } else if (c == q) {
            return r + 1;
        }
    }
    return -1;
}

/* _FITEM: a quoted string, or a bare word not starting with white space , ' " [ */
static Py_ssize_t item_end(Scan *st, Py_ssize_t s, Py_ssize_t le) {
    if (s >= le) return -1;
    Py_UCS4 c = CH(st, s);
    if (is_quote(c)) return quoted_end(st, s, le);
    if (c == ' ' || c == ',' || c == '[') return -1;
    Py_ssize_t r = s + 1;
    while (r < le && (c = CH(st, r)) != ' ' && c != ',') r++;
    return r;
}

/* _FVALUE (an atomic group): a list of items, or a bracketed list, or nothing */
static Py_ssize_t value_end(Scan *st, Py_ssize_t s, Py_ssize_t le) {
    Py_ssize_t e = item_end(st, s, le);
    if (e >= 0) {
        for (;;) {
            Py_ssize_t r = e;
            while (r < le && CH(st, r) == ' ') r++;
            if (r >= le || CH(st, r) != ',') break;
            r++;
            while (r < le && CH(st, r) == ' ') r++;
            Py_ssize_t f = item_end(st, r, le);
            e = f >= 0 ? f : r;
        }
        return e;
    }
    if (s < le && CH(st, s) == '[') {
        Py_ssize_t r = s + 1;
        while (r < le) {
            Py_UCS4 c = CH(st, r);
            if (c == ']') return r + 1;
            if (is_quote(c)) {
                Py_ssize_t f = quoted_end(st, r, le);
                if (f < 0) break;
                r = f;
            } else {
                r++;
            }
        }
    }
    return s;
}

/* QUOTED.fullmatch(text[s:e]) for a value starting with a quote */
static int is_one_quoted(Scan *st, Py_ssize_t s, Py_ssize_t e) {
    return e - s >= 2 && quoted_end(st, s, e) == e;
}

/* unquote(text[s:e]): the inside, with \' \" \\ unescaped */
static PyObject *unquoted(Scan *st, Py_ssize_t s, Py_ssize_t e) {
    Py_ssize_t a = s + 1, b = e - 1, i;
    for (i = a; i < b && CH(st, i) != '\\'; i++)
        ;
    if (i == b) return sub(st, a, b);
    Py_UCS4 *buf = PyMem_New(Py_UCS4, b - a);
    if (buf == NULL) return PyErr_NoMemory();
    Py_ssize_t n = 0;
    for (i = a; i < b; i++) {
        Py_UCS4 c = CH(st, i);
        if (c == '\\' && i + 1 < b) {
            Py_UCS4 d = CH(st, i + 1);
            if (d == '\'' || d == '"' || d == '\\') {
                c = d;
                i++;
            }
        }
        buf[n++] = c;
    }
    PyObject *r = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, n);
    PyMem_Free(buf);
    return r;
}

/* -- params -------------------------------------------------------------------------------- */

/* The FAST regex's tokens of [pos, le): their number, or -1 when they do not cover it
 * (too many tokens counts as not covered). */
static int tokenize(Scan *st, Py_ssize_t pos, Py_ssize_t le) {
    int nt = 0;
    Py_ssize_t at = pos;
    while (at < le) {
        if (nt == MAX_TOKENS) return -1;
        Token *t = &st->toks[nt];
        Py_ssize_t q = at;
        while (q < le && CH(st, q) == ' ') q++;
        if (q >= le) return -1;
        if (starts(st, q, le, "//")) {
            t->type = T_COMMENT;
            t->s = q;
            t->e = le;
            nt++;
            break;
        }
        /* key:value */
        Py_ssize_t k = q;
        Py_UCS4 c;
        while (k < le && (c = CH(st, k)) != ' ' && c != ':' && !is_quote(c)) k++;
        if (k > q && k < le && CH(st, k) == ':') {
            Py_ssize_t vs = k + 1, r = vs;
            while (r < le && CH(st, r) == ' ') r++;
            if (r > vs && !starts(st, r, le, "//")) vs = r;
            Py_ssize_t ve = value_end(st, vs, le);
            if (ve == le || CH(st, ve) == ' ') {
                t->type = T_KEY;
                t->s = q;
                t->e = k;
                t->vs = vs;
                t->ve = ve;
                at = ve;
                nt++;
                continue;
            }
        }
        /* a positional argument */
        c = CH(st, q);
        Py_ssize_t e;
        if (is_quote(c)) {
            e = quoted_end(st, q, le);
            if (e < 0) return -1;
        } else if (c == ':' || c == '/') {
            return -1;
        } else {
            e = q + 1;
            while (e < le && (c = CH(st, e)) != ' ' && c != ':' && !is_quote(c)) e++;
        }
        if (e < le && CH(st, e) != ' ') return -1;
        t->type = T_ARG;
        t->s = q;
        t->e = e;
        at = e;
        nt++;
    }
    return nt;
}

/* lower case, and for a name every character that is not a letter or digit as '_';
 * NULL without an error when text[s:e] is not plain ASCII of the allowed characters */
static PyObject *ascii_lower(Scan *st, Py_ssize_t s, Py_ssize_t e, int name) {
    char small[64], *buf = e - s <= 64 ? small : PyMem_Malloc(e - s);
    if (buf == NULL) return PyErr_NoMemory();
    PyObject *r = NULL;
    Py_ssize_t i;
    for (i = s; i < e; i++) {
        Py_UCS4 c = CH(st, i);
        if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            if (c >= 128) break;
            if (name) c = '_';
            else if (c != '_' && c != ',' && c != '.' && c != '/') break;
        }
        buf[i - s] = (char)c;
    }
    if (i == e) r = PyUnicode_FromStringAndSize(buf, e - s);
    if (buf != small) PyMem_Free(buf);
    return r;
}

/* the normalised key of text[s:e] (borrowed from parser.keys, where a new valid key is
 * cached as _Parser._key does); NULL with no error when Python must judge the key */
static PyObject *key_of(Scan *st, Py_ssize_t s, Py_ssize_t e) {
    PyObject *k = sub(st, s, e), *key = NULL;
    if (k == NULL) return NULL;
    key = PyDict_GetItemWithError(st->keys, k);
    if (key == NULL && !PyErr_Occurred() && (key = ascii_lower(st, s, e, 0)) != NULL) {
        int r = PyDict_SetItem(st->keys, k, key);
        Py_DECREF(key);   /* the dict holds it */
        if (r < 0) key = NULL;
    }
    Py_DECREF(k);
    return key;
}

/* add the buffered positions to cur.pos in one extend (as few list growths as a line
 * needs: less memory than one extend per param) */
static int flush_pos(Scan *st) {
    if (st->pos_n == 0) return 0;
    PyObject *t = PyTuple_New(st->pos_n);
    if (t == NULL) return -1;
    for (Py_ssize_t i = 0; i < st->pos_n; i++) PyTuple_SET_ITEM(t, i, st->pos_buf[i]);
    st->pos_n = 0;
    Py_ssize_t n = PyList_GET_SIZE(st->cur_pos);
    int r = PyList_SetSlice(st->cur_pos, n, n, t);
    Py_DECREF(t);
    return r;
}

/* the FAST path's `act.params[key] = v` with its position, or _Parser._set for a repeated
 * key or `id` */
static int set_param(Scan *st, PyObject *key, PyObject *value, long lineno, Py_ssize_t col) {
    int has = PyDict_Contains(st->cur_params, key);
    if (has < 0) return -1;
    if (has || PyUnicode_Compare(key, S_id) == 0) {
        if (flush_pos(st) < 0) return -1;
        PyObject *n = PyLong_FromLong(lineno), *c = PyLong_FromSsize_t(col), *r = NULL;
        if (n && c)
            r = PyObject_CallMethodObjArgs(st->parser, S_set, st->cur, key, value, n, c, NULL);
        Py_XDECREF(n);
        Py_XDECREF(c);
        if (r == NULL) return -1;
        Py_DECREF(r);
        return 0;
    }
    PyObject *off = PyLong_FromLong(lineno - st->cur_line), *column = PyLong_FromSsize_t(col);
    if (off == NULL || column == NULL) {
        Py_XDECREF(off);
        Py_XDECREF(column);
        return -1;
    }
    st->pos_buf[st->pos_n++] = Py_NewRef(key);
    st->pos_buf[st->pos_n++] = off;
    st->pos_buf[st->pos_n++] = column;
    return PyDict_SetItem(st->cur_params, key, value);
}

/* `key:'` (or " ''' """) alone from pos: the opening of a multi-line value; 1 when opened,
 * 0 when the line is something else (or its key is new) */
static int open_block(Scan *st, Py_ssize_t pos, Py_ssize_t le, long lineno, Py_ssize_t ls) {
    Py_ssize_t q = pos, k;
    Py_UCS4 c;
    while (q < le && CH(st, q) == ' ') q++;
    if (starts(st, q, le, "//")) return 0;
    for (k = q; k < le && (c = CH(st, k)) != ' ' && c != ':' && !is_quote(c); k++)
        ;
    if (k == q || k >= le || CH(st, k) != ':') return 0;
    Py_ssize_t r = k + 1;
    while (r < le && CH(st, r) == ' ') r++;
    Py_ssize_t len = le - r;
    if (len != 1 && len != 3) return 0;
    c = CH(st, r);
    if (!is_quote(c)) return 0;
    if (len == 3 && (CH(st, r + 1) != c || CH(st, r + 2) != c)) return 0;
    PyObject *key = key_of(st, q, k);
    if (key == NULL) return PyErr_Occurred() ? -1 : 0;
    if (!(st->b_q = sub(st, r, le))) return -1;
    if (!(st->b_src = sub(st, ls, le))) return -1;
    st->b_act = Py_NewRef(st->cur);
    st->b_key = Py_NewRef(key);
    st->b_line = lineno;
    st->b_col = (long)(q - ls + 1);
    st->b_n = 0;
    st->b_open = 1;
    return 1;
}

/* _Parser.params(cur, line [ls, le_raw), lineno, pos) */
static int params(Scan *st, Py_ssize_t ls, Py_ssize_t le_raw, long lineno, Py_ssize_t pos) {
    Py_ssize_t le = le_raw;
    while (le > ls && CH(st, le - 1) == ' ') le--;
    if (pos >= le) return 0;
    int nt = tokenize(st, pos, le);
    for (int i = 0; i < nt; i++) {
        Token *t = &st->toks[i];
        if (t->type == T_KEY) {
            t->key = key_of(st, t->s, t->e);
            if (t->key == NULL) {
                if (PyErr_Occurred()) return -1;
                nt = -1;
            }
        }
    }
    if (nt < 0) {
        int r = open_block(st, pos, le, lineno, ls);
        if (r != 0) return r < 0 ? -1 : 0;
        return delegate_params(st, ls, le_raw, lineno, pos);
    }
    PyObject *last_key = NULL;   /* borrowed from parser.keys */
    for (int i = 0; i < nt; i++) {
        Token *t = &st->toks[i];
        if (t->type == T_KEY) {
            PyObject *v;
            Py_ssize_t vs = t->vs, ve = t->ve;
            if (ve > vs && is_quote(CH(st, vs))) {
                v = CH(st, ve - 1) == CH(st, vs) && is_one_quoted(st, vs, ve)
                    ? unquoted(st, vs, ve) : sub(st, vs, ve);
            } else {
                while (ve > vs && CH(st, ve - 1) == ' ') ve--;
                v = sub(st, vs, ve);
            }
            if (v == NULL) return -1;
            int r = set_param(st, t->key, v, lineno, t->s - ls + 1);
            Py_DECREF(v);
            if (r < 0) return -1;
            last_key = t->key;
        } else if (t->type == T_ARG) {
            PyObject *a = is_quote(CH(st, t->s)) ? unquoted(st, t->s, t->e)
                                                 : sub(st, t->s, t->e);
            if (append_new(st->cur_args, a) < 0) return -1;
        } else {
            PyObject *comment = stripped(st, t->s + 2, t->e);
            if (comment == NULL) return -1;
            int r = last_key ? PyDict_SetItem(st->cur_param_comments, last_key, comment)
                             : PyList_Append(st->cur_comments, comment);
            Py_DECREF(comment);
            if (r < 0) return -1;
        }
    }
    return flush_pos(st);
}

/* -- heads --------------------------------------------------------------------------------- */

static PyObject *new_action(Scan *st, int bangs, PyObject *names, long lineno,
                            Py_ssize_t col) {
    PyTypeObject *tp = st->action_type;
    PyObject *v[N_FIELDS] = {NULL};
    PyObject *act = tp->tp_alloc(tp, 0);
    if (act == NULL) return NULL;
    v[F_KIND] = Py_NewRef(st->kinds[bangs]);
    v[F_ACTOR] = Py_NewRef(PyTuple_GET_ITEM(names, 0));
    v[F_NAME] = Py_NewRef(PyTuple_GET_ITEM(names, 1));
    v[F_PARAMS] = PyDict_New();
    v[F_ARGS] = PyList_New(0);
    if (PyList_GET_SIZE(st->pending)) {
        v[F_COMMENTS] = st->pending;   /* handed over, as _Parser.head does */
        st->pending = PyList_New(0);
    } else {
        v[F_COMMENTS] = PyList_New(0);
    }
    v[F_PARAM_COMMENTS] = PyDict_New();
    v[F_FILE] = Py_NewRef(st->source);
    v[F_LINE] = PyLong_FromLong(lineno);
    v[F_COLUMN] = PyLong_FromSsize_t(col);
    v[F_POS] = PyList_New(0);
    v[F_TEXT] = Py_NewRef(st->text);
    v[F_ID] = PyLong_FromLong(st->count);
    for (int i = 0; i < N_DEFAULTS; i++) v[F_PRIORITY + i] = Py_NewRef(st->defaults[i]);
    int ok = st->pending != NULL;
    for (int i = 0; i < N_FIELDS; i++) {
        if (v[i] == NULL || (ok && PyMember_SetOne((char *)act, st->members[i], v[i]) < 0))
            ok = 0;
    }
    if (ok) {
        drop_cur(st);
        st->cur = Py_NewRef(act);
        st->cur_params = Py_NewRef(v[F_PARAMS]);
        st->cur_args = Py_NewRef(v[F_ARGS]);
        st->cur_comments = Py_NewRef(v[F_COMMENTS]);
        st->cur_param_comments = Py_NewRef(v[F_PARAM_COMMENTS]);
        st->cur_pos = Py_NewRef(v[F_POS]);
        st->cur_line = lineno;
    }
    for (int i = 0; i < N_FIELDS; i++) Py_XDECREF(v[i]);
    if (!ok) Py_CLEAR(act);
    return act;
}

/* (actor, name) of the action name text[w0:w1] (borrowed from parser.names, where a new
 * name is cached as _Parser.head does); NULL with no error when Python must judge it */
static PyObject *names_of(Scan *st, Py_ssize_t w0, Py_ssize_t w1) {
    PyObject *word = sub(st, w0, w1), *names = NULL, *actor = NULL, *name = NULL;
    if (word == NULL) return NULL;
    names = PyDict_GetItemWithError(st->names, word);
    if (names != NULL) {
        if (!PyTuple_CheckExact(names) || PyTuple_GET_SIZE(names) != 2) {
            PyErr_SetString(PyExc_TypeError, "unexpected name cache entry");
            names = NULL;
        }
        goto done;
    }
    if (PyErr_Occurred()) goto done;
    Py_ssize_t dot = -1;
    for (Py_ssize_t i = w0; i < w1; i++) {
        if (CH(st, i) != '.') continue;
        if (dot >= 0) goto done;   /* three parts or more: Python's error */
        dot = i;
    }
    if (dot == w0 || dot == w1 - 1) goto done;   /* an empty part: Python's error */
    if (dot < 0) {
        actor = PyUnicode_FromString("core");
        name = ascii_lower(st, w0, w1, 1);
    } else {
        actor = ascii_lower(st, w0, dot, 1);
        name = actor ? ascii_lower(st, dot + 1, w1, 1) : NULL;
    }
    if (actor && name && (names = PyTuple_Pack(2, actor, name)) != NULL) {
        int r = PyDict_SetItem(st->names, word, names);
        Py_DECREF(names);   /* the dict holds it */
        if (r < 0) names = NULL;
    }
done:
    Py_XDECREF(actor);
    Py_XDECREF(name);
    Py_DECREF(word);
    return names;
}

/* _Parser.head for s = [p0, le) when names_of can judge the name; otherwise Python's */
static int head(Scan *st, Py_ssize_t ls, Py_ssize_t p0, Py_ssize_t le, long lineno) {
    Py_ssize_t w0 = p0, w1;
    while (w0 < le && CH(st, w0) == '!') w0++;
    int bangs = (int)(w0 - p0);
    for (w1 = w0; w1 < le && CH(st, w1) != ' '; w1++)
        ;
    if (bangs > 4 || w1 == w0) return delegate_line(st, ls, le, lineno);
    PyObject *names = names_of(st, w0, w1);
    if (names == NULL)
        return PyErr_Occurred() ? -1 : delegate_line(st, ls, le, lineno);
    st->count++;
    PyObject *act = new_action(st, bangs, names, lineno, p0 - ls + 1);
    if (act == NULL) return -1;
    int r = PyList_Append(st->items, act);
    Py_DECREF(act);
    if (r < 0) return -1;
    Py_CLEAR(st->text_item);
    if (w1 < le) return params(st, ls, le, lineno, w1);
    return 0;
}

/* -- blocks, comments, lines ------------------------------------------------------------------ */

static int block_line(Scan *st, Py_ssize_t ls, Py_ssize_t le) {
    Py_ssize_t s = ls, e = le;
    while (s < e && CH(st, s) == ' ') s++;
    while (e > s && CH(st, e - 1) == ' ') e--;
    Py_ssize_t qlen = PyUnicode_GET_LENGTH(st->b_q);
    int closes = 0;
    if (e - s == 1 && qlen == 1) {
        closes = is_quote(CH(st, s));
    } else if (e - s == qlen) {
        closes = 1;
        for (Py_ssize_t i = 0; i < qlen; i++)
            if (CH(st, s + i) != PyUnicode_READ_CHAR(st->b_q, i)) closes = 0;
    }
    if (!closes) {
        if (st->b_n == st->b_cap) {
            Py_ssize_t cap = st->b_cap ? st->b_cap * 2 : 64;
            Span *grown = PyMem_Resize(st->b_lines, Span, cap);
            if (grown == NULL) { PyErr_NoMemory(); return -1; }
            st->b_lines = grown;
            st->b_cap = cap;
        }
        st->b_lines[st->b_n].s = ls;
        st->b_lines[st->b_n].e = le;
        st->b_n++;
        return 0;
    }
    /* dedent_block: common indentation of the non-blank lines removed, blank lines empty */
    Py_ssize_t cut = -1;
    for (Py_ssize_t i = 0; i < st->b_n; i++) {
        Py_ssize_t a = st->b_lines[i].s, b = st->b_lines[i].e, j = a;
        while (j < b && CH(st, j) == ' ') j++;
        if (j < b && (cut < 0 || j - a < cut)) cut = j - a;
    }
    if (cut < 0) cut = 0;
    PyObject *lines = PyList_New(st->b_n), *value = NULL;
    if (lines == NULL) return -1;
    for (Py_ssize_t i = 0; i < st->b_n; i++) {
        Py_ssize_t a = st->b_lines[i].s, b = st->b_lines[i].e, j = a;
        while (j < b && CH(st, j) == ' ') j++;
        PyObject *part = j < b ? sub(st, a + cut, b) : PyUnicode_New(0, 0);
        if (part == NULL) { Py_DECREF(lines); return -1; }
        PyList_SET_ITEM(lines, i, part);
    }
    value = PyUnicode_Join(S_newline, lines);
    Py_DECREF(lines);
    if (value == NULL) return -1;
    /* _set(act, key, value, line, col): the block's action is cur (a block ends before
     * any other line is read) */
    int r = set_param(st, st->b_key, value, st->b_line, st->b_col);
    if (r == 0) r = flush_pos(st);
    Py_DECREF(value);
    close_block(st);
    return r;
}

static int html_line(Scan *st, Py_ssize_t ls, Py_ssize_t le) {
    Py_ssize_t end = -1;
    for (Py_ssize_t i = ls; i + 3 <= le; i++)
        if (starts(st, i, le, "-->")) { end = i; break; }
    Py_ssize_t s = ls, e = end < 0 ? le : end;
    while (s < e && CH(st, s) == ' ') s++;
    if (s < e && append_new(st->pending, stripped(st, s, e)) < 0) return -1;
    if (end >= 0) Py_CLEAR(st->html_start);
    return 0;
}

static int html_open(Scan *st, Py_ssize_t ls, Py_ssize_t p0, Py_ssize_t le, long lineno) {
    drop_cur(st);
    Py_ssize_t end = -1;
    for (Py_ssize_t i = p0 + 4; i + 3 <= le; i++)
        if (starts(st, i, le, "-->")) { end = i; break; }
    Py_ssize_t s = p0 + 4, e = end < 0 ? le : end;
    while (s < e && CH(st, s) == ' ') s++;
    if (s < e && append_new(st->pending, stripped(st, s, e)) < 0) return -1;
    if (end < 0) {
        PyObject *raw = sub(st, ls, le);
        if (raw == NULL) return -1;
        st->html_start = Py_BuildValue("(lN)", lineno, raw);
        if (st->html_start == NULL) return -1;
    }
    return 0;
}

static int reset_pending(Scan *st) {
    if (PyList_GET_SIZE(st->pending) == 0) return 0;
    PyObject *fresh = PyList_New(0);
    if (fresh == NULL) return -1;
    Py_SETREF(st->pending, fresh);
    return 0;
}

/* _Parser.line for [ls, le) */
static int scan_line(Scan *st, Py_ssize_t ls, Py_ssize_t le, long lineno) {
    if (st->b_open) return block_line(st, ls, le);
    if (st->html_start) return html_line(st, ls, le);
    Py_ssize_t p0 = ls;
    while (p0 < le && CH(st, p0) == ' ') p0++;
    if (p0 == le) {
        if (st->text_item && !st->cur) return delegate_line(st, ls, le, lineno);
        return 0;
    }
    Py_ssize_t ind = p0 - ls - st->base;
    Py_UCS4 c = CH(st, p0);
    if (st->cur && ind > 0) {
        if (ind == 1) return delegate_line(st, ls, le, lineno);
        if (starts(st, p0, le, "//"))
            return append_new(st->cur_comments, stripped(st, p0 + 2, le));
        return params(st, ls, le, lineno, p0);
    }
    if (c == '!' && !starts(st, p0, le, "![")) return head(st, ls, p0, le, lineno);
    if (starts(st, p0, le, "//")) {
        drop_cur(st);
        return append_new(st->pending, stripped(st, p0 + 2, le));
    }
    if (starts(st, p0, le, "<!--")) return html_open(st, ls, p0, le, lineno);
    if (st->keep_text) return delegate_line(st, ls, le, lineno);
    drop_cur(st);
    return reset_pending(st);
}

/* -- entry ------------------------------------------------------------------------------------ */

/* white space other than ' ' and '\n' (Python's \s, str.strip) anywhere in the text */
static int odd_space(Scan *st) {
    for (Py_ssize_t i = 0; i < st->n; i++) {
        Py_UCS4 c = CH(st, i);
        if (c != ' ' && c != '\n' && Py_UNICODE_ISSPACE(c)) return 1;
    }
    return 0;
}

static int read_layout(Scan *st, PyObject *layout) {
    PyObject *type, *descrs, *defaults, *kinds;
    if (!PyArg_ParseTuple(layout, "O!O!O!O!", &PyType_Type, &type, &PyTuple_Type, &descrs,
                          &PyTuple_Type, &defaults, &PyTuple_Type, &kinds))
        return -1;
    if (PyTuple_GET_SIZE(descrs) != N_FIELDS || PyTuple_GET_SIZE(defaults) != N_DEFAULTS ||
        PyTuple_GET_SIZE(kinds) != 4) {
        PyErr_SetString(PyExc_ValueError, "layout does not match _speedups.c");
        return -1;
    }
    st->action_type = (PyTypeObject *)type;
    for (int i = 0; i < N_FIELDS; i++) {
        PyObject *d = PyTuple_GET_ITEM(descrs, i);
        if (!PyObject_TypeCheck(d, &PyMemberDescr_Type)) return 0;
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY) ||
            ((PyMemberDescrObject *)d)->d_common.d_type != st->action_type ||
            strcmp(m->name, FIELD_NAMES[i]) != 0)
            return 0;
        st->members[i] = m;
    }
    for (int i = 0; i < N_DEFAULTS; i++) st->defaults[i] = PyTuple_GET_ITEM(defaults, i);
    for (int i = 0; i < 4; i++) st->kinds[i + 1] = PyTuple_GET_ITEM(kinds, i);
    return 1;
}

static PyObject *get_attr_of(PyObject *o, PyObject *name, PyTypeObject *tp) {
    PyObject *v = PyObject_GetAttr(o, name);
    if (v && tp && !PyObject_TypeCheck(v, tp)) {
        PyErr_Format(PyExc_TypeError, "parser.%U has an unexpected type", name);
        Py_CLEAR(v);
    }
    return v;
}

static void scan_clear(Scan *st) {
    drop_cur(st);
    Py_CLEAR(st->pending);
    Py_CLEAR(st->text_item);
    Py_CLEAR(st->html_start);
    close_block(st);
    Py_CLEAR(st->source);
    Py_CLEAR(st->items);
    Py_CLEAR(st->names);
    Py_CLEAR(st->keys);
    PyMem_Free(st->b_lines);
    PyMem_Free(st->toks);
    while (st->pos_n > 0) Py_DECREF(st->pos_buf[--st->pos_n]);
    PyMem_Free(st->pos_buf);
}

static PyObject *scan(PyObject *module, PyObject *args) {
    Scan st;
    PyObject *parser, *text, *layout, *v;
    memset(&st, 0, sizeof st);
    if (!PyArg_ParseTuple(args, "OUO!:scan", &parser, &text, &PyTuple_Type, &layout))
        return NULL;
    int usable = read_layout(&st, layout);
    if (usable < 0) return NULL;
    if (!usable) Py_RETURN_NONE;
    st.parser = parser;
    st.text = text;
    st.kind = PyUnicode_KIND(text);
    st.data = PyUnicode_DATA(text);
    st.n = PyUnicode_GET_LENGTH(text);
    if (odd_space(&st)) Py_RETURN_NONE;
    long lineno = 0;
    if (!(st.source = get_attr_of(parser, S_source, NULL))) goto fail;
    if (!(st.items = get_attr_of(parser, S_items, &PyList_Type))) goto fail;
    if (!(st.names = get_attr_of(parser, S_names, &PyDict_Type))) goto fail;
    if (!(st.keys = get_attr_of(parser, S_keys, &PyDict_Type))) goto fail;
    if (!(v = get_attr_of(parser, S_keep_text, NULL))) goto fail;
    st.keep_text = PyObject_IsTrue(v);
    Py_DECREF(v);
    if (st.keep_text < 0) goto fail;
    if (!(v = get_attr_of(parser, S_base, &PyLong_Type))) goto fail;
    st.base = PyLong_AsSsize_t(v);
    Py_DECREF(v);
    if (st.base == -1 && PyErr_Occurred()) goto fail;
    st.toks = PyMem_New(Token, MAX_TOKENS);
    st.pos_buf = PyMem_New(PyObject *, 3 * MAX_TOKENS);
    if (st.toks == NULL || st.pos_buf == NULL) { PyErr_NoMemory(); goto fail; }
    if (sync_in(&st) < 0) goto fail;
    Py_ssize_t ls = 0;
    for (;;) {
        Py_ssize_t le = PyUnicode_FindChar(text, '\n', ls, st.n, 1);
        if (le == -2) goto fail;
        if (le < 0) le = st.n;
        if (scan_line(&st, ls, le, ++lineno) < 0) goto fail;
        if (le >= st.n) break;
        ls = le + 1;
    }
    if (sync_out(&st) < 0) goto fail;
    scan_clear(&st);
    return PyLong_FromLong(lineno);
fail:
    scan_clear(&st);
    return NULL;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(parser, text, layout) -> lines or None: _Parser.run's line loop, in C."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_speedups",
    "Optional C scan of HeroScript text; herocelery.heroscript._accel is its front door.",
    -1, methods};

#define INTERN(var, s) if (!((var) = PyUnicode_InternFromString(s))) return NULL

PyMODINIT_FUNC PyInit__speedups(void) {
    INTERN(S_line, "line");
    INTERN(S_params, "params");
    INTERN(S_set, "_set");
    INTERN(S_cur, "cur");
    INTERN(S_pending, "pending");
    INTERN(S_text, "text");
    INTERN(S_count, "count");
    INTERN(S_block, "block");
    INTERN(S_html_start, "html_start");
    INTERN(S_source, "source");
    INTERN(S_keep_text, "keep_text");
    INTERN(S_base, "base");
    INTERN(S_items, "items");
    INTERN(S_names, "names");
    INTERN(S_keys, "keys");
    INTERN(S_id, "id");
    INTERN(S_newline, "\n");
    for (int i = 0; i < N_FIELDS; i++) INTERN(S_f[i], FIELD_NAMES[i]);
    return PyModule_Create(&module_def);
}
