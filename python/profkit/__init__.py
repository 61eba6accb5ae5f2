"""profkit: Linux performance counters from Python, over libprofkit (ctypes, nothing to
compile).

The usage of the counters API it replaces works as it did::

    from profkit import profiler, list_events
    print(list_events().get_supported_pmus())
    print(list_events().get_supported_events())
    perf = profiler(program_args=['/bin/sleep', '1'],
                    events_groups=[['PERF_COUNT_HW_INSTRUCTIONS'],
                                   ['PERF_COUNT_HW_BRANCH_INSTRUCTIONS',
                                    'PERF_COUNT_HW_BRANCH_MISSES'],
                                   ['PERF_COUNT_SW_PAGE_FAULTS']])
    data = perf.run(sample_period=0.01)  # one row per period, counters in group order

and an idiomatic API::

    from profkit import Counters
    with Counters("{task-clock,page-faults},context-switches") as c:   # this process
        work()
        print(c.read())            # {'task-clock': 1234567, 'page-faults': 42, ...}

Event names are perf's ("page-faults", "cycles", "L1-dcache-load-misses", "msr/tsc/",
"sched:sched_switch", "r01c2") or the PERF_COUNT_* spellings. An event this machine cannot
count raises ProfkitError with the reason ("not supported on this machine: ..."), unless
the Counters are made with allow_unsupported=True (then it reads None).

libprofkit is found through $PROFKIT_LIB (a path to libprofkit.so), then the build
directories of the source tree this file sits in, then the system's library path.
"""

import ctypes
import ctypes.util
import glob
import os

__all__ = ["Counters", "ProfkitError", "UnknownEvent", "NotSupported", "profiler",
           "Profiler", "list_events", "ListEvents", "Event", "Pmu", "Count"]

# enum pk_error
PK_E_SYNTAX = 4096
PK_E_UNKNOWN_EVENT = 4097
PK_E_NOT_SUPPORTED = 4098
PK_E_NO_COUNTERS = 4099
PK_E_STATE = 4100

PK_STATUS_UNKNOWN = 1
PK_LIST_PROBE = 0x1
PK_OPEN_ENABLE = 0x1
PK_OPEN_NO_INHERIT = 0x2
PK_OPEN_ALL = 0x4
PK_RUN_DELTAS = 0x1
PK_RUN_ALL_EVENTS = 0x2

KINDS = ("hardware", "cache", "software", "tracepoint", "pmu", "raw", "native")


class ProfkitError(RuntimeError):
    """A libprofkit failure: .code is the (negative) error code, str() the full message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class UnknownEvent(ProfkitError, ValueError):
    """No event has that name, or the event list is malformed."""


class NotSupported(ProfkitError):
    """The event exists but this machine cannot count it."""


class _Count(ctypes.Structure):
    _fields_ = [("value", ctypes.c_uint64), ("raw", ctypes.c_uint64),
                ("enabled_ns", ctypes.c_uint64), ("running_ns", ctypes.c_uint64)]


class _CounterInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("event", ctypes.c_char_p), ("kind", ctypes.c_int),
                ("group", ctypes.c_size_t), ("leader", ctypes.c_bool), ("user", ctypes.c_bool),
                ("kernel", ctypes.c_bool), ("unit", ctypes.c_char_p), ("scale", ctypes.c_double),
                ("status", ctypes.c_int), ("reason", ctypes.c_char_p), ("note", ctypes.c_char_p),
                ("type", ctypes.c_uint32), ("config", ctypes.c_uint64)]


class _EventInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("aliases", ctypes.c_char_p), ("kind", ctypes.c_int),
                ("pmu", ctypes.c_char_p), ("desc", ctypes.c_char_p),
                ("encoding", ctypes.c_char_p), ("type", ctypes.c_uint32),
                ("config", ctypes.c_uint64), ("status", ctypes.c_int),
                ("reason", ctypes.c_char_p)]


class _PmuInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("type", ctypes.c_uint32),
                ("nevents", ctypes.c_size_t), ("formats", ctypes.c_char_p),
                ("cpumask", ctypes.c_char_p)]


def _candidates():
    env = os.environ.get("PROFKIT_LIB")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    for d in sorted(glob.glob(os.path.join(repo, "build*"))):
        yield os.path.join(d, "libprofkit.so")
    found = ctypes.util.find_library("profkit")
    if found:
        yield found
    yield "libprofkit.so.0"


def _load():
    errors = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            errors.append("%s: not found" % path)
            continue
        try:
            return ctypes.CDLL(path, use_errno=True)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("cannot load libprofkit (set PROFKIT_LIB to libprofkit.so): "
                      + "; ".join(errors))


_lib = _load()


def _sig(name, res, *args):
    f = getattr(_lib, name)
    f.restype = res
    f.argtypes = list(args)
    return f


_vp, _int, _sz, _u64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t, ctypes.c_uint64
_sig("pk_strerror", ctypes.c_char_p, _int)
_sig("pk_ctx_new", _int, ctypes.POINTER(_vp))
_sig("pk_ctx_free", _vp, _vp)
_sig("pk_ctx_errmsg", ctypes.c_char_p, _vp)
_sig("pk_perf_event_paranoid", _int)
_sig("pk_event_list_new", _int, _vp, ctypes.c_char_p, ctypes.c_uint, ctypes.POINTER(_vp))
_sig("pk_event_list_count", _sz, _vp)
_sig("pk_event_list_get", ctypes.POINTER(_EventInfo), _vp, _sz)
_sig("pk_event_list_free", _vp, _vp)
_sig("pk_pmu_list_new", _int, _vp, ctypes.POINTER(_vp))
_sig("pk_pmu_list_count", _sz, _vp)
_sig("pk_pmu_list_get", ctypes.POINTER(_PmuInfo), _vp, _sz)
_sig("pk_pmu_list_free", _vp, _vp)
_sig("pk_counters_new", _int, _vp, ctypes.c_char_p, ctypes.POINTER(_vp))
_sig("pk_counters_free", _vp, _vp)
_sig("pk_counters_count", _sz, _vp)
_sig("pk_counters_info", ctypes.POINTER(_CounterInfo), _vp, _sz)
_sig("pk_counters_open_pid", _int, _vp, _int, ctypes.c_uint)
_sig("pk_counters_open_cpu", _int, _vp, _int, ctypes.c_uint)
_sig("pk_counters_enable", _int, _vp)
_sig("pk_counters_disable", _int, _vp)
_sig("pk_counters_reset", _int, _vp)
_sig("pk_counters_read", _int, _vp, ctypes.POINTER(_Count), _sz)
_sig("pk_counters_run_matrix", _int, _vp, ctypes.POINTER(ctypes.c_char_p), _u64, ctypes.c_uint,
     ctypes.POINTER(_vp), ctypes.POINTER(_int))
_sig("pk_matrix_rows", _sz, _vp)
_sig("pk_matrix_cols", _sz, _vp)
_sig("pk_matrix_values", ctypes.POINTER(_u64), _vp)
_sig("pk_matrix_times", ctypes.POINTER(_u64), _vp)
_sig("pk_matrix_free", _vp, _vp)


def _s(b):
    return b.decode("utf-8", "replace") if b is not None else None


def _raise(code, ctx=None):
    msg = _s(_lib.pk_ctx_errmsg(ctx)) if ctx else ""
    if not msg:
        msg = _s(_lib.pk_strerror(code))
    if -code in (PK_E_UNKNOWN_EVENT, PK_E_SYNTAX):
        raise UnknownEvent(code, msg)
    if -code in (PK_E_NOT_SUPPORTED, PK_E_NO_COUNTERS):
        raise NotSupported(code, msg)
    raise ProfkitError(code, msg)


class _Ctx:
    def __init__(self):
        p = _vp()
        r = _lib.pk_ctx_new(ctypes.byref(p))
        if r < 0:
            _raise(r)
        self.p = p

    def __del__(self):
        if getattr(self, "p", None):
            _lib.pk_ctx_free(self.p)
            self.p = None


class Event(tuple):
    """An event of the catalogue: name, aliases, kind, pmu, description, encoding,
    supported (True/False/None when not probed), reason."""
    __slots__ = ()
    _names = ("name", "aliases", "kind", "pmu", "description", "encoding", "supported",
              "reason")

    def __new__(cls, *values):
        return tuple.__new__(cls, values)

    def __getattr__(self, a):
        try:
            return self[Event._names.index(a)]
        except ValueError:
            raise AttributeError(a) from None

    def __repr__(self):
        return "Event(%s)" % ", ".join("%s=%r" % kv for kv in zip(Event._names, self))


class Pmu(tuple):
    """A PMU: name, type, events (how many named), formats (list of 'field=config:bits'),
    cpumask."""
    __slots__ = ()
    _names = ("name", "type", "events", "formats", "cpumask")

    def __new__(cls, *values):
        return tuple.__new__(cls, values)

    def __getattr__(self, a):
        try:
            return self[Pmu._names.index(a)]
        except ValueError:
            raise AttributeError(a) from None


class ListEvents:
    """The events this machine knows (probed: whether each can be counted here) and its
    PMUs. pattern: a kind ("cache", "sw", "tracepoint"...), a glob or a substring."""

    def __init__(self, pattern=None, probe=True):
        ctx = _Ctx()
        lst = _vp()
        r = _lib.pk_event_list_new(ctx.p, pattern.encode() if pattern else None,
                                   PK_LIST_PROBE if probe else 0, ctypes.byref(lst))
        if r < 0:
            _raise(r, ctx.p)
        self.events = []
        try:
            for i in range(_lib.pk_event_list_count(lst)):
                e = _lib.pk_event_list_get(lst, i).contents
                supported = None if e.status == PK_STATUS_UNKNOWN else e.status == 0
                self.events.append(Event(
                    _s(e.name), [a for a in _s(e.aliases).split(",") if a],
                    KINDS[e.kind] if 0 <= e.kind < len(KINDS) else "?", _s(e.pmu), _s(e.desc),
                    _s(e.encoding), supported, _s(e.reason) or None))
        finally:
            _lib.pk_event_list_free(lst)
        pl = _vp()
        r = _lib.pk_pmu_list_new(ctx.p, ctypes.byref(pl))
        if r < 0:
            _raise(r, ctx.p)
        self.pmus = []
        try:
            for i in range(_lib.pk_pmu_list_count(pl)):
                p = _lib.pk_pmu_list_get(pl, i).contents
                self.pmus.append(Pmu(_s(p.name), p.type, p.nevents,
                                     [f for f in _s(p.formats).split(",") if f], _s(p.cpumask)))
        finally:
            _lib.pk_pmu_list_free(pl)

    def get_supported_pmus(self):
        """The names of the PMUs under /sys/bus/event_source/devices."""
        return [p.name for p in self.pmus]

    def get_supported_events(self, name=""):
        """The names of the events that can be counted here, those containing name."""
        return [e.name for e in self.events if e.supported and name in e.name]

    def get_event_description(self, name=""):
        """[name, description] of the events containing name."""
        return [[e.name, e.description] for e in self.events if name in e.name]

    def __iter__(self):
        return iter(self.events)

    def __len__(self):
        return len(self.events)


def list_events(pattern=None, probe=True):
    """The catalogue, as ListEvents."""
    return ListEvents(pattern, probe)


class Count(tuple):
    """One counter's reading: value (scaled for multiplexing), raw, enabled_ns,
    running_ns."""
    __slots__ = ()

    def __new__(cls, value, raw, enabled_ns, running_ns):
        return tuple.__new__(cls, (value, raw, enabled_ns, running_ns))

    value = property(lambda s: s[0])
    raw = property(lambda s: s[1])
    enabled_ns = property(lambda s: s[2])
    running_ns = property(lambda s: s[3])


def _spec(events):
    """An event list: a string as is; a list of names (each its own group) or of lists
    (groups)."""
    if isinstance(events, str):
        return events
    parts = []
    for g in events:
        if isinstance(g, str):
            parts.append(g)
        elif len(g) == 1:
            parts.append(g[0])
        else:
            parts.append("{" + ",".join(g) + "}")
    return ",".join(parts)


class Counters:
    """A set of counters on a process (pid; None: this one), or a CPU (cpu=N, -1 for all).

        with Counters("task-clock,page-faults") as c:
            ...
            c.read()        # {'task-clock': 123, 'page-faults': 4}

    inherit: also count the children and threads started later (default). Events this
    machine cannot count raise NotSupported, or with allow_unsupported=True read None (see
    .unsupported for why)."""

    def __init__(self, events, pid=None, cpu=None, inherit=True, allow_unsupported=False,
                 enable=True):
        self._ctx = _Ctx()
        self._c = _vp()
        self.spec = _spec(events)
        r = _lib.pk_counters_new(self._ctx.p, self.spec.encode(), ctypes.byref(self._c))
        if r < 0:
            self._c = None
            _raise(r, self._ctx.p)
        self.n = _lib.pk_counters_count(self._c)
        self.names = [_s(self._info(i).name) for i in range(self.n)]
        self._pid, self._cpu = pid, cpu
        self._flags = (0 if inherit else PK_OPEN_NO_INHERIT) | \
            (0 if allow_unsupported else PK_OPEN_ALL) | (PK_OPEN_ENABLE if enable else 0)
        self._buf = (_Count * max(self.n, 1))()
        self._open = False

    def _info(self, i):
        return _lib.pk_counters_info(self._c, i).contents

    def open(self):
        if self._open:
            return self
        if self._cpu is not None:
            r = _lib.pk_counters_open_cpu(self._c, self._cpu, self._flags)
        else:
            r = _lib.pk_counters_open_pid(self._c, self._pid or 0, self._flags)
        if r < 0:
            _raise(r, self._ctx.p)
        self._open = True
        return self

    @property
    def unsupported(self):
        """{name: why} for the events that are not counted."""
        out = {}
        for i in range(self.n):
            info = self._info(i)
            if info.status < 0:
                out[self.names[i]] = _s(info.reason)
        return out

    def _check(self, r):
        if r < 0:
            _raise(r, self._ctx.p)

    def enable(self):
        self._check(_lib.pk_counters_enable(self._c))

    def disable(self):
        self._check(_lib.pk_counters_disable(self._c))

    def reset(self):
        self._check(_lib.pk_counters_reset(self._c))

    def read_counts(self):
        """{name: Count(value, raw, enabled_ns, running_ns)}; None for events not counted."""
        self.open()
        self._check(_lib.pk_counters_read(self._c, self._buf, self.n))
        out = {}
        for i, name in enumerate(self.names):
            b = self._buf[i]
            out[name] = Count(b.value, b.raw, b.enabled_ns, b.running_ns) \
                if self._info(i).status == 0 else None
        return out

    def read(self):
        """{name: value scaled for multiplexing}; None for events not counted."""
        return {k: (v.value if v is not None else None) for k, v in self.read_counts().items()}

    def close(self):
        if getattr(self, "_c", None):
            _lib.pk_counters_free(self._c)
            self._c = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        self.close()


class profiler:
    """The counters API users know: run a program, sample the event groups every
    sample_period seconds.

        perf = profiler(program_args=['/bin/ls', '/'],
                        events_groups=[['PERF_COUNT_HW_INSTRUCTIONS'],
                                       ['PERF_COUNT_SW_PAGE_FAULTS']])
        data = perf.run(sample_period=0.01)

    run() returns one row per period (and a last one when the program has exited), each the
    counters in group order; reset_on_sample=True makes each row the change over its
    period. Names are checked when the profiler is made (UnknownEvent); an event this
    machine cannot count raises NotSupported from run(), before the program starts."""

    def __init__(self, program_args=None, events_groups=None):
        if not events_groups:
            raise ValueError("events_groups: a list of lists of event names")
        self.program_args = list(program_args) if program_args else None
        self.event_groups_names = [list(g) if not isinstance(g, str) else [g]
                                   for g in events_groups]
        self.spec = _spec(self.event_groups_names)
        # check the names now, as the old API encoded them in its constructor
        ctx = _Ctx()
        c = _vp()
        r = _lib.pk_counters_new(ctx.p, self.spec.encode(), ctypes.byref(c))
        if r < 0:
            _raise(r, ctx.p)
        _lib.pk_counters_free(c)
        self.exit_status = None
        self.times = []

    def set_program(self, program_args):
        self.program_args = list(program_args)

    def run(self, sample_period, reset_on_sample=False):
        if not self.program_args:
            raise ValueError("need program_args to run")
        ctx = _Ctx()
        c = _vp()
        r = _lib.pk_counters_new(ctx.p, self.spec.encode(), ctypes.byref(c))
        if r < 0:
            _raise(r, ctx.p)
        try:
            argv = (ctypes.c_char_p * (len(self.program_args) + 1))(
                *[os.fsencode(a) for a in self.program_args], None)
            period_ns = int(sample_period * 1e9) if sample_period and sample_period > 0 else 0
            flags = PK_RUN_ALL_EVENTS | (PK_RUN_DELTAS if reset_on_sample else 0)
            m = _vp()
            status = ctypes.c_int(-1)
            r = _lib.pk_counters_run_matrix(c, argv, period_ns, flags, ctypes.byref(m),
                                            ctypes.byref(status))
            if r < 0:
                _raise(r, ctx.p)
            try:
                rows, cols = _lib.pk_matrix_rows(m), _lib.pk_matrix_cols(m)
                vals = _lib.pk_matrix_values(m)
                times = _lib.pk_matrix_times(m)
                data = [[vals[i * cols + k] for k in range(cols)] for i in range(rows)]
                self.times = [times[i] / 1e9 for i in range(rows)]
            finally:
                _lib.pk_matrix_free(m)
            self.exit_status = status.value
            return data
        finally:
            _lib.pk_counters_free(c)


Profiler = profiler
