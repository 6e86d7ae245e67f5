/* HeroDB's optional C request loop: Engine.execute_batch with native hot commands.
 *
 * run(engine, c, cmds, out, ctx) runs the parsed requests of one read in order and appends
 * each reply's RESP bytes to `out`, like Engine.execute_batch (whose Python loop stays the
 * reference and the fallback).  While the connection is in the plain state (no MULTI, no
 * subscription, admin or no access model, no WATCHer or blocked client on its database, no
 * pending write effects, nothing ready to serve) the happy path of GET, SET key value,
 * INCR/DECR/INCRBY/DECRBY, LPUSH/RPUSH, LPOP/RPOP key, HGET, HSET, EXISTS and DEL runs here on
 * the Database's dicts and deques.  Anything else -- another command, another argument shape,
 * a key with a TTL, a wrong type, an integer that is not plainly valid -- is handed, unchanged,
 * to engine.execute(c, argv), so errors and edge cases are the Python path's own.  A native
 * op decides to hand over before it changes anything.
 *
 * Returns None, or the Block a request returned (nothing is appended for it), as
 * execute_batch does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

enum {
    OP_GET = 1, OP_SET, OP_INCR, OP_DECR, OP_INCRBY, OP_DECRBY, OP_LPUSH, OP_RPUSH,
    OP_LPOP, OP_RPOP, OP_HGET, OP_HSET, OP_EXISTS, OP_DEL
};

/* interned attribute names */
static PyObject *s_access, *s_admin, *s_multi, *s_channels, *s_patterns, *s_proto, *s_effects,
    *s_store, *s_watched, *s_blocked, *s_ready, *s_data, *s_expires, *s_db, *s_log, *s_batch,
    *s_append, *s_appendleft, *s_popleft, *s_pop, *s_execute, *s_quit, *s_dirty, *s_appended,
    *s_stat_commands;

typedef struct {
    /* from ctx */
    PyObject *natives;      /* dict: command name -> op number */
    PyObject *deque_type;
    PyObject *encode;       /* protocol.encode */
    PyObject *block_type;
    PyObject *log_type;     /* persist.AppendLog or None */
    PyObject *ok;           /* b"+OK\r\n" */
    PyObject *ints;         /* tuple of b":%d\r\n" for 0..len-1 */
    /* connection state, valid while `plain` holds (borrowed or owned as noted) */
    int plain;
    PyObject *data, *expires;   /* owned */
    PyObject *db;               /* owned: c.db */
    PyObject *sink_list;        /* owned: the log's batch list, or NULL */
    PyObject *sink_call;        /* owned: log.append, or NULL */
    int proto3;
    long ran, writes;
} State;

static void state_clear(State *st)
{
    Py_CLEAR(st->data);
    Py_CLEAR(st->expires);
    Py_CLEAR(st->db);
    Py_CLEAR(st->sink_list);
    Py_CLEAR(st->sink_call);
    st->plain = 0;
}

/* truthiness of getattr(obj, name); -1 on error */
static int attr_true(PyObject *obj, PyObject *name)
{
    PyObject *v = PyObject_GetAttr(obj, name);
    if (v == NULL)
        return -1;
    int r = PyObject_IsTrue(v);
    Py_DECREF(v);
    return r;
}

static int attr_is_none(PyObject *obj, PyObject *name)
{
    PyObject *v = PyObject_GetAttr(obj, name);
    if (v == NULL)
        return -1;
    int r = (v == Py_None);
    Py_DECREF(v);
    return r;
}

/* Load the connection's state; st->plain = 1 when native ops may run. 0 ok, -1 error. */
static int state_load(State *st, PyObject *engine, PyObject *c)
{
    int r;
    PyObject *store = NULL, *v = NULL;
    state_clear(st);
    if ((r = attr_is_none(engine, s_access)) < 0) return -1;
    if (!r) {
        if ((r = attr_true(c, s_admin)) < 0) return -1;
        if (!r) return 0;
    }
    if ((r = attr_is_none(c, s_multi)) < 0) return -1;
    if (!r) return 0;
    if ((r = attr_true(c, s_channels)) < 0) return -1;
    if (r) return 0;
    if ((r = attr_true(c, s_patterns)) < 0) return -1;
    if (r) return 0;
    if ((r = attr_is_none(c, s_effects)) < 0) return -1;
    if (!r) return 0;
    if ((r = attr_true(engine, s_ready)) < 0) return -1;
    if (r) return 0;
    v = PyObject_GetAttr(c, s_proto);
    if (v == NULL) return -1;
    if (!PyLong_CheckExact(v)) { Py_DECREF(v); return 0; }
    long proto = PyLong_AsLong(v);
    Py_DECREF(v);
    if (proto == -1 && PyErr_Occurred()) return -1;
    if (proto != 2 && proto != 3) return 0;
    st->proto3 = proto == 3;
    store = PyObject_GetAttr(c, s_store);
    if (store == NULL) return -1;
    if ((r = attr_true(store, s_watched)) != 0) goto out_store;
    if ((r = attr_true(store, s_blocked)) != 0) goto out_store;
    st->data = PyObject_GetAttr(store, s_data);
    if (st->data == NULL) { r = -1; goto out_store; }
    st->expires = PyObject_GetAttr(store, s_expires);
    if (st->expires == NULL) { r = -1; goto out_store; }
    Py_DECREF(store);
    store = NULL;
    if (!PyDict_CheckExact(st->data) || !PyDict_CheckExact(st->expires)) {
        state_clear(st);
        return 0;
    }
    st->db = PyObject_GetAttr(c, s_db);
    if (st->db == NULL) { state_clear(st); return -1; }
    PyObject *log = PyObject_GetAttr(engine, s_log);
    if (log == NULL) { state_clear(st); return -1; }
    if (log != Py_None) {
        if ((PyObject *)Py_TYPE(log) == st->log_type) {
            st->sink_list = PyObject_GetAttr(log, s_batch);
            if (st->sink_list != NULL && !PyList_CheckExact(st->sink_list))
                Py_CLEAR(st->sink_list);
            PyErr_Clear();
        }
        if (st->sink_list == NULL) {
            st->sink_call = PyObject_GetAttr(log, s_append);
            if (st->sink_call == NULL) { Py_DECREF(log); state_clear(st); return -1; }
        }
    }
    Py_DECREF(log);
    st->plain = 1;
    return 0;
out_store:
    Py_DECREF(store);
    state_clear(st);
    return r < 0 ? -1 : 0;
}

/* ---- replies ------------------------------------------------------------------------------ */
static int put(PyObject *out, PyObject *reply)   /* steals reply */
{
    if (reply == NULL)
        return -1;
    int r = PyList_Append(out, reply);
    Py_DECREF(reply);
    return r;
}

static int put_bulk(PyObject *out, PyObject *value)
{
    char head[32];
    Py_ssize_t n = PyBytes_GET_SIZE(value);
    int h = snprintf(head, sizeof head, "$%zd\r\n", n);
    PyObject *b = PyBytes_FromStringAndSize(NULL, h + n + 2);
    if (b == NULL)
        return -1;
    char *p = PyBytes_AS_STRING(b);
    memcpy(p, head, h);
    memcpy(p + h, PyBytes_AS_STRING(value), n);
    p[h + n] = '\r';
    p[h + n + 1] = '\n';
    return put(out, b);
}

static int put_null(State *st, PyObject *out)
{
    return st->proto3 ? put(out, PyBytes_FromStringAndSize("_\r\n", 3))
                      : put(out, PyBytes_FromStringAndSize("$-1\r\n", 5));
}

static int put_int(State *st, PyObject *out, long long v)
{
    if (v >= 0 && v < PyTuple_GET_SIZE(st->ints)) {
        PyObject *b = PyTuple_GET_ITEM(st->ints, v);
        Py_INCREF(b);
        return put(out, b);
    }
    char buf[32];
    int h = snprintf(buf, sizeof buf, ":%lld\r\n", v);
    return put(out, PyBytes_FromStringAndSize(buf, h));
}

/* ---- the keyspace ------------------------------------------------------------------------- */
/* 1 when the key has a TTL (the op hands over: lazy expiry stays in Python), -1 error */
static int has_ttl(State *st, PyObject *key)
{
    if (PyDict_GET_SIZE(st->expires) == 0)
        return 0;
    return PyDict_Contains(st->expires, key);
}

/* a write done: counted and logged as after_write's common case */
static int wrote(State *st, PyObject *argv)
{
    st->writes++;
    if (st->sink_list != NULL) {
        PyObject *rec = PyTuple_Pack(2, st->db, argv);
        if (rec == NULL)
            return -1;
        int r = PyList_Append(st->sink_list, rec);
        Py_DECREF(rec);
        return r;
    }
    if (st->sink_call != NULL) {
        PyObject *r = PyObject_CallFunctionObjArgs(st->sink_call, st->db, argv, NULL);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
    }
    return 0;
}

/* A Redis integer in its plain form: -?[1-9][0-9]{0,17} or 0 (what the Python handlers
 * accept without their slower checks). 1 parsed, 0 not plain. */
static int plain_int(PyObject *raw, long long *out)
{
    if (!PyBytes_CheckExact(raw))
        return 0;
    const char *p = PyBytes_AS_STRING(raw);
    Py_ssize_t n = PyBytes_GET_SIZE(raw), i = 0;
    int neg = 0;
    if (n > 0 && p[0] == '-') {
        neg = 1;
        i = 1;
    }
    Py_ssize_t digits = n - i;
    if (digits < 1 || digits > 18)
        return 0;
    if (p[i] == '0' && (digits > 1 || neg))
        return 0;
    long long v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = neg ? -v : v;
    return 1;
}

#define ARG(i) PyList_GET_ITEM(argv, (i))

/* One native request: 1 done (reply appended), 0 hand over (nothing changed), -1 error. */
static int native(State *st, int op, PyObject *argv, PyObject *out)
{
    Py_ssize_t argc = PyList_GET_SIZE(argv);
    PyObject *key, *v;
    int t;
    if (argc < 2)
        return 0;
    key = ARG(1);
    if (!PyBytes_CheckExact(key))
        return 0;
    switch (op) {
    case OP_GET:
        if (argc != 2 || (t = has_ttl(st, key)) != 0) return t < 0 ? -1 : 0;
        v = PyDict_GetItemWithError(st->data, key);
        if (v == NULL) {
            if (PyErr_Occurred()) return -1;
            return put_null(st, out) < 0 ? -1 : 1;
        }
        if (!PyBytes_CheckExact(v)) return 0;
        return put_bulk(out, v) < 0 ? -1 : 1;

    case OP_SET:
        if (argc != 3 || (t = has_ttl(st, key)) != 0) return t < 0 ? -1 : 0;
        if (!PyBytes_CheckExact(ARG(2))) return 0;
        if (PyDict_SetItem(st->data, key, ARG(2)) < 0) return -1;
        if (wrote(st, argv) < 0) return -1;
        Py_INCREF(st->ok);
        return put(out, st->ok) < 0 ? -1 : 1;

    case OP_INCR: case OP_DECR: case OP_INCRBY: case OP_DECRBY: {
        long long delta = 1, current = 0;
        if (op == OP_INCR || op == OP_DECR) {
            if (argc != 2) return 0;
            delta = op == OP_INCR ? 1 : -1;
        } else {
            if (argc != 3 || !plain_int(ARG(2), &delta)) return 0;
            if (op == OP_DECRBY) delta = -delta;
        }
        if ((t = has_ttl(st, key)) != 0) return t < 0 ? -1 : 0;
        v = PyDict_GetItemWithError(st->data, key);
        if (v == NULL) {
            if (PyErr_Occurred()) return -1;
        } else if (!plain_int(v, &current)) {
            return 0;
        }
        long long result = current + delta;   /* |each| < 10**18: no C overflow, in int64 */
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", result);
        PyObject *b = PyBytes_FromStringAndSize(buf, n);
        if (b == NULL) return -1;
        t = PyDict_SetItem(st->data, key, b);
        Py_DECREF(b);
        if (t < 0 || wrote(st, argv) < 0) return -1;
        return put_int(st, out, result) < 0 ? -1 : 1;
    }

    case OP_LPUSH: case OP_RPUSH: {
        if (argc < 3 || (t = has_ttl(st, key)) != 0) return t < 0 ? -1 : 0;
        v = PyDict_GetItemWithError(st->data, key);
        PyObject *items;
        if (v == NULL) {
            if (PyErr_Occurred()) return -1;
            items = PyObject_CallNoArgs(st->deque_type);
            if (items == NULL) return -1;
            if (PyDict_SetItem(st->data, key, items) < 0) { Py_DECREF(items); return -1; }
        } else {
            if ((PyObject *)Py_TYPE(v) != st->deque_type) return 0;
            items = v;
            Py_INCREF(items);
        }
        PyObject *meth = op == OP_LPUSH ? s_appendleft : s_append;
        for (Py_ssize_t i = 2; i < argc; i++) {
            PyObject *r = PyObject_CallMethodOneArg(items, meth, ARG(i));
            if (r == NULL) { Py_DECREF(items); return -1; }
            Py_DECREF(r);
        }
        Py_ssize_t len = PyObject_Size(items);
        Py_DECREF(items);
        if (len < 0 || wrote(st, argv) < 0) return -1;
        return put_int(st, out, len) < 0 ? -1 : 1;
    }

    case OP_LPOP: case OP_RPOP: {
        if (argc != 2 || (t = has_ttl(st, key)) != 0) return t < 0 ? -1 : 0;
        v = PyDict_GetItemWithError(st->data, key);
        if (v == NULL) {
            if (PyErr_Occurred()) return -1;
            return put_null(st, out) < 0 ? -1 : 1;   /* no effect: neither logged nor dirty */
        }
        if ((PyObject *)Py_TYPE(v) != st->deque_type) return 0;
        Py_ssize_t len = PyObject_Size(v);
        if (len < 0) return -1;
        if (len == 0) return 0;
        PyObject *items = v;
        Py_INCREF(items);
        PyObject *value = PyObject_CallMethodNoArgs(items, op == OP_LPOP ? s_popleft : s_pop);
        if (value == NULL) { Py_DECREF(items); return -1; }
        t = 0;
        if (len == 1)
            t = PyDict_DelItem(st->data, key);
        Py_DECREF(items);
        if (t < 0 || wrote(st, argv) < 0) { Py_DECREF(value); return -1; }
        if (PyBytes_CheckExact(value))
            t = put_bulk(out, value);
        else
            t = put(out, PyObject_CallFunction(st->encode, "Oi", value, st->proto3 ? 3 : 2));
        Py_DECREF(value);
        return t < 0 ? -1 : 1;
    }

    case OP_HGET: {
        if (argc != 3 || (t = has_ttl(st, key)) != 0) return t < 0 ? -1 : 0;
        v = PyDict_GetItemWithError(st->data, key);
        if (v == NULL) {
            if (PyErr_Occurred()) return -1;
            return put_null(st, out) < 0 ? -1 : 1;
        }
        if (!PyDict_CheckExact(v)) return 0;
        PyObject *field = PyDict_GetItemWithError(v, ARG(2));
        if (field == NULL) {
            if (PyErr_Occurred()) return -1;
            return put_null(st, out) < 0 ? -1 : 1;
        }
        if (!PyBytes_CheckExact(field)) return 0;
        return put_bulk(out, field) < 0 ? -1 : 1;
    }

    case OP_HSET: {
        if (argc < 4 || argc % 2 || (t = has_ttl(st, key)) != 0) return t < 0 ? -1 : 0;
        v = PyDict_GetItemWithError(st->data, key);
        PyObject *h;
        if (v == NULL) {
            if (PyErr_Occurred()) return -1;
            h = PyDict_New();
            if (h == NULL) return -1;
            if (PyDict_SetItem(st->data, key, h) < 0) { Py_DECREF(h); return -1; }
        } else {
            if (!PyDict_CheckExact(v)) return 0;
            h = v;
            Py_INCREF(h);
        }
        long long added = 0;
        for (Py_ssize_t i = 2; i + 1 < argc; i += 2) {
            t = PyDict_Contains(h, ARG(i));
            if (t < 0 || PyDict_SetItem(h, ARG(i), ARG(i + 1)) < 0) { Py_DECREF(h); return -1; }
            if (!t) added++;
        }
        Py_DECREF(h);
        if (wrote(st, argv) < 0) return -1;
        return put_int(st, out, added) < 0 ? -1 : 1;
    }

    case OP_EXISTS: case OP_DEL: {
        for (Py_ssize_t i = 1; i < argc; i++) {
            if (!PyBytes_CheckExact(ARG(i))) return 0;
            if ((t = has_ttl(st, ARG(i))) != 0) return t < 0 ? -1 : 0;
        }
        long long n = 0;
        for (Py_ssize_t i = 1; i < argc; i++) {
            t = PyDict_Contains(st->data, ARG(i));
            if (t < 0) return -1;
            if (t && op == OP_DEL && PyDict_DelItem(st->data, ARG(i)) < 0) return -1;
            n += t;
        }
        if (op == OP_DEL && n > 0 && wrote(st, argv) < 0) return -1;
        return put_int(st, out, n) < 0 ? -1 : 1;
    }
    }
    return 0;
}

/* add a local count to an engine attribute */
static int bump(PyObject *engine, PyObject *name, long n)
{
    if (n == 0)
        return 0;
    PyObject *v = PyObject_GetAttr(engine, name);
    if (v == NULL)
        return -1;
    PyObject *d = PyLong_FromLong(n);
    if (d == NULL) { Py_DECREF(v); return -1; }
    PyObject *s = PyNumber_Add(v, d);
    Py_DECREF(v);
    Py_DECREF(d);
    if (s == NULL)
        return -1;
    int r = PyObject_SetAttr(engine, name, s);
    Py_DECREF(s);
    return r;
}

/* dirty and appended go to the engine before Python code runs (as after_write does) */
static int flush_writes(State *st, PyObject *engine)
{
    long w = st->writes;
    st->writes = 0;
    if (bump(engine, s_dirty, w) < 0)
        return -1;
    if (st->sink_list != NULL || st->sink_call != NULL)
        return bump(engine, s_appended, w);
    return 0;
}

static PyObject *run(PyObject *self, PyObject *args)
{
    PyObject *engine, *c, *cmds, *out, *ctx;
    if (!PyArg_ParseTuple(args, "OOO!O!O!:run", &engine, &c, &PyList_Type, &cmds, &PyList_Type,
                          &out, &PyTuple_Type, &ctx))
        return NULL;
    if (PyTuple_GET_SIZE(ctx) != 7) {
        PyErr_SetString(PyExc_ValueError, "run: ctx must have 7 items");
        return NULL;
    }
    State st;
    memset(&st, 0, sizeof st);
    st.natives = PyTuple_GET_ITEM(ctx, 0);
    st.deque_type = PyTuple_GET_ITEM(ctx, 1);
    st.encode = PyTuple_GET_ITEM(ctx, 2);
    st.block_type = PyTuple_GET_ITEM(ctx, 3);
    st.log_type = PyTuple_GET_ITEM(ctx, 4);
    st.ok = PyTuple_GET_ITEM(ctx, 5);
    st.ints = PyTuple_GET_ITEM(ctx, 6);
    if (!PyDict_CheckExact(st.natives) || !PyTuple_CheckExact(st.ints)) {
        PyErr_SetString(PyExc_TypeError, "run: bad ctx");
        return NULL;
    }
    PyObject *result = NULL;
    int loaded = 0;
    /* cmds may not change under us: take a reference to each argv as we go */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(cmds); i++) {
        PyObject *argv = PyList_GET_ITEM(cmds, i);
        Py_INCREF(argv);
        int done = 0;
        if (!loaded) {
            if (state_load(&st, engine, c) < 0) { Py_DECREF(argv); goto fail; }
            loaded = 1;
        }
        if (st.plain && PyList_CheckExact(argv) && PyList_GET_SIZE(argv) >= 2) {
            PyObject *name = PyList_GET_ITEM(argv, 0);
            PyObject *opv = PyBytes_CheckExact(name) ?
                PyDict_GetItemWithError(st.natives, name) : NULL;
            if (opv == NULL && PyErr_Occurred()) { Py_DECREF(argv); goto fail; }
            if (opv != NULL) {
                done = native(&st, (int)PyLong_AsLong(opv), argv, out);
                if (done < 0) { Py_DECREF(argv); goto fail; }
                if (done) st.ran++;
            }
        }
        if (!done) {
            /* the Python path: execute() checks, runs, hooks and counts this request */
            if (flush_writes(&st, engine) < 0) { Py_DECREF(argv); goto fail; }
            PyObject *reply = PyObject_CallMethodObjArgs(engine, s_execute, c, argv, NULL);
            Py_DECREF(argv);
            loaded = 0;
            if (reply == NULL) goto fail;
            if ((PyObject *)Py_TYPE(reply) == st.block_type) {
                result = reply;
                goto finish;
            }
            PyObject *proto = PyObject_GetAttr(c, s_proto);
            if (proto == NULL) { Py_DECREF(reply); goto fail; }
            PyObject *b = PyObject_CallFunctionObjArgs(st.encode, reply, proto, NULL);
            Py_DECREF(proto);
            Py_DECREF(reply);
            if (put(out, b) < 0) goto fail;
            int q = attr_true(c, s_quit);
            if (q < 0) goto fail;
            if (q) break;
            continue;
        }
        Py_DECREF(argv);
    }
    Py_INCREF(Py_None);
    result = Py_None;
finish:
    if (flush_writes(&st, engine) < 0 || bump(engine, s_stat_commands, st.ran) < 0) {
        Py_CLEAR(result);
    }
    state_clear(&st);
    return result;
fail:
    {
        /* keep the counts of what ran, then raise */
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        flush_writes(&st, engine);
        bump(engine, s_stat_commands, st.ran);
        PyErr_Clear();
        PyErr_Restore(et, ev, tb);
    }
    state_clear(&st);
    return NULL;
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS,
     "run(engine, c, cmds, out, ctx) -> None | Block: Engine.execute_batch with native hot "
     "commands."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastpath", "HeroDB's optional C request loop.", -1, methods
};

#define INTERN(var, text) do { if (!((var) = PyUnicode_InternFromString(text))) return NULL; } while (0)

PyMODINIT_FUNC PyInit__fastpath(void)
{
    INTERN(s_access, "access"); INTERN(s_admin, "admin"); INTERN(s_multi, "multi");
    INTERN(s_channels, "channels"); INTERN(s_patterns, "patterns"); INTERN(s_proto, "proto");
    INTERN(s_effects, "effects"); INTERN(s_store, "store"); INTERN(s_watched, "watched");
    INTERN(s_blocked, "blocked"); INTERN(s_ready, "ready"); INTERN(s_data, "data");
    INTERN(s_expires, "expires"); INTERN(s_db, "db"); INTERN(s_log, "log");
    INTERN(s_batch, "_batch"); INTERN(s_append, "append"); INTERN(s_appendleft, "appendleft");
    INTERN(s_popleft, "popleft"); INTERN(s_pop, "pop"); INTERN(s_execute, "execute");
    INTERN(s_quit, "quit"); INTERN(s_dirty, "dirty"); INTERN(s_appended, "appended");
    INTERN(s_stat_commands, "stat_commands");
    return PyModule_Create(&module);
}
