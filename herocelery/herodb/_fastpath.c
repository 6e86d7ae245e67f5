/* HeroDB's optional C request loop: Connection.data_received and Engine.execute_batch with
 * native hot commands.
 *
 * read(ctx, conn, data) is server.Connection's read callback for the common read -- nothing
 * pending, not blocked, whole regular requests -- with no Python frame: split (as the parser
 * would), run, then write the replies or hold them for the loop turn's log write, as
 * Connection.process does; every other read goes to conn.data_received_py, and a read whose
 * requests blocked, quit or answered nothing to conn.finish.
 *
 * run(ctx, engine, c, cmds, out) runs the parsed requests of one read in order and appends
 * each reply's RESP bytes to `out`, like Engine.execute_batch (whose Python loop stays the
 * reference and the fallback).  While the connection is in the plain state (no MULTI, not a
 * RESP2 subscriber, admin or no access model, no pending write effects, nothing ready to
 * serve) the happy path of GET, SET key value, SETEX, INCR/DECR/INCRBY/DECRBY, LPUSH/RPUSH,
 * LPOP/RPOP key, BLPOP/BRPOP served at once, HGET, HSET, HDEL, EXISTS, DEL, ZADD key score
 * member, ZREM, PUBLISH and SUBSCRIBE/UNSUBSCRIBE of channels runs here on the Database's
 * dicts, deques and ZSets; a MULTI whose queued requests and EXEC are all in the same read
 * runs them without queueing (natively where it can, else through engine.run as EXEC does).
 * Anything else -- another command, another argument shape, a write to a key with a TTL or
 * one a WATCHer or blocked client waits on, a read of an expired key, a wrong type, a number
 * that is not plainly valid -- is handed, unchanged, to engine.execute(c, argv), so errors and
 * edge cases are the Python path's own.  A native op decides to hand over before it changes
 * anything.
 *
 * Returns None, or the Block a request returned (nothing is appended for it), as
 * execute_batch does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <limits.h>
#include <time.h>

enum {
    OP_GET = 1, OP_SET, OP_INCR, OP_DECR, OP_INCRBY, OP_DECRBY, OP_LPUSH, OP_RPUSH,
    OP_LPOP, OP_RPOP, OP_HGET, OP_HSET, OP_EXISTS, OP_DEL, OP_SETEX, OP_ZADD, OP_ZREM,
    OP_HDEL, OP_PUBLISH, OP_MULTI, OP_SUBSCRIBE, OP_UNSUBSCRIBE, OP_BLPOP, OP_BRPOP
};

/* the pending exception, taken out while cleanup code runs and put back after:
 * PyErr_GetRaisedException from 3.12 (PyErr_Fetch is deprecated there), PyErr_Fetch before */
#if PY_VERSION_HEX >= 0x030C0000
typedef PyObject *SavedError;
#define ERR_SAVE(s) ((s) = PyErr_GetRaisedException())
#define ERR_SAVED(s) ((s) != NULL)
#define ERR_RESTORE(s) PyErr_SetRaisedException(s)
#else
typedef struct { PyObject *t, *v, *tb; } SavedError;
#define ERR_SAVE(s) PyErr_Fetch(&(s).t, &(s).v, &(s).tb)
#define ERR_SAVED(s) ((s).t != NULL)
#define ERR_RESTORE(s) PyErr_Restore((s).t, (s).v, (s).tb)
#endif

/* interned attribute names */
static PyObject *s_access, *s_admin, *s_multi, *s_channels, *s_patterns, *s_proto, *s_effects,
    *s_store, *s_watched, *s_blocked, *s_ready, *s_data, *s_expires, *s_db, *s_log, *s_batch,
    *s_append, *s_appendleft, *s_popleft, *s_pop, *s_execute, *s_quit, *s_dirty, *s_appended,
    *s_stat_commands, *s_heap, *s_scores, *s_add, *s_remove, *s_publish, *s_watching,
    *s_watch_dirty, *s_in_exec, *s_name, *s_arity, *s_run, *s_serve_ready, *s_exec_name, *s_hello_name,
    *s_guarded, *s_reply_off, *s_native_calls;
static PyObject *b_set, *b_pxat;   /* b"SET", b"PXAT" */

typedef struct {
    /* from ctx */
    PyObject *natives;      /* dict: command name -> op number */
    PyObject *deque_type;
    PyObject *encode;       /* protocol.encode */
    PyObject *block_type;
    PyObject *log_type;     /* persist.AppendLog or None */
    PyObject *ok;           /* b"+OK\r\n" */
    PyObject *ints;         /* tuple of b":%d\r\n" for 0..len-1 */
    PyObject *table;        /* engine.table: bytes name -> Command */
    PyObject *multi_control;/* frozenset of the command names MULTI does not queue */
    PyObject *zset_type;    /* keyspace.ZSet */
    PyObject *heappush;     /* heapq.heappush */
    PyObject *queued;       /* b"+QUEUED\r\n" */
    PyObject *pause;        /* engine.PAUSE */
    long long out_cap;      /* engine.OUT_CAP */
    PyObject *engine, *c;   /* borrowed: this call's engine and connection */
    /* connection state, valid while `plain` holds (borrowed or owned as noted) */
    int plain;
    PyObject *data, *expires;   /* owned */
    PyObject *watched, *blocked, *heap;  /* owned: the Database's dicts and expiry heap */
    PyObject *db;               /* owned: c.db */
    PyObject *sink_list;        /* owned: the log's batch list, or NULL */
    PyObject *sink_call;        /* owned: log.append, or NULL */
    int proto3;
    long ran, writes;
    long opcount[32];           /* requests served here per op (0: EXEC), for commandstats */
    PyObject *edict, *cdict;    /* owned: instance dicts of the engine and the connection */
} State;

static void state_clear(State *st)
{
    Py_CLEAR(st->data);
    Py_CLEAR(st->expires);
    Py_CLEAR(st->watched);
    Py_CLEAR(st->blocked);
    Py_CLEAR(st->heap);
    Py_CLEAR(st->db);
    Py_CLEAR(st->sink_list);
    Py_CLEAR(st->sink_call);
    st->plain = 0;
}

/* getattr(obj, name) (new reference), read from the instance dict `d` when it is there:
 * Engine and ConnState keep these names as plain instance attributes, and a dict lookup
 * costs a third of a generic getattr; anything else takes the generic way. */
static PyObject *get(PyObject *d, PyObject *obj, PyObject *name)
{
    if (d != NULL) {
        PyObject *v = PyDict_GetItemWithError(d, name);
        if (v != NULL) {
            Py_INCREF(v);
            return v;
        }
        if (PyErr_Occurred())
            return NULL;
    }
    return PyObject_GetAttr(obj, name);
}

/* the instance dict of obj (new reference) or NULL when it has none */
static PyObject *instance_dict(PyObject *obj)
{
    if (Py_TYPE(obj)->tp_dictoffset == 0)
        return NULL;
    PyObject *d = PyObject_GenericGetDict(obj, NULL);
    if (d == NULL || !PyDict_CheckExact(d)) {
        PyErr_Clear();
        Py_XDECREF(d);
        return NULL;
    }
    return d;
}

/* truthiness of getattr(obj, name); -1 on error */
static int attr_true(PyObject *d, PyObject *obj, PyObject *name)
{
    PyObject *v = get(d, obj, name);
    if (v == NULL)
        return -1;
    int r = PyObject_IsTrue(v);
    Py_DECREF(v);
    return r;
}

static int attr_is_none(PyObject *d, PyObject *obj, PyObject *name)
{
    PyObject *v = get(d, obj, name);
    if (v == NULL)
        return -1;
    int r = (v == Py_None);
    Py_DECREF(v);
    return r;
}

/* Load the connection's state; st->plain = 1 when native ops may run. 0 ok, -1 error. */
static int state_load(State *st, PyObject *engine, PyObject *c)
{
    PyObject *ed = st->edict, *cd = st->cdict;
    int r;
    PyObject *store = NULL, *v = NULL;
    state_clear(st);
    if ((r = attr_is_none(ed, engine, s_access)) < 0) return -1;
    if (!r) {
        if ((r = attr_true(cd, c, s_admin)) < 0) return -1;
        if (!r) return 0;
    }
    if ((r = attr_is_none(cd, c, s_multi)) < 0) return -1;
    if (!r) return 0;
    if ((r = attr_is_none(cd, c, s_effects)) < 0) return -1;
    if (!r) return 0;
    if ((r = attr_is_none(cd, c, s_reply_off)) < 0) return -1;
    if (!r) return 0;   /* CLIENT REPLY OFF/SKIP: execute() decides what is sent */
    if ((r = attr_true(ed, engine, s_ready)) < 0) return -1;
    if (r) return 0;
    if ((r = attr_true(ed, engine, s_guarded)) < 0) return -1;
    if (r) return 0;   /* OOM, keyspace notifications ...: every request goes to Python */
    v = get(cd, c, s_proto);
    if (v == NULL) return -1;
    if (!PyLong_CheckExact(v)) { Py_DECREF(v); return 0; }
    long proto = PyLong_AsLong(v);
    Py_DECREF(v);
    if (proto == -1 && PyErr_Occurred()) return -1;
    if (proto != 2 && proto != 3) return 0;
    st->proto3 = proto == 3;
    if (!st->proto3) {   /* a RESP2 subscriber may only (un)subscribe and ping: execute() says so */
        if ((r = attr_true(cd, c, s_channels)) < 0) return -1;
        if (r) return 0;
        if ((r = attr_true(cd, c, s_patterns)) < 0) return -1;
        if (r) return 0;
    }
    store = get(cd, c, s_store);
    if (store == NULL) return -1;
    st->data = PyObject_GetAttr(store, s_data);
    if (st->data == NULL) { r = -1; goto out_store; }
    st->expires = PyObject_GetAttr(store, s_expires);
    if (st->expires == NULL) { r = -1; goto out_store; }
    st->watched = PyObject_GetAttr(store, s_watched);
    if (st->watched == NULL) { r = -1; goto out_store; }
    st->blocked = PyObject_GetAttr(store, s_blocked);
    if (st->blocked == NULL) { r = -1; goto out_store; }
    st->heap = PyObject_GetAttr(store, s_heap);
    if (st->heap == NULL) { r = -1; goto out_store; }
    Py_DECREF(store);
    store = NULL;
    if (!PyDict_CheckExact(st->data) || !PyDict_CheckExact(st->expires) ||
            !PyDict_CheckExact(st->watched) || !PyDict_CheckExact(st->blocked) ||
            !PyList_CheckExact(st->heap)) {
        state_clear(st);
        return 0;
    }
    st->db = get(cd, c, s_db);
    if (st->db == NULL) { state_clear(st); return -1; }
    PyObject *log = get(ed, engine, s_log);
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

/* b"".join(parts) of a list of bytes (new reference); one part is returned as it is.
 * (Written out: _PyBytes_Join is private, PyBytes_Join arrives only in 3.14.) */
static PyObject *joined(PyObject *parts)
{
    Py_ssize_t n = PyList_GET_SIZE(parts), total = 0;
    if (n == 1) {
        PyObject *only = PyList_GET_ITEM(parts, 0);
        Py_INCREF(only);
        return only;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = PyList_GET_ITEM(parts, i);
        if (!PyBytes_Check(p)) {
            PyErr_SetString(PyExc_TypeError, "joined: a reply part is not bytes");
            return NULL;
        }
        if (PyBytes_GET_SIZE(p) > PY_SSIZE_T_MAX - total) {
            PyErr_NoMemory();
            return NULL;
        }
        total += PyBytes_GET_SIZE(p);
    }
    PyObject *r = PyBytes_FromStringAndSize(NULL, total);
    if (r == NULL)
        return NULL;
    char *dst = PyBytes_AS_STRING(r);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = PyList_GET_ITEM(parts, i);
        memcpy(dst, PyBytes_AS_STRING(p), (size_t)PyBytes_GET_SIZE(p));
        dst += PyBytes_GET_SIZE(p);
    }
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

/* a reply from the Python path, encoded in the connection's protocol (steals reply) */
static int put_encoded(State *st, PyObject *out, PyObject *reply)
{
    PyObject *proto = get(st->cdict, st->c, s_proto);
    if (proto == NULL) { Py_DECREF(reply); return -1; }
    PyObject *b = PyObject_CallFunctionObjArgs(st->encode, reply, proto, NULL);
    Py_DECREF(proto);
    Py_DECREF(reply);
    return put(out, b);
}

/* ---- the keyspace ------------------------------------------------------------------------- */
/* 1 when the key has a TTL (the op hands over: lazy expiry stays in Python), -1 error */
static int has_ttl(State *st, PyObject *key)
{
    if (PyDict_GET_SIZE(st->expires) == 0)
        return 0;
    return PyDict_Contains(st->expires, key);
}

/* keyspace.now_ms(): int(time.time() * 1000), computed as Python computes it */
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    return (long long)(((double)ns / 1e9) * 1000.0);
}

/* For a read: 0 when the key has no TTL or one still to come (the value is live), 1 when the
 * time has come (hand over: Python expires the key lazily), -1 error. */
static int read_ttl(State *st, PyObject *key)
{
    if (PyDict_GET_SIZE(st->expires) == 0)
        return 0;
    PyObject *when = PyDict_GetItemWithError(st->expires, key);
    if (when == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyLong_CheckExact(when))
        return 1;
    int overflow = 0;
    long long w = PyLong_AsLongLongAndOverflow(when, &overflow);
    if (overflow || (w == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 1;
    }
    return w <= now_ms() ? 1 : 0;
}

/* 1 when a write to `key` needs after_write's hooks (a WATCHer or a blocked client on it):
 * the op hands over; 0 otherwise; -1 error */
static int hooked(State *st, PyObject *key)
{
    int r;
    if (PyDict_GET_SIZE(st->watched) && (r = PyDict_Contains(st->watched, key)) != 0)
        return r;
    if (PyDict_GET_SIZE(st->blocked) && (r = PyDict_Contains(st->blocked, key)) != 0)
        return r;
    return 0;
}

/* 1 when a write to `key` takes the Python path: it has a TTL (lazy expiry stays in Python),
 * or a WATCHer or blocked client waits on it (after_write's hooks); 0 native; -1 error */
static int write_handed(State *st, PyObject *key)
{
    int t = has_ttl(st, key);
    return t != 0 ? t : hooked(st, key);
}

/* a write done: counted and logged as after_write's common case (`argv` or the effect that
 * stands for it) */
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

/* A score in the plain decimal form -?[0-9]+(.[0-9]+)? (what Celery and kombu send), shorter
 * than 300 bytes; parsed as float() parses it. 1 parsed, 0 not plain. */
static int plain_decimal(PyObject *raw, double *out)
{
    if (!PyBytes_CheckExact(raw))
        return 0;
    const char *p = PyBytes_AS_STRING(raw);
    Py_ssize_t n = PyBytes_GET_SIZE(raw), i = 0, digits = 0;
    if (n == 0 || n >= 300)
        return 0;
    if (p[0] == '-')
        i = 1;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        digits++;
    if (digits == 0)
        return 0;
    if (i < n) {
        if (p[i] != '.' || i + 1 == n)
            return 0;
        for (i++; i < n; i++)
            if (p[i] < '0' || p[i] > '9')
                return 0;
    }
    double v = PyOS_string_to_double(p, NULL, NULL);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    *out = v;
    return 1;
}

#define ARG(i) PyList_GET_ITEM(argv, (i))

/* One native request: 1 done (reply appended), 0 hand over (nothing changed), -1 error. */
static int native(State *st, int op, PyObject *argv, PyObject *out)
{
    Py_ssize_t argc = PyList_GET_SIZE(argv);
    PyObject *key, *v;
    int t = 0;   /* stays 0 when a shape test ends a condition before t is set */
    if (argc < 2)
        return 0;
    key = ARG(1);
    if (!PyBytes_CheckExact(key))
        return 0;
    switch (op) {
    case OP_GET:
        if (argc != 2 || (t = read_ttl(st, key)) != 0) return t < 0 ? -1 : 0;
        v = PyDict_GetItemWithError(st->data, key);
        if (v == NULL) {
            if (PyErr_Occurred()) return -1;
            return put_null(st, out) < 0 ? -1 : 1;
        }
        if (!PyBytes_CheckExact(v)) return 0;
        return put_bulk(out, v) < 0 ? -1 : 1;

    case OP_SET:
        if (argc != 3 || (t = write_handed(st, key)) != 0) return t < 0 ? -1 : 0;
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
        if ((t = write_handed(st, key)) != 0) return t < 0 ? -1 : 0;
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
        if (argc < 3 || (t = write_handed(st, key)) != 0) return t < 0 ? -1 : 0;
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
        if (argc != 2 || (t = write_handed(st, key)) != 0) return t < 0 ? -1 : 0;
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
        if (argc != 3 || (t = read_ttl(st, key)) != 0) return t < 0 ? -1 : 0;
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
        if (argc < 4 || argc % 2 || (t = write_handed(st, key)) != 0) return t < 0 ? -1 : 0;
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
            t = op == OP_DEL ? write_handed(st, ARG(i)) : read_ttl(st, ARG(i));
            if (t != 0) return t < 0 ? -1 : 0;
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

    case OP_SETEX: {
        long long amount;
        if (argc != 4 || !PyBytes_CheckExact(ARG(3)) || !plain_int(ARG(2), &amount)) return 0;
        if (amount <= 0 || amount > 1000000000000LL) return 0;  /* else Python's checks */
        if ((t = hooked(st, key)) != 0) return t < 0 ? -1 : 0;
        long long when = now_ms() + amount * 1000;
        PyObject *w = PyLong_FromLongLong(when);
        if (w == NULL) return -1;
        PyObject *pair = PyTuple_Pack(2, w, key);
        PyObject *text = PyBytes_FromFormat("%lld", when);
        PyObject *effect = PyList_New(5);
        if (pair == NULL || text == NULL || effect == NULL) goto setex_fail;
        /* store.set + store.set_expire, as setex does */
        if (PyDict_SetItem(st->data, key, ARG(3)) < 0 || PyDict_SetItem(st->expires, key, w) < 0)
            goto setex_fail;
        PyObject *r = PyObject_CallFunctionObjArgs(st->heappush, st->heap, pair, NULL);
        if (r == NULL) goto setex_fail;
        Py_DECREF(r);
        Py_INCREF(b_set); PyList_SET_ITEM(effect, 0, b_set);
        Py_INCREF(key); PyList_SET_ITEM(effect, 1, key);
        Py_INCREF(ARG(3)); PyList_SET_ITEM(effect, 2, ARG(3));
        Py_INCREF(b_pxat); PyList_SET_ITEM(effect, 3, b_pxat);
        PyList_SET_ITEM(effect, 4, text);
        text = NULL;
        t = wrote(st, effect);
        Py_DECREF(effect);
        Py_DECREF(pair);
        Py_DECREF(w);
        if (t < 0) return -1;
        Py_INCREF(st->ok);
        return put(out, st->ok) < 0 ? -1 : 1;
    setex_fail:
        Py_XDECREF(effect);
        Py_XDECREF(text);
        Py_XDECREF(pair);
        Py_DECREF(w);
        return -1;
    }

    case OP_ZADD: {
        /* ZADD key score member, score in the plain decimal form */
        double score;
        if (argc != 4 || !PyBytes_CheckExact(ARG(3)) || !plain_decimal(ARG(2), &score)) return 0;
        if ((t = write_handed(st, key)) != 0) return t < 0 ? -1 : 0;
        v = PyDict_GetItemWithError(st->data, key);
        PyObject *z, *member = ARG(3);
        int is_new = 1;
        if (v == NULL) {
            if (PyErr_Occurred()) return -1;
            z = PyObject_CallNoArgs(st->zset_type);
            if (z == NULL) return -1;
            if (PyDict_SetItem(st->data, key, z) < 0) { Py_DECREF(z); return -1; }
        } else {
            if ((PyObject *)Py_TYPE(v) != st->zset_type) return 0;
            PyObject *scores = PyObject_GetAttr(v, s_scores);
            if (scores == NULL) return -1;
            if (!PyDict_CheckExact(scores)) { Py_DECREF(scores); return 0; }
            PyObject *old = PyDict_GetItemWithError(scores, member);
            if (old == NULL && PyErr_Occurred()) { Py_DECREF(scores); return -1; }
            if (old != NULL) {
                if (!PyFloat_CheckExact(old)) { Py_DECREF(scores); return 0; }
                is_new = 0;
                if (PyFloat_AS_DOUBLE(old) == score) {   /* unchanged: no effect */
                    Py_DECREF(scores);
                    return put_int(st, out, 0) < 0 ? -1 : 1;
                }
            }
            Py_DECREF(scores);
            z = v;
            Py_INCREF(z);
        }
        PyObject *f = PyFloat_FromDouble(score);
        if (f == NULL) { Py_DECREF(z); return -1; }
        PyObject *r = PyObject_CallMethodObjArgs(z, s_add, member, f, NULL);
        Py_DECREF(f);
        Py_DECREF(z);
        if (r == NULL) return -1;
        Py_DECREF(r);
        if (wrote(st, argv) < 0) return -1;
        return put_int(st, out, is_new) < 0 ? -1 : 1;
    }

    case OP_ZREM: case OP_HDEL: {
        if (argc < 3) return 0;
        for (Py_ssize_t i = 2; i < argc; i++)
            if (!PyBytes_CheckExact(ARG(i))) return 0;
        if ((t = write_handed(st, key)) != 0) return t < 0 ? -1 : 0;
        v = PyDict_GetItemWithError(st->data, key);
        if (v == NULL) {
            if (PyErr_Occurred()) return -1;
            return put_int(st, out, 0) < 0 ? -1 : 1;   /* no effect */
        }
        if (op == OP_ZREM ? (PyObject *)Py_TYPE(v) != st->zset_type : !PyDict_CheckExact(v))
            return 0;
        PyObject *items = v;
        Py_INCREF(items);
        long long n = 0;
        for (Py_ssize_t i = 2; i < argc; i++) {
            if (op == OP_HDEL) {
                t = PyDict_Contains(items, ARG(i));
                if (t > 0 && PyDict_DelItem(items, ARG(i)) < 0) t = -1;
            } else {
                PyObject *r = PyObject_CallMethodOneArg(items, s_remove, ARG(i));
                t = r == NULL ? -1 : PyObject_IsTrue(r);
                Py_XDECREF(r);
            }
            if (t < 0) { Py_DECREF(items); return -1; }
            n += t;
        }
        Py_ssize_t left = PyObject_Size(items);
        Py_DECREF(items);
        if (left < 0) return -1;
        if (left == 0 && PyDict_DelItem(st->data, key) < 0) return -1;  /* drop_if_empty */
        if (n > 0 && wrote(st, argv) < 0) return -1;
        return put_int(st, out, n) < 0 ? -1 : 1;
    }

    case OP_PUBLISH: {
        if (argc != 3 || !PyBytes_CheckExact(ARG(2))) return 0;
        PyObject *r = PyObject_CallMethodObjArgs(st->engine, s_publish, key, ARG(2), NULL);
        if (r == NULL) return -1;
        long long n = PyLong_AsLongLong(r);
        Py_DECREF(r);
        if (n == -1 && PyErr_Occurred()) return -1;
        return put_int(st, out, n) < 0 ? -1 : 1;
    }

    case OP_SUBSCRIBE: case OP_UNSUBSCRIBE: {
        /* engine.subscribe / engine.unsubscribe for each channel, then the confirmations */
        for (Py_ssize_t i = 1; i < argc; i++)
            if (!PyBytes_CheckExact(ARG(i))) return 0;
        PyObject *registry = get(st->edict, st->engine, s_channels);
        PyObject *mine = get(st->cdict, st->c, s_channels);
        PyObject *pats = get(st->cdict, st->c, s_patterns);
        PyObject *frames = PyList_New(0);
        int ok = registry && mine && pats && frames && PyDict_CheckExact(registry) &&
            PySet_CheckExact(mine) && PyAnySet_Check(pats);
        if (!ok) {
            Py_XDECREF(registry); Py_XDECREF(mine); Py_XDECREF(pats); Py_XDECREF(frames);
            return PyErr_Occurred() ? -1 : 0;
        }
        int subscribe = op == OP_SUBSCRIBE;
        t = 0;
        for (Py_ssize_t i = 1; i < argc && t >= 0; i++) {
            PyObject *name = ARG(i);
            PyObject *subs = PyDict_GetItemWithError(registry, name);   /* borrowed */
            if (subs == NULL && PyErr_Occurred()) { t = -1; break; }
            if (subscribe) {
                if (subs == NULL) {
                    PyObject *fresh = PySet_New(NULL);
                    if (fresh == NULL || PyDict_SetItem(registry, name, fresh) < 0) {
                        Py_XDECREF(fresh); t = -1; break;
                    }
                    subs = fresh;
                    Py_DECREF(fresh);   /* the registry holds it */
                }
                if (PySet_Add(subs, st->c) < 0 || PySet_Add(mine, name) < 0) { t = -1; break; }
            } else {
                int had = PySet_Contains(mine, name);
                if (had < 0 || (had && PySet_Discard(mine, name) < 0)) { t = -1; break; }
                if (had && subs != NULL) {
                    if (!PyAnySet_Check(subs) || PySet_Discard(subs, st->c) < 0) { t = -1; break; }
                    if (PySet_GET_SIZE(subs) == 0 && PyDict_DelItem(registry, name) < 0) {
                        t = -1; break;
                    }
                }
            }
            Py_ssize_t count = PySet_GET_SIZE(mine) + PySet_GET_SIZE(pats);
            const char *kind = subscribe ? "subscribe" : "unsubscribe";
            PyObject *f = PyBytes_FromFormat("%c3\r\n$%d\r\n%s\r\n$%zd\r\n", st->proto3 ? '>' : '*',
                                             (int)strlen(kind), kind, PyBytes_GET_SIZE(name));
            if (f == NULL) { t = -1; break; }
            PyBytes_Concat(&f, name);
            if (f == NULL) { t = -1; break; }
            PyObject *tail = PyBytes_FromFormat("\r\n:%zd\r\n", count);
            if (tail == NULL) { Py_DECREF(f); t = -1; break; }
            PyBytes_ConcatAndDel(&f, tail);
            if (f == NULL || PyList_Append(frames, f) < 0) { Py_XDECREF(f); t = -1; break; }
            Py_DECREF(f);
        }
        PyObject *reply = NULL;
        if (t >= 0)
            reply = joined(frames);
        Py_DECREF(registry); Py_DECREF(mine); Py_DECREF(pats); Py_DECREF(frames);
        if (reply == NULL) return -1;
        if (subscribe && !st->proto3)
            st->plain = 0;   /* a RESP2 subscriber now: execute() takes its next requests */
        return put(out, reply) < 0 ? -1 : 1;
    }

    case OP_BLPOP: case OP_BRPOP: {
        /* the served-at-once case: a plain timeout and a non-empty list among the keys; an
         * empty result (the client would block) or anything odd goes to Python first */
        double timeout;
        if (argc < 3 || !plain_decimal(ARG(argc - 1), &timeout) || timeout < 0 ||
                timeout * 1000.0 >= 9223372036854775808.0)   /* parse_timeout's error */
            return 0;
        PyObject *found = NULL;
        for (Py_ssize_t i = 1; i < argc - 1; i++) {
            PyObject *k = ARG(i);
            if (!PyBytes_CheckExact(k)) return 0;
            if ((t = has_ttl(st, k)) != 0) return t < 0 ? -1 : 0;
            v = PyDict_GetItemWithError(st->data, k);
            if (v == NULL) {
                if (PyErr_Occurred()) return -1;
                continue;
            }
            if ((PyObject *)Py_TYPE(v) != st->deque_type) return 0;   /* WRONGTYPE: Python's */
            Py_ssize_t len = PyObject_Size(v);
            if (len < 0) return -1;
            if (len == 0) return 0;
            if ((t = hooked(st, k)) != 0) return t < 0 ? -1 : 0;
            found = k;
            break;
        }
        if (found == NULL) return 0;
        PyObject *items = PyDict_GetItemWithError(st->data, found);
        Py_INCREF(items);
        Py_ssize_t len = PyObject_Size(items);
        PyObject *value = PyObject_CallMethodNoArgs(items, op == OP_BLPOP ? s_popleft : s_pop);
        if (value == NULL) { Py_DECREF(items); return -1; }
        t = len == 1 ? PyDict_DelItem(st->data, found) : 0;
        Py_DECREF(items);
        if (t < 0 || !PyBytes_CheckExact(value)) {
            Py_DECREF(value);
            if (t >= 0) PyErr_SetString(PyExc_TypeError, "a list element that is not bytes");
            return -1;
        }
        /* logged as its non-blocking effect, as _bpop does */
        PyObject *effect = PyList_New(2);
        if (effect == NULL) { Py_DECREF(value); return -1; }
        PyObject *name = PyBytes_FromString(op == OP_BLPOP ? "LPOP" : "RPOP");
        if (name == NULL) { Py_DECREF(effect); Py_DECREF(value); return -1; }
        PyList_SET_ITEM(effect, 0, name);
        Py_INCREF(found);
        PyList_SET_ITEM(effect, 1, found);
        t = wrote(st, effect);
        Py_DECREF(effect);
        if (t < 0) { Py_DECREF(value); return -1; }
        Py_ssize_t kn = PyBytes_GET_SIZE(found), vn = PyBytes_GET_SIZE(value);
        PyObject *b = PyBytes_FromFormat("*2\r\n$%zd\r\n", kn);
        if (b != NULL) PyBytes_Concat(&b, found);
        if (b != NULL) PyBytes_ConcatAndDel(&b, PyBytes_FromFormat("\r\n$%zd\r\n", vn));
        if (b != NULL) PyBytes_Concat(&b, value);
        if (b != NULL) PyBytes_ConcatAndDel(&b, PyBytes_FromStringAndSize("\r\n", 2));
        Py_DECREF(value);
        if (b == NULL) return -1;
        return put(out, b) < 0 ? -1 : 1;
    }
    }
    return 0;
}

/* add a local count to an engine attribute */
static int bump(State *st, PyObject *engine, PyObject *name, long n)
{
    if (n == 0)
        return 0;
    PyObject *v = get(st->edict, engine, name);
    if (v == NULL)
        return -1;
    PyObject *d = PyLong_FromLong(n);
    if (d == NULL) { Py_DECREF(v); return -1; }
    PyObject *s = PyNumber_Add(v, d);
    Py_DECREF(v);
    Py_DECREF(d);
    if (s == NULL)
        return -1;
    int r = st->edict != NULL && PyDict_Contains(st->edict, name) == 1 ?
        PyDict_SetItem(st->edict, name, s) : PyObject_SetAttr(engine, name, s);
    Py_DECREF(s);
    return r;
}

/* the per-op counts go to engine.native_calls (a list of 32 ints; INFO commandstats) */
static int flush_opcounts(State *st, PyObject *engine)
{
    PyObject *calls = NULL;
    for (int op = 0; op < 32; op++) {
        long n = st->opcount[op];
        if (n == 0)
            continue;
        st->opcount[op] = 0;
        if (calls == NULL) {
            calls = PyObject_GetAttr(engine, s_native_calls);
            if (calls == NULL)
                return -1;
            if (!PyList_CheckExact(calls) || PyList_GET_SIZE(calls) < 32) {
                Py_DECREF(calls);
                PyErr_SetString(PyExc_TypeError, "engine.native_calls: a list of 32 ints");
                return -1;
            }
        }
        PyObject *old = PyList_GET_ITEM(calls, op);
        PyObject *d = PyLong_FromLong(n);
        if (d == NULL) { Py_DECREF(calls); return -1; }
        PyObject *sum = PyNumber_Add(old, d);
        Py_DECREF(d);
        if (sum == NULL) { Py_DECREF(calls); return -1; }
        PyList_SET_ITEM(calls, op, sum);   /* steals sum */
        Py_DECREF(old);
    }
    Py_XDECREF(calls);
    return 0;
}

/* dirty and appended go to the engine before Python code runs (as after_write does) */
static int flush_writes(State *st, PyObject *engine)
{
    long w = st->writes;
    st->writes = 0;
    if (bump(st, engine, s_dirty, w) < 0)
        return -1;
    if (st->sink_list != NULL || st->sink_call != NULL)
        return bump(st, engine, s_appended, w);
    return 0;
}

/* the Python path for one request inside a transaction: engine.run(c, cmd, argv) (exec_'s
 * loop), its reply encoded into `parts`. 0 ok, -1 error. */
static int run_queued(State *st, PyObject *cmd, PyObject *argv, PyObject *parts)
{
    if (flush_writes(st, st->engine) < 0)
        return -1;
    PyObject *reply = PyObject_CallMethodObjArgs(st->engine, s_run, st->c, cmd, argv, NULL);
    return reply == NULL ? -1 : put_encoded(st, parts, reply);
}

/* MULTI, queued requests and EXEC all in this read, for a connection in the plain state that
 * WATCHes nothing: run as execute() would run them one by one -- +OK, +QUEUED per request,
 * then EXEC's array -- without queueing them first. Every request must be one MULTI would
 * queue (a known command, right arity; none of MULTI_CONTROL) and EXEC must come without
 * arguments; otherwise, or with no EXEC in this read, 0: hand over (nothing changed). 1 done,
 * *last = the EXEC's index; -1 error. Counts as execute does: MULTI, EXEC and each request. */
static int transaction(State *st, PyObject *cmds, Py_ssize_t first, Py_ssize_t *last,
                       PyObject *out)
{
    PyObject *c = st->c, *engine = st->engine;
    Py_ssize_t n = PyList_GET_SIZE(cmds), j;
    int r;
    if (PyList_GET_SIZE(PyList_GET_ITEM(cmds, first)) != 1)
        return 0;
    if ((r = attr_true(st->cdict, c, s_watching)) != 0) return r < 0 ? -1 : 0;
    if ((r = attr_true(st->cdict, c, s_watch_dirty)) != 0) return r < 0 ? -1 : 0;
    for (j = first + 1; j < n; j++) {
        PyObject *argv = PyList_GET_ITEM(cmds, j);
        if (!PyList_CheckExact(argv) || PyList_GET_SIZE(argv) < 1)
            return 0;
        PyObject *name = PyList_GET_ITEM(argv, 0);
        if (!PyBytes_CheckExact(name))
            return 0;
        PyObject *cmd = PyDict_GetItemWithError(st->table, name);   /* borrowed */
        if (cmd == NULL)
            return PyErr_Occurred() ? -1 : 0;    /* unknown or mixed case: Python's message */
        PyObject *cname = PyObject_GetAttr(cmd, s_name);
        if (cname == NULL) return -1;
        r = PySet_Contains(st->multi_control, cname);
        int is_exec = r > 0 && PyUnicode_Compare(cname, s_exec_name) == 0;
        /* HELLO changes the protocol EXEC's array is encoded in (after all of them ran) */
        int is_hello = PyUnicode_Compare(cname, s_hello_name) == 0;
        Py_DECREF(cname);
        if (r < 0 || PyErr_Occurred()) return -1;
        if (is_hello) return 0;
        if (r > 0) {
            if (is_exec && PyList_GET_SIZE(argv) == 1)
                break;
            return 0;
        }
        PyObject *ar = PyObject_GetAttr(cmd, s_arity);
        if (ar == NULL) return -1;
        long arity = PyLong_AsLong(ar);
        Py_DECREF(ar);
        if (arity == -1 && PyErr_Occurred()) return -1;
        Py_ssize_t argc = PyList_GET_SIZE(argv);
        if ((arity > 0 && argc != arity) || argc < -arity)
            return 0;
    }
    if (j == n)
        return 0;
    /* MULTI's +OK and a +QUEUED per request, as execute() answers them */
    Py_INCREF(st->ok);
    if (put(out, st->ok) < 0) return -1;
    for (Py_ssize_t k = first + 1; k < j; k++) {
        Py_INCREF(st->queued);
        if (put(out, st->queued) < 0) return -1;
    }
    PyObject *parts = PyList_New(0);
    if (parts == NULL) return -1;
    if (PyObject_SetAttr(c, s_in_exec, Py_True) < 0) { Py_DECREF(parts); return -1; }
    int loaded = 1, failed = 0;
    for (Py_ssize_t k = first + 1; k < j && !failed; k++) {
        PyObject *argv = PyList_GET_ITEM(cmds, k);
        PyObject *name = PyList_GET_ITEM(argv, 0);
        if (!loaded) {
            if (state_load(st, engine, c) < 0) { failed = 1; break; }
            loaded = 1;
        }
        int done = 0;
        if (st->plain && PyList_GET_SIZE(argv) >= 2) {
            PyObject *opv = PyDict_GetItemWithError(st->natives, name);
            if (opv == NULL && PyErr_Occurred()) { failed = 1; break; }
            if (opv != NULL) {
                int op = (int)PyLong_AsLong(opv);
                if (op != OP_MULTI) {
                    done = native(st, op, argv, parts);
                    if (done < 0) { failed = 1; break; }
                    if (done) { st->ran++; st->opcount[op & 31]++; }
                }
            }
        }
        if (!done) {
            PyObject *cmd = PyDict_GetItemWithError(st->table, name);
            if (cmd == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_RuntimeError, "command table changed");
                failed = 1;
                break;
            }
            Py_INCREF(cmd);
            Py_INCREF(argv);
            if (run_queued(st, cmd, argv, parts) < 0) failed = 1;
            Py_DECREF(argv);
            Py_DECREF(cmd);
            loaded = 0;
        }
    }
    {
        SavedError saved;
        ERR_SAVE(saved);
        if (PyObject_SetAttr(c, s_in_exec, Py_False) < 0) {
            if (failed) PyErr_Clear(); else failed = 1;
        }
        if (ERR_SAVED(saved)) ERR_RESTORE(saved);
    }
    if (!loaded && !failed && state_load(st, engine, c) < 0)
        failed = 1;
    st->ran += 2;   /* MULTI and EXEC */
    st->opcount[OP_MULTI]++;
    st->opcount[0]++;
    if (failed) { Py_DECREF(parts); return -1; }
    /* EXEC's array: *n then each reply */
    char head[32];
    int h = snprintf(head, sizeof head, "*%zd\r\n", PyList_GET_SIZE(parts));
    PyObject *hb = PyBytes_FromStringAndSize(head, h);
    if (hb == NULL || PyList_Insert(parts, 0, hb) < 0) { Py_XDECREF(hb); Py_DECREF(parts); return -1; }
    Py_DECREF(hb);
    PyObject *reply = joined(parts);
    Py_DECREF(parts);
    if (put(out, reply) < 0) return -1;
    *last = j;
    /* as execute() does after EXEC: blocked clients whose keys got data are served */
    PyObject *ready = get(st->edict, engine, s_ready);
    if (ready == NULL) return -1;
    r = PyObject_IsTrue(ready);
    Py_DECREF(ready);
    if (r < 0) return -1;
    if (r) {
        if (flush_writes(st, engine) < 0) return -1;
        PyObject *x = PyObject_CallMethodNoArgs(engine, s_serve_ready);
        if (x == NULL) return -1;
        Py_DECREF(x);
    }
    return 1;
}

static PyObject *run(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 5 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != 14 ||
            !PyList_CheckExact(args[3]) || !PyList_CheckExact(args[4])) {
        PyErr_SetString(PyExc_TypeError, "run(ctx: tuple of 14, engine, c, cmds: list, out: list)");
        return NULL;
    }
    PyObject *ctx = args[0], *engine = args[1], *c = args[2], *cmds = args[3], *out = args[4];
    State st;
    memset(&st, 0, sizeof st);
    st.natives = PyTuple_GET_ITEM(ctx, 0);
    st.deque_type = PyTuple_GET_ITEM(ctx, 1);
    st.encode = PyTuple_GET_ITEM(ctx, 2);
    st.block_type = PyTuple_GET_ITEM(ctx, 3);
    st.log_type = PyTuple_GET_ITEM(ctx, 4);
    st.ok = PyTuple_GET_ITEM(ctx, 5);
    st.ints = PyTuple_GET_ITEM(ctx, 6);
    st.table = PyTuple_GET_ITEM(ctx, 7);
    st.multi_control = PyTuple_GET_ITEM(ctx, 8);
    st.zset_type = PyTuple_GET_ITEM(ctx, 9);
    st.heappush = PyTuple_GET_ITEM(ctx, 10);
    st.queued = PyTuple_GET_ITEM(ctx, 11);
    st.pause = PyTuple_GET_ITEM(ctx, 12);
    st.out_cap = PyLong_AsLongLong(PyTuple_GET_ITEM(ctx, 13));
    if (st.out_cap == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t out_bytes = 0, ncmds = PyList_GET_SIZE(cmds);
    st.engine = engine;
    st.c = c;
    st.edict = instance_dict(engine);
    st.cdict = instance_dict(c);
    if (!PyDict_CheckExact(st.natives) || !PyTuple_CheckExact(st.ints) ||
            !PyDict_CheckExact(st.table) || !PyAnySet_Check(st.multi_control)) {
        PyErr_SetString(PyExc_TypeError, "run: bad ctx");
        Py_XDECREF(st.edict);
        Py_XDECREF(st.cdict);
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
        if (st.plain && PyList_CheckExact(argv) && PyList_GET_SIZE(argv) >= 1) {
            PyObject *name = PyList_GET_ITEM(argv, 0);
            PyObject *opv = PyBytes_CheckExact(name) ?
                PyDict_GetItemWithError(st.natives, name) : NULL;
            if (opv == NULL && PyErr_Occurred()) { Py_DECREF(argv); goto fail; }
            if (opv != NULL) {
                int op = (int)PyLong_AsLong(opv);
                if (op == OP_MULTI) {
                    Py_ssize_t last = i;
                    done = transaction(&st, cmds, i, &last, out);
                    if (done < 0) { Py_DECREF(argv); goto fail; }
                    if (done) {
                        Py_DECREF(argv);
                        i = last;
                        loaded = 0;   /* Python code ran (serve_ready, handlers) */
                        continue;
                    }
                } else {
                    done = native(&st, op, argv, out);
                    if (done < 0) { Py_DECREF(argv); goto fail; }
                    if (done) { st.ran++; st.opcount[op & 31]++; }
                }
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
            if (put_encoded(&st, out, reply) < 0) goto fail;
            int q = attr_true(st.cdict, c, s_quit);
            if (q < 0) goto fail;
            if (q) break;
        } else {
            Py_DECREF(argv);
        }
        /* execute_batch's OUT_CAP: the replies of this read are big; the rest waits */
        if (PyList_GET_SIZE(out) > 0) {
            PyObject *last = PyList_GET_ITEM(out, PyList_GET_SIZE(out) - 1);
            out_bytes += PyBytes_Check(last) ? PyBytes_GET_SIZE(last) : 0;
        }
        if (out_bytes > st.out_cap && i < ncmds - 1) {
            Py_INCREF(st.pause);
            result = st.pause;
            goto finish;
        }
    }
    Py_INCREF(Py_None);
    result = Py_None;
finish:
    if (flush_writes(&st, engine) < 0 || bump(&st, engine, s_stat_commands, st.ran) < 0
            || flush_opcounts(&st, engine) < 0) {
        Py_CLEAR(result);
    }
    state_clear(&st);
    Py_XDECREF(st.edict);
    Py_XDECREF(st.cdict);
    return result;
fail:
    {
        /* keep the counts of what ran, then raise */
        SavedError saved;
        ERR_SAVE(saved);
        flush_writes(&st, engine);
        bump(&st, engine, s_stat_commands, st.ran);
        PyErr_Clear();
        flush_opcounts(&st, engine);
        PyErr_Clear();
        ERR_RESTORE(saved);
    }
    state_clear(&st);
    Py_XDECREF(st.edict);
    Py_XDECREF(st.cdict);
    return NULL;
}

/* ---- parsing ------------------------------------------------------------------------------ */
/* a decimal count without sign or leading zero (1..9 digits) ending at "\r\n"; -1 otherwise */
static long long count_at(const char *p, const char *end, const char **next)
{
    long long v = 0;
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9' && q - p < 10) {
        v = v * 10 + (*q - '0');
        q++;
    }
    if (q == p || q - p > 9 || (*p == '0' && q - p > 1) || q + 1 >= end || q[0] != '\r' ||
            q[1] != '\n')
        return -1;
    *next = q + 2;
    return v;
}

/* split(data, out, max_bulk, max_multibulk) -> bool: when `data` is whole requests in the
 * regular form (*N then N bulk strings, every count plain, within the limits, N >= 1), append
 * each request's argv list to `out` and return True; otherwise return False and leave `out`
 * as it was (the Python parser then reads `data`, errors and partial requests included). */
/* split's work: 1 split, 0 not regular (out unchanged), -1 error */
static int split_into(PyObject *data, PyObject *out, long long max_bulk, long long max_multi)
{
    Py_ssize_t before = PyList_GET_SIZE(out);
    const char *p = PyBytes_AS_STRING(data);
    const char *end = p + PyBytes_GET_SIZE(data);
    if (p == end)
        return 0;
    while (p < end) {
        if (*p != '*')
            goto no;
        long long n = count_at(p + 1, end, &p);
        if (n < 1 || n > max_multi || n > (end - p) / 4)   /* "$0\r\n" at least per argument */
            goto no;
        PyObject *argv = PyList_New((Py_ssize_t)n);
        if (argv == NULL)
            goto fail;
        for (long long i = 0; i < n; i++) {
            if (p >= end || *p != '$') { Py_DECREF(argv); goto no; }
            long long size = count_at(p + 1, end, &p);
            if (size < 0 || size > max_bulk || size + 2 > end - p || p[size] != '\r' ||
                    p[size + 1] != '\n') {
                Py_DECREF(argv);
                goto no;
            }
            PyObject *arg = PyBytes_FromStringAndSize(p, (Py_ssize_t)size);
            if (arg == NULL) { Py_DECREF(argv); goto fail; }
            PyList_SET_ITEM(argv, (Py_ssize_t)i, arg);
            p += size + 2;
        }
        int r = PyList_Append(out, argv);
        Py_DECREF(argv);
        if (r < 0)
            goto fail;
    }
    return 1;
no:
    if (PyList_SetSlice(out, before, PyList_GET_SIZE(out), NULL) < 0)
        return -1;
    return 0;
fail:
    {
        SavedError saved;
        ERR_SAVE(saved);
        PyList_SetSlice(out, before, PyList_GET_SIZE(out), NULL);
        ERR_RESTORE(saved);
    }
    return -1;
}

static PyObject *split(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 4 || !PyBytes_CheckExact(args[0]) || !PyList_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "split(data: bytes, out: list, max_bulk, max_multibulk)");
        return NULL;
    }
    long long max_bulk = PyLong_AsLongLong(args[2]), max_multi = PyLong_AsLongLong(args[3]);
    if (PyErr_Occurred())
        return NULL;
    int r = split_into(args[0], args[1], max_bulk, max_multi);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

/* A count being read at p: 1 whole (value, *next set), 0 cut short by the end of the data
 * (digits so far, possibly a '\r'), -1 not a plain count. */
static int count_state(const char *p, const char *end, long long *value, const char **next)
{
    long long v = count_at(p, end, next);
    if (v >= 0) {
        *value = v;
        return 1;
    }
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9' && q - p < 10)
        q++;
    if (q - p > 9 || (q - p > 1 && *p == '0'))
        return -1;
    if (q == end || (q + 1 == end && *q == '\r'))
        return 0;
    return -1;
}

/* pending(data, max_bulk, max_multibulk) -> (offset, need) | None: when `data` is whole
 * regular requests (maybe none) followed by one regular request cut short by the end of the
 * read (a big argument arriving in several reads), `offset` is where that request starts and
 * `need` > len(data) - offset the bytes it must have before it can be whole (at least: ask
 * again then); None otherwise (the parser reads it the careful way). Lets the parser gather a
 * big request's pieces without re-scanning them. */
static PyObject *pending(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 3 || !PyBytes_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "pending(data: bytes, max_bulk, max_multibulk)");
        return NULL;
    }
    long long max_bulk = PyLong_AsLongLong(args[1]), max_multi = PyLong_AsLongLong(args[2]);
    if (PyErr_Occurred())
        return NULL;
    const char *start = PyBytes_AS_STRING(args[0]), *p = start;
    const char *end = start + PyBytes_GET_SIZE(args[0]);
    while (p < end) {
        const char *req = p, *q;
        long long n, size, need = 0;
        if (*p != '*')
            Py_RETURN_NONE;
        int r = count_state(p + 1, end, &n, &q);
        if (r == 0)
            need = (end - req) + 1;
        else if (r < 0 || n < 1 || n > max_multi)
            Py_RETURN_NONE;
        else {
            p = q;
            for (long long i = 0; i < n; i++) {
                if (p >= end) { need = (p - req) + 4; break; }        /* "$0\r\n" at least */
                if (*p != '$') Py_RETURN_NONE;
                r = count_state(p + 1, end, &size, &q);
                if (r == 0) { need = (end - req) + 1; break; }
                if (r < 0 || size > max_bulk) Py_RETURN_NONE;
                if (size + 2 > end - q) { need = (q - req) + size + 2; break; }
                if (q[size] != '\r' || q[size + 1] != '\n') Py_RETURN_NONE;
                p = q + size + 2;
            }
        }
        if (need > 0)
            return Py_BuildValue("(nL)", (Py_ssize_t)(req - start), need);
    }
    Py_RETURN_NONE;   /* whole requests: split's case, not this one's */
}

/* ---- log records -------------------------------------------------------------------------- */
static void put_u32(char *p, size_t v)
{
    p[0] = (char)(v & 0xff);
    p[1] = (char)((v >> 8) & 0xff);
    p[2] = (char)((v >> 16) & 0xff);
    p[3] = (char)((v >> 24) & 0xff);
}

/* encode_records(records: list) -> bytes | None: persist.encode_records' payload (little-endian
 * u16 db, u32 argc, then u32 length + bytes per argument) when every record is a
 * (db in 0..65535, list or tuple of bytes) pair; None otherwise (the Python encoder decides). */
static PyObject *encode_records(PyObject *self, PyObject *records)
{
    (void)self;
    if (!PyList_CheckExact(records))
        Py_RETURN_NONE;
    Py_ssize_t nrec = PyList_GET_SIZE(records);
    size_t total = 0;
    for (Py_ssize_t i = 0; i < nrec; i++) {
        PyObject *rec = PyList_GET_ITEM(records, i);
        if (!PyTuple_CheckExact(rec) || PyTuple_GET_SIZE(rec) != 2)
            Py_RETURN_NONE;
        PyObject *db = PyTuple_GET_ITEM(rec, 0), *argv = PyTuple_GET_ITEM(rec, 1);
        if (!PyLong_CheckExact(db) || !(PyList_CheckExact(argv) || PyTuple_CheckExact(argv)))
            Py_RETURN_NONE;
        int overflow = 0;
        long d = PyLong_AsLongAndOverflow(db, &overflow);
        if (overflow || d < 0 || d > 0xffff)
            Py_RETURN_NONE;
        Py_ssize_t argc = PySequence_Fast_GET_SIZE(argv);
        if ((size_t)argc > 0xffffffffu)
            Py_RETURN_NONE;
        total += 6;
        PyObject **items = PySequence_Fast_ITEMS(argv);
        for (Py_ssize_t j = 0; j < argc; j++) {
            if (!PyBytes_CheckExact(items[j]) || (size_t)PyBytes_GET_SIZE(items[j]) > 0xffffffffu)
                Py_RETURN_NONE;
            total += 4 + (size_t)PyBytes_GET_SIZE(items[j]);
        }
    }
    if (total > (size_t)PY_SSIZE_T_MAX)
        Py_RETURN_NONE;
    PyObject *payload = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (payload == NULL)
        return NULL;
    char *p = PyBytes_AS_STRING(payload);
    for (Py_ssize_t i = 0; i < nrec; i++) {
        PyObject *rec = PyList_GET_ITEM(records, i);
        long d = PyLong_AsLong(PyTuple_GET_ITEM(rec, 0));
        PyObject *argv = PyTuple_GET_ITEM(rec, 1);
        Py_ssize_t argc = PySequence_Fast_GET_SIZE(argv);
        PyObject **items = PySequence_Fast_ITEMS(argv);
        p[0] = (char)(d & 0xff);
        p[1] = (char)((d >> 8) & 0xff);
        put_u32(p + 2, (size_t)argc);
        p += 6;
        for (Py_ssize_t j = 0; j < argc; j++) {
            Py_ssize_t n = PyBytes_GET_SIZE(items[j]);
            put_u32(p, (size_t)n);
            memcpy(p + 4, PyBytes_AS_STRING(items[j]), (size_t)n);
            p += 4 + n;
        }
    }
    return payload;
}

/* ---- the read callback ---------------------------------------------------------------------- */
static PyObject *s_c, *s_pending, *s_failure, *s_parser, *s_need, *s_buf, *s_max_bulk,
    *s_max_multibulk, *s_engine, *s_transport, *s_server, *s_held, *s_release_scheduled,
    *s_call_soon, *s_release_held, *s_holding, *s_write, *s_waiter, *s_closing, *s_finish,
    *s_slow, *s_split;

/* read(ctx, conn, data): server.Connection.data_received for its common case -- a connection
 * with nothing pending, not blocked, whose read is whole regular requests -- with no Python
 * frame: split (as the parser would), run (as process() would), then either write the replies
 * (a read that logged nothing while no earlier reply is held) or hold them for the loop turn's
 * log write, exactly as Connection.process does.  A blocked request, QUIT, an empty reply list
 * go to conn.finish(cmds, out, blocked, appended); anything else to conn.data_received_py. */
static PyObject *conn_read(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 3 || !PyBytes_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "read(ctx, conn, data: bytes)");
        return NULL;
    }
    PyObject *ctx = args[0], *conn = args[1], *data = args[2];
    PyObject *cd = NULL, *c = NULL, *ccd = NULL, *parser = NULL, *engine = NULL, *v = NULL;
    PyObject *cmds = NULL, *out = NULL, *appended0 = NULL, *result = NULL, *ret = NULL;
    PyObject *server = NULL, *sd = NULL;
    int r;
    cd = instance_dict(conn);
    if (cd == NULL) goto slow;
    c = get(cd, conn, s_c);
    if (c == NULL) goto error;
    if (c == Py_None) goto slow;
    ccd = instance_dict(c);
    if ((r = attr_true(ccd, c, s_closing)) != 0) { if (r < 0) goto error; goto slow; }
    if ((r = attr_is_none(ccd, c, s_waiter)) != 1) { if (r < 0) goto error; goto slow; }
    if ((r = attr_true(cd, conn, s_pending)) != 0) { if (r < 0) goto error; goto slow; }
    if ((r = attr_is_none(cd, conn, s_failure)) != 1) { if (r < 0) goto error; goto slow; }
    parser = get(cd, conn, s_parser);
    if (parser == NULL) goto error;
    if ((r = attr_true(NULL, parser, s_need)) != 0) { if (r < 0) goto error; goto slow; }
    if ((r = attr_true(NULL, parser, s_buf)) != 0) { if (r < 0) goto error; goto slow; }
    if ((r = attr_is_none(NULL, parser, s_split)) != 0) { if (r < 0) goto error; goto slow; }
    long long max_bulk, max_multi;
    if ((v = PyObject_GetAttr(parser, s_max_bulk)) == NULL) goto error;
    max_bulk = PyLong_AsLongLong(v);
    Py_CLEAR(v);
    if ((v = PyObject_GetAttr(parser, s_max_multibulk)) == NULL) goto error;
    max_multi = PyLong_AsLongLong(v);
    Py_CLEAR(v);
    if (PyErr_Occurred()) goto error;
    if ((cmds = PyList_New(0)) == NULL) goto error;
    if ((r = split_into(data, cmds, max_bulk, max_multi)) != 1) {
        if (r < 0) goto error;
        goto slow;
    }
    if ((engine = get(cd, conn, s_engine)) == NULL) goto error;
    PyObject *edict = instance_dict(engine);
    appended0 = get(edict, engine, s_appended);
    if (appended0 == NULL) { Py_XDECREF(edict); goto error; }
    if ((out = PyList_New(0)) == NULL) { Py_XDECREF(edict); goto error; }
    {
        PyObject *a[5] = {ctx, engine, c, cmds, out};
        result = run(NULL, a, 5);
    }
    if (result == NULL) { Py_XDECREF(edict); goto error; }
    int blocked = result != Py_None;
    if (!blocked && PyList_GET_SIZE(out) > 0) {
        if ((r = attr_true(ccd, c, s_quit)) < 0) { Py_XDECREF(edict); goto error; }
        blocked = r;   /* QUIT: finish() closes after the write */
    }
    if (blocked || PyList_GET_SIZE(out) == 0) {
        Py_XDECREF(edict);
        ret = PyObject_CallMethodObjArgs(conn, s_finish, cmds, out,
                                         result != Py_None ? Py_True : Py_False, appended0, NULL);
        goto done;
    }
    v = get(edict, engine, s_appended);
    Py_XDECREF(edict);
    if (v == NULL) goto error;
    int same = PyObject_RichCompareBool(v, appended0, Py_EQ);
    Py_CLEAR(v);
    if (same < 0) goto error;
    if ((server = get(cd, conn, s_server)) == NULL) goto error;
    sd = instance_dict(server);
    PyObject *held = get(sd, server, s_held);
    if (held == NULL) goto error;
    if (!PyList_CheckExact(held)) {
        Py_DECREF(held);
        ret = PyObject_CallMethodObjArgs(conn, s_finish, cmds, out, Py_False, appended0, NULL);
        goto done;
    }
    if (same && PyList_GET_SIZE(held) == 0) {
        /* nothing to order it behind and nothing for the log: out now */
        Py_DECREF(held);
        PyObject *payload = joined(out);
        if (payload == NULL) goto error;
        PyObject *transport = get(cd, conn, s_transport);
        if (transport == NULL) { Py_DECREF(payload); goto error; }
        ret = PyObject_CallMethodOneArg(transport, s_write, payload);
        Py_DECREF(transport);
        Py_DECREF(payload);
        goto done;
    }
    /* HeroDB.hold(conn, out): after the loop turn's one log write */
    {
        PyObject *pair = PyTuple_Pack(2, conn, out);
        r = pair == NULL ? -1 : PyList_Append(held, pair);
        Py_XDECREF(pair);
        Py_DECREF(held);
        if (r < 0 || PyObject_SetAttr(conn, s_holding, Py_True) < 0) goto error;
        if ((r = attr_true(sd, server, s_release_scheduled)) < 0) goto error;
        if (!r) {
            if (PyObject_SetAttr(server, s_release_scheduled, Py_True) < 0) goto error;
            PyObject *release = PyObject_GetAttr(server, s_release_held);
            if (release == NULL) goto error;
            PyObject *call_soon = get(sd, server, s_call_soon);
            if (call_soon == NULL) { Py_DECREF(release); goto error; }
            ret = PyObject_CallOneArg(call_soon, release);
            Py_DECREF(call_soon);
            Py_DECREF(release);
            goto done;
        }
        Py_INCREF(Py_None);
        ret = Py_None;
        goto done;
    }
slow:
    ret = PyObject_CallMethodOneArg(conn, s_slow, data);
    goto done;
error:
    ret = NULL;
done:
    Py_XDECREF(cd);
    Py_XDECREF(c);
    Py_XDECREF(ccd);
    Py_XDECREF(parser);
    Py_XDECREF(engine);
    Py_XDECREF(cmds);
    Py_XDECREF(out);
    Py_XDECREF(appended0);
    Py_XDECREF(result);
    Py_XDECREF(server);
    Py_XDECREF(sd);
    if (ret != NULL && ret != Py_None) {
        Py_DECREF(ret);
        Py_INCREF(Py_None);
        ret = Py_None;
    }
    return ret;
}

/* send_held(held): the end of HeroDB.release_held -- for each (conn, out) held for the loop
 * turn's log write: conn.holding = False, and when its client is still there and not
 * closing, conn.transport.write(the replies joined). */
static PyObject *send_held(PyObject *self, PyObject *held)
{
    (void)self;
    if (!PyList_CheckExact(held)) {
        PyErr_SetString(PyExc_TypeError, "send_held(held: list)");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(held); i++) {
        PyObject *pair = PyList_GET_ITEM(held, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 ||
                !PyList_CheckExact(PyTuple_GET_ITEM(pair, 1))) {
            PyErr_SetString(PyExc_TypeError, "send_held: (conn, out: list) pairs");
            return NULL;
        }
        PyObject *conn = PyTuple_GET_ITEM(pair, 0), *out = PyTuple_GET_ITEM(pair, 1);
        Py_INCREF(pair);
        PyObject *cd = instance_dict(conn), *c = NULL, *payload = NULL, *t = NULL, *r = NULL;
        int ok = 0, closing;
        if (PyObject_SetAttr(conn, s_holding, Py_False) < 0) goto next;
        if ((c = get(cd, conn, s_c)) == NULL) goto next;
        if (c == Py_None) { ok = 1; goto next; }
        if ((closing = attr_true(NULL, c, s_closing)) != 0) { ok = closing > 0; goto next; }
        if ((payload = joined(out)) == NULL) goto next;
        if ((t = get(cd, conn, s_transport)) == NULL) goto next;
        r = PyObject_CallMethodOneArg(t, s_write, payload);
        ok = r != NULL;
    next:
        Py_XDECREF(r);
        Py_XDECREF(t);
        Py_XDECREF(payload);
        Py_XDECREF(c);
        Py_XDECREF(cd);
        Py_DECREF(pair);
        if (!ok)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"run", (PyCFunction)(void (*)(void))run, METH_FASTCALL,
     "run(ctx, engine, c, cmds, out) -> None | Block: Engine.execute_batch with native hot "
     "commands."},
    {"read", (PyCFunction)(void (*)(void))conn_read, METH_FASTCALL,
     "read(ctx, conn, data) -> None: server.Connection.data_received's common case."},
    {"pending", (PyCFunction)(void (*)(void))pending, METH_FASTCALL,
     "pending(data, max_bulk, max_multibulk) -> (offset, need) | None: a cut-short request."},
    {"send_held", send_held, METH_O,
     "send_held(held) -> None: the replies HeroDB.release_held sends, in order."},
    {"split", (PyCFunction)(void (*)(void))split, METH_FASTCALL,
     "split(data, out, max_bulk, max_multibulk) -> bool: whole regular requests into out."},
    {"encode_records", encode_records, METH_O,
     "encode_records(records) -> bytes | None: persist.encode_records' payload, or None."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastpath", "HeroDB's optional C request loop.", -1, methods
};

#define INTERN(var, text) \
    do { if (!((var) = PyUnicode_InternFromString(text))) return NULL; } while (0)

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
    INTERN(s_stat_commands, "stat_commands"); INTERN(s_native_calls, "native_calls"); INTERN(s_heap, "heap"); INTERN(s_scores, "scores");
    INTERN(s_add, "add"); INTERN(s_remove, "remove"); INTERN(s_publish, "publish");
    INTERN(s_watching, "watching"); INTERN(s_watch_dirty, "watch_dirty");
    INTERN(s_in_exec, "in_exec"); INTERN(s_name, "name"); INTERN(s_arity, "arity");
    INTERN(s_run, "run"); INTERN(s_serve_ready, "serve_ready"); INTERN(s_exec_name, "EXEC");
    INTERN(s_hello_name, "HELLO"); INTERN(s_guarded, "guarded"); INTERN(s_reply_off, "reply_off");
    INTERN(s_c, "c"); INTERN(s_pending, "pending"); INTERN(s_failure, "failure");
    INTERN(s_parser, "parser"); INTERN(s_need, "need"); INTERN(s_buf, "buf");
    INTERN(s_max_bulk, "max_bulk"); INTERN(s_max_multibulk, "max_multibulk");
    INTERN(s_engine, "engine"); INTERN(s_transport, "transport"); INTERN(s_server, "server");
    INTERN(s_held, "_held"); INTERN(s_release_scheduled, "_release_scheduled");
    INTERN(s_call_soon, "call_soon"); INTERN(s_release_held, "release_held");
    INTERN(s_holding, "holding"); INTERN(s_write, "write"); INTERN(s_waiter, "waiter");
    INTERN(s_closing, "closing"); INTERN(s_finish, "finish");
    INTERN(s_slow, "data_received_py"); INTERN(s_split, "split");
    if (!(b_set = PyBytes_FromString("SET")) || !(b_pxat = PyBytes_FromString("PXAT")))
        return NULL;
    return PyModule_Create(&module);
}
