"""The cache and replay of :func:`chainrule.jit`: :class:`Jitted`.

A :class:`Jitted` looks up each call's key (the structure of the arguments, each array's
type, shape, dtype and strides, other arguments by value, the array state of modules
among them), replays the recorded programs for it, the path taken last first, and traces
anew (with a :class:`~chainrule.transforms.record.RecordTrace`) when a guard fails or no
program fits. Around the trace it checks what a replay would not repeat (lists and dicts
the call changed, traced values stored where they outlive the call, random draws,
``np.seterr``) and, where it finds one, runs the plain function for those arguments from
then on. Replays that stop early fall back to a retrace or the plain call; fused programs
(``fuse=True``) replace their unfused twins once compiled.
"""

from __future__ import annotations

import functools
import inspect
import random
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from concurrent import futures

import numpy as np

from chainrule.core.anomaly import ATTRIBUTION_BOUNDARIES, user_stacklevel
from chainrule.core.dtypes import _DEFAULT_DTYPE
from chainrule.core.tensor import Tensor
from chainrule.core.trace import EAGER
from chainrule.transforms import fuse as fusion
from chainrule.transforms.arguments import (
    BUFFERS,
    FUNCTIONS,
    ByIdentity,
    attributes_key,
    check_donations,
    code_in_objects,
    code_in_structure,
    describe,
    dict_orders,
    dtype_key,
    flatten_noting_state,
    note_compiled_type_checks,
    note_memory_reads,
    slice_parts,
    stateful_objects,
    strict_key,
    traced_scalar,
    untrace_exception,
    write_back,
)
from chainrule.transforms.captures import Captures, generators_in, user_classes
from chainrule.transforms.fingerprints import (
    entropy_drawn,
    generators_seen_by,
    hear_warnings,
    release_warnings,
    warnings_issued,
)
from chainrule.transforms.module_state import (
    DATA,
    WatchedState,
    count_writes,
    outside_arrays,
    reachable_objects,
    set_state,
)
from chainrule.transforms.passes import build_program, writable_like_output, written_inputs
from chainrule.transforms.program import (
    GuardFailure,
    Program,
    ReplayError,
    hashable,
    root_array,
    unflatten_in_order,
)
from chainrule.transforms.record import RecordTrace, own_names, own_operators, print_options
from chainrule.transforms.static_args import StaticArguments, unwrap_static
from chainrule.transforms.traced_results import caller_result, result_templates

__all__ = ["Jitted"]

_RETRACE_WARNING = 8
# the programs of a key whose trace was not replayable: such calls run the plain function
_RUN_PLAIN: list = []
# why a trace is not kept, though it could be replayed: another thread dropped the programs
# (the state the function reads changed) while it traced
_STALE = "the state the function reads changed while it traced"


class Jitted:
    """A function that is traced once per kind of input and replayed after that.

    ``traces`` counts the traces made; ``programs`` lists the recorded programs (their
    generated ``source`` can be read); ``clear()`` forgets them; ``wait_compiled()``
    waits for fused loops that ``fuse=True`` compiles in the background.
    """

    def __init__(self, fun: Callable, max_programs: int = 8, donate_argnums=(),
                 fuse: bool | str = False, static_argnums=(), static_argnames=()):
        self.fun = fun
        self.max_programs = max_programs
        if fuse not in (False, True, "wait"):
            raise ValueError(f"chainrule.jit: fuse={fuse!r}; pass False, True (compile the fused "
                             "loops in the background) or 'wait' (compile them at the first call)")
        if fuse and not fusion.available():
            fusion.warn_unavailable()
        self.fuse = bool(fuse) and fusion.available()
        self.fuse_in_background = fuse is True
        self.donate_argnums = (
            (donate_argnums,) if isinstance(donate_argnums, int) else tuple(donate_argnums)
        )
        self.static = StaticArguments(fun, static_argnums, static_argnames, self.donate_argnums)
        self.traces = 0
        self._cache: dict[tuple, list] = {}  # key -> [(structure, programs)]
        self._by_description: dict[tuple, list] = {}  # the same programs, found faster
        self._warned = False
        self._warned_plain = False
        self._stores_outside = False  # it stored a traced value in closed-over or global state
        # what the function reads besides its arguments, as when it was traced
        self._captures: Captures | None = None
        self._constants: dict = {}  # eager Tensors the programs hold as constants, watched too
        self._passed: dict[int, Callable] = {}  # functions and classes among the arguments, watched too
        # a generator or coroutine function runs its body after the call has returned, when
        # no trace records it: such a function runs without jit
        self._suspends = (inspect.isgeneratorfunction(fun) or inspect.iscoroutinefunction(fun)
                          or inspect.isasyncgenfunction(fun))
        # name and docstring only: the __dict__ of a wrapper of another Jitted (vmap(jit(f)),
        # grad(jit(f))) holds that one's fields, which would replace this one's fun
        functools.update_wrapper(self, fun, updated=())
        # whether the function reads requires_grad or is_leaf of eager Tensor arguments:
        # then they are part of the key
        self._keys_flags = False
        self._own_fields = frozenset(vars(self)) | {"_own_fields"}

    def __jit_user_state__(self) -> dict:
        """The attributes set on this object besides its own (``f.scale = 2.0``), which
        a function reading them (its own body too) is traced again for when they change."""
        return {k: v for k, v in vars(self).items() if k not in self._own_fields}

    def __get__(self, instance, owner=None):
        # as a method: the instance is the first argument (a Module: a pytree of arrays)
        return self if instance is None else functools.partial(self, instance)

    def clear(self) -> None:
        """Forget the recorded programs (and free their buffers); the next call traces."""
        self._cache.clear()
        self._by_description.clear()
        self._captures = None
        self._constants = {}
        self._passed = {}

    @property
    def programs(self) -> list[Program]:
        return [p for entries in self._cache.values() for _, progs in entries for p in progs]

    def wait_compiled(self, timeout: float | None = None) -> bool:
        """Wait until the fused loops of every recorded program are compiled (``fuse=True``
        compiles them in the background, replaying unfused meanwhile) and replay them from
        now on; True if none is still compiling after ``timeout`` seconds.

        >>> import numpy as np, chainrule as cr, chainrule.numpy as cnp
        >>> f = cr.jit(lambda x: cnp.sin(x) * 2.0 + 1.0, fuse=True)
        >>> y = f(np.zeros(3))
        >>> f.wait_compiled()
        True
        """
        done = True
        for entries in list(self._cache.values()):
            for _, programs in entries:
                for i in range(len(programs)):
                    upgrade = programs[i].upgrade
                    if upgrade is None:
                        continue
                    if not fusion.orphaned(upgrade) and futures.wait([upgrade], timeout).not_done:
                        done = False
                    else:
                        self._upgrade(programs, i)
        return done

    def _upgrade(self, programs: list, i: int) -> Program:
        """``programs[i]`` replaced by its fused build, now finished (kept if that failed
        or fused nothing)."""
        program = programs[i]
        future, program.upgrade = program.upgrade, None
        if future is None or fusion.orphaned(future):
            # another thread switched it already; or forked while it compiled: stays unfused
            return programs[i]
        try:
            fused = future.result()
        except Exception as e:  # a compiler error: the unfused replay is as correct
            warnings.warn(f"chainrule.jit(fuse=True): compiling the fused loops failed "
                          f"({type(e).__name__}: {e}); the program is replayed unfused.",
                          stacklevel=user_stacklevel())
            return program
        if fused is not None:
            fused.writebacks, fused.result_state = program.writebacks, program.result_state
            fused.counted = program.counted
            if fused.quiet:
                fused.unfused = program
            programs[i] = program = fused
        return program

    def __call__(self, *args, **kwargs):
        if self._suspends:
            self._runs_plain("it is a generator or coroutine function, whose body runs after the "
                             "call has returned")
            return self.fun(*args, **kwargs)
        if self.static:  # static arguments: keys by value, handed to the function as they are
            args, kwargs = self.static.mark(args, kwargs)
        if self._stores_outside:
            # it stores values it computes in closed-over or global state (a closed-over
            # BatchNorm's running statistics): every call changes what it reads, which would
            # make each call trace again only to run plain
            return self._plain(args, kwargs)
        captures = self._captures
        if captures is not None and captures.unwatchable:
            # what it reads cannot be watched: it runs plain, without comparing that state
            # on every call (the caches of another library's objects change on each call,
            # and each change would trace it again)
            return self._plain(args, kwargs)
        if captures is not None and not captures.unchanged():
            # a closed-over variable, global or default changed: the programs have
            # the old values built in
            self.clear()
        # The common case first: arguments of lists, tuples, dicts, arrays and numbers,
        # looked up by a hashable description without building the pytree structure.
        dynamic: list = []
        description: list = []
        donated_positions: list = []
        plain = True
        for i, arg in enumerate(args):
            start = len(dynamic)
            if not describe(arg, dynamic, description):
                plain = False
                break
            if i in self.donate_argnums or i - len(args) in self.donate_argnums:
                donated_positions.extend(range(start, len(dynamic)))
        if plain and kwargs:
            description.append("**")  # f({"a": x}) is not f(a=x)
            plain = describe(kwargs, dynamic, description)
        if plain:
            for j in donated_positions:
                description.append(writable_like_output(dynamic[j]))
            # cr.set_default_dtype decides the dtype of cr.tensor(1.5), cr.zeros(3), ...
            description.append(_DEFAULT_DTYPE[0])
            programs = self._by_description.get(key := tuple(description))
            if programs is not None:
                if programs is _RUN_PLAIN:
                    return self._plain(args, kwargs)
                for i in range(len(programs)):
                    try:
                        return self._replay(programs, i, dynamic, donated_positions)
                    except GuardFailure:
                        continue
                    except ReplayError as e:
                        return self._after_failed_replay(e, args, kwargs)
        result, programs = self._call(args, kwargs)
        if plain and programs is not None:
            self._by_description[key] = programs
        return result

    def _plain(self, args, kwargs):
        """The function called without ``jit`` on the caller's arguments."""
        if self.static:
            args = tuple(map(unwrap_static, args))
            kwargs = {k: unwrap_static(v) for k, v in kwargs.items()}
        return self.fun(*args, **kwargs)

    def _runs_plain(self, reason: str) -> None:
        if not self._warned_plain:
            self._warned_plain = True
            warnings.warn(
                f"chainrule.jit: {getattr(self.fun, '__name__', 'a function')} runs without jit "
                f"for these arguments: {reason}.",
                stacklevel=user_stacklevel(),
            )

    def _after_failed_replay(self, error: ReplayError, args, kwargs):
        """A call of the replay raised where the traced call had not: the plain function
        decides (it may catch the exception), on the inputs the replay restored."""
        if error.donated:
            raise RuntimeError(
                f"chainrule.jit: {type(error.cause).__name__} in a replay that had already "
                "written results into its donated arguments, so the plain function cannot be "
                "run instead. Call it without donate_argnums for inputs that may fail this way."
            ) from error.cause
        return self._plain(args, kwargs)

    def _replay(self, programs: list, i: int, dynamic: list, donated_positions=(), stateful=(), eager_args=None):
        program = programs[i]
        upgrade = program.upgrade
        if upgrade is not None and (upgrade.done() or fusion.orphaned(upgrade)):
            program = self._upgrade(programs, i)
        if donated_positions:
            check_donations(dynamic, donated_positions)
        # (a program that hands back eager Tensor arguments takes them after the arrays)
        result = program.run([*dynamic, eager_args] if program.gives_back else dynamic)
        if eager_args and program.counted:
            count_writes(eager_args, program.counted)
        if program.result_state:  # the state of modules in the result
            result, state_values = result
        if program.writebacks:  # attributes of argument objects the call rebinds
            result, values = result
            write_back(stateful, program.writebacks, values)
        if program.result_state:
            set_state(stateful_objects(result, []), program.result_state, state_values)
        if i:  # the path taken last is tried first next time
            programs.insert(0, programs.pop(i))
        return result

    def _call(self, args, kwargs):
        """The general path: any pytree; traces when no recorded program fits. Returns the
        result and the list of programs for these arguments' key."""
        leaves, tree, stateful = flatten_noting_state((args, kwargs))
        signature = []
        dynamic = []
        eager_args: dict = {}  # input position -> the caller's eager Tensor there (handed back itself)
        inputs_of: dict = {}  # id of an eager Tensor argument -> its input position
        donated_leaves = self._donated_leaves(tree) if self.donate_argnums else ()
        for i, leaf in enumerate(leaves):
            if i in donated_leaves:  # memory the program may write: only if it can
                signature.append(writable_like_output(getattr(leaf, "_value", leaf)))
            if isinstance(leaf, Tensor):
                if leaf._trace.level > 0:  # under an outer transform: run as plain Python
                    return self._plain(args, kwargs), None
                if leaf._node is not None and EAGER.grad_enabled:
                    # the eager graph must record the call: the plain function does that
                    self._runs_plain("an eager Tensor argument requires grad (the eager graph "
                                     "records the plain call; under cr.no_grad() it replays)")
                    return self._plain(args, kwargs), None
                if id(leaf) in inputs_of:
                    # the same Tensor again (a tied weight, out.weight = emb.weight): one input,
                    # one traced value at both places, as the plain call has one object there
                    signature.append((Tensor, "the input", inputs_of[id(leaf)]))
                    continue
                inputs_of[id(leaf)] = len(dynamic)
                # an eager Tensor (a module's parameter): its value is the argument
                value = leaf._value
                eager_args[len(dynamic)] = leaf
                signature.append((Tensor, np.shape(value), np.result_type(value),
                                  np.result_type(value).char, getattr(value, "strides", None),
                                  *((leaf._node is not None, leaf.is_leaf) if self._keys_flags else ())))
                dynamic.append(value)
            elif isinstance(leaf, np.ndarray):
                if type(leaf) is not np.ndarray and own_operators(type(leaf)):
                    # np.matrix's * is a matrix product, which a traced value's * is not
                    self._runs_plain(f"an argument is a {type(leaf).__name__}, an ndarray subclass "
                                     "with operators or indexing of its own")
                    return self._plain(args, kwargs), None
                # the layout too: ravel(order='K') and friends read it
                signature.append((type(leaf), leaf.shape, dtype_key(leaf.dtype), leaf.strides))
                dynamic.append(leaf)
            elif traced_scalar(leaf):
                signature.append((type(leaf), leaf.dtype))
                dynamic.append(leaf)
            elif type(leaf) is slice and all(map(hashable, slice_parts(leaf))):
                # its parts by type and value: slice(True, 3) is not slice(1, 3) to
                # type(s.start), nor slice(np.int64(1), 3), whose parts are NumPy's
                signature.append((slice, tuple(map(strict_key, slice_parts(leaf)))))
            elif isinstance(leaf, Iterator) and not isinstance(leaf, np.random.Generator):
                # consumed by the call: a replay would not consume it
                self._runs_plain(f"an iterator argument ({type(leaf).__name__}) is consumed by the call")
                return self._plain(args, kwargs), None
            else:
                if hashable(leaf) and not isinstance(leaf, BUFFERS):  # (ctypes' hash by identity)
                    signature.append(strict_key(leaf))
                elif (fields := attributes_key(leaf, 0)) is not None:
                    # a dataclass (eq=True gives it no hash): by identity
                    signature.append((type(leaf), ByIdentity(leaf), fields))
                else:
                    raise TypeError(
                        f"chainrule.jit: an argument of type {type(leaf).__name__} is neither "
                        "an array nor a hashable constant; pass arrays, numbers, strings, or "
                        "tuples/lists/dicts of them"
                    )
        signature.append(dict_orders(tree, []))
        signature.append(_DEFAULT_DTYPE[0])  # the dtype of cr.tensor(1.5), cr.zeros(3), ...
        # arrays that objects among the arguments read besides their pytree children
        # (a module's buffers): inputs too, after the leaves
        slots = []
        for k, obj in enumerate(stateful):
            for name, value in sorted(obj.__jit_state__().items()):
                array = value._value if isinstance(value, Tensor) else value
                if not isinstance(array, np.ndarray | np.generic):
                    return self._plain(args, kwargs), None  # a traced buffer: an outer transform
                signature.append((name, type(value), array.shape, dtype_key(array.dtype),
                                  getattr(array, "strides", None)))
                if isinstance(value, Tensor):
                    eager_args[len(dynamic)] = value
                dynamic.append(array)
                slots.append((k, name))
        key = tuple(signature)
        donated = self._donated_inputs(leaves, dynamic, donated_leaves) if donated_leaves else set()
        entries = self._cache.setdefault(key, [])
        programs = None
        for position, (treedef, progs) in enumerate(entries):  # noqa: B007
            if treedef == tree:
                programs = progs
                break
        else:
            position = len(entries)
            programs = []
            entries.append((tree, programs))
        if programs is _RUN_PLAIN:
            return self._plain(args, kwargs), programs
        for i in range(len(programs)):
            try:
                return self._replay(programs, i, dynamic, (), stateful, eager_args), programs
            except GuardFailure:
                continue
            except ReplayError as e:
                return self._after_failed_replay(e, args, kwargs), programs
        out, program = self._trace(args, kwargs, leaves, tree, donated, stateful, slots,
                                   dynamic[len(dynamic) - len(slots):], eager_args)
        if program is _STALE:
            return out, None
        if program is None:  # not replayable: these inputs run the plain function from now on
            entries[position] = (tree, _RUN_PLAIN)
            return out, _RUN_PLAIN
        programs.insert(0, program)
        del programs[self.max_programs :]
        return out, programs

    def _donated_leaves(self, tree) -> set:
        """Positions, among the flattened ``(args, kwargs)``, of the donated arguments'
        leaves (counted from the structure, whose first child is the tuple of args)."""
        out, start = set(), 0
        arg_trees = tree.subtrees[0].subtrees
        for i, arg_tree in enumerate(arg_trees):
            n = arg_tree.num_leaves
            if i in self.donate_argnums or i - len(arg_trees) in self.donate_argnums:
                out.update(range(start, start + n))
            start += n
        return out

    @staticmethod
    def _donated_inputs(leaves, dynamic, donated_leaves) -> set:
        """The program inputs whose memory may be written, after checking that none shares
        memory with another input (the program would read what it wrote)."""
        positions, j, seen = [], 0, set()
        for i, leaf in enumerate(leaves):
            if isinstance(leaf, Tensor) and (id(leaf) in seen or seen.add(id(leaf))):
                continue  # a Tensor again: one input (see _call)
            if isinstance(leaf, Tensor | np.ndarray) or traced_scalar(leaf):
                if i in donated_leaves and writable_like_output(dynamic[j]):
                    positions.append(j)
                j += 1
        check_donations(dynamic, positions)
        return set(positions)

    def _trace(self, args, kwargs, leaves, tree, donated=frozenset(), stateful=(), slots=(),
               state=(), eager_args=None):
        """Trace the function on these inputs: this call's result, and the program its
        replays run (None where they cannot, _STALE where it is not kept)."""
        self.traces += 1
        if self.traces > _RETRACE_WARNING and not self._warned:
            self._warned = True
            warnings.warn(
                f"chainrule.jit has traced {getattr(self.fun, '__name__', 'a function')} "
                f"{self.traces} times: new shapes, dtypes or Python arguments, or Python "
                "reading traced values (float(x), print(x), if x > 0, an index made of one) whose "
                "values keep changing, or state it reads besides its arguments (a closed-over "
                "or global array, number or list) changing between calls. Each retrace is "
                "correct but slow; return arrays rather than Python numbers, and pass changing "
                "numbers as 0-d arrays and changing arrays as arguments.",
                stacklevel=user_stacklevel(),
            )
        # the arguments as the function gets them (static ones unwrapped)
        given = [unwrap_static(leaf) for leaf in leaves] if self.static else leaves
        captures = self._watch_captures(given, tree)
        subclassed = [leaf for leaf in given if type(leaf) is not np.ndarray and isinstance(leaf, np.ndarray)]
        if any(own_names(leaf) & captures.names() for leaf in subclassed):
            # x.info of an ndarray subclass's array, named by the function's code: a traced
            # value (a Tensor) has none of the subclass's attributes and methods
            self._runs_plain("an argument's ndarray subclass has attributes or methods of its own "
                             "that the function's code names")
            return self._plain(args, kwargs), None
        # the generators it may draw from: a draw no recorded call made runs it plain
        generators = [*generators_seen_by(given), *captures.generators,
                      *generators_in([leaf for leaf in given if not isinstance(leaf, DATA)])]
        trace = RecordTrace(generators)
        trace.found_roots = {id(root): root for root in map(root_array, outside_arrays(captures, given))}
        python_random = random.getstate()
        boxed, state_tensors, n_inputs = _traced_inputs(trace, leaves, state)
        # the traced values of the caller's eager Tensors (an argument, a module's buffer):
        # one returned (x.mul_(2); return x) is the caller's Tensor, as in the plain call
        callers = {id(t): t._node for t in (*boxed, *state_tensors)
                   if isinstance(t, Tensor) and t._node in (eager_args or ())}
        trace.callers = {i: eager_args[node] for i, node in callers.items()}
        in_args, in_kwargs = unflatten_in_order(tree, boxed)
        rebuilt = _traced_modules(trace, (in_args, in_kwargs), stateful, slots, state_tensors)
        watched = WatchedState(stateful, rebuilt, (in_args, in_kwargs), given, tree)
        out, drawn, counted = self._call_traced(trace, captures, watched, in_args, in_kwargs,
                                                (args, kwargs), boxed, leaves, n_inputs, eager_args)
        writebacks = self._refuse_unreplayable(trace, captures, watched, drawn, python_random,
                                               (args, kwargs), boxed, leaves, tree)
        # the traced state (buffers) of modules in the result: results too, set on the
        # result's modules after each replay (their structure holds the values of this trace)
        result_state = [(k, name, value) for k, obj in enumerate(stateful_objects(out, []))
                        for name, value in obj.__jit_state__().items()
                        if isinstance(value, Tensor) and value._trace is trace]
        if writebacks:  # the rebound attributes are results too, set after each replay
            out = (out, tuple(value for _, _, value in writebacks))
        if result_state:
            out = (out, tuple(value for _, _, value in result_state))
        reachable = reachable_objects((args, kwargs), {}, 0)  # what the caller gave: itself
        out_tree, templates, values, eager, eager_given = result_templates(
            self.fun, out, trace, captures, given, reachable, callers, result_state)
        result = caller_result(trace, out_tree, values, eager, eager_given, eager_args, stateful,
                                writebacks, result_state)
        if trace.unreplayable is _STALE:
            return result, _STALE  # not kept: the next call traces again
        if trace.unreplayable is not None:
            self._runs_plain(trace.unreplayable)
            return result, None
        if trace.constants:  # eager Tensors held as constants: a change traces again
            self._constants.update(trace.constants)
            captures.watch_tensors(trace.constants.values())
        return result, self._build(trace, captures, n_inputs, templates, out_tree, donated, eager,
                                   eager_given, writebacks, result_state, counted)

    def _watch_captures(self, given: list, tree) -> Captures:
        """The watch of what the function reads besides its arguments that this trace is
        taken against, extended to the functions among the arguments met for the first time."""
        # functions among the arguments read state too (their globals, cells, defaults):
        # watched with the function's own from their first trace on
        # and so do the methods of the user's classes among them (pytree nodes, objects)
        # and the functions that objects among them hold (cfg.activation), and their classes,
        # and those that pytree nodes among them hold (a module's hooks, self.act = f)
        passed = [leaf for leaf in (*given, *user_classes(tree, given), *code_in_objects(given),
                                    *code_in_structure(tree))
                  if isinstance(leaf, (*FUNCTIONS, type, types.ModuleType)) and id(leaf) not in self._passed]
        # the watch this trace is taken against (another thread may replace it meanwhile)
        captures = self._captures
        if captures is None or passed:
            self._passed.update((id(f), f) for f in passed)
            captures = self._captures = Captures(self.fun, *self._passed.values())
            captures.watch_tensors(self._constants.values())
        return captures

    def _call_traced(self, trace, captures, watched, in_args, in_kwargs, caller_arguments, boxed,
                     leaves, n_inputs, eager_args):
        """The function called on the traced values (its frame is where a warning's
        attribution stops); a raise leaves the caller's state as the plain call leaves it.
        Returns the result, whether it drew entropy, and the inputs whose writes count."""
        try:
            boundary = sys._getframe()  # a warning attributed here is attributed outside the function
            hear = functools.partial(trace.warned, boundary=boundary)
            heard = hear_warnings(trace.shown)
            try:
                with entropy_drawn() as drawn, warnings_issued(hear):
                    out = self.fun(*in_args, **in_kwargs)
            except BaseException as error:
                # traced values stored before it raised (a closed-over BatchNorm's running
                # statistics, self.last = y): their values, as the plain call leaves them;
                # a value of a trace that is over fails wherever it is read next
                captures.leaked(trace)
                watched.leave_as_raised(caller_arguments, boxed, leaves, trace)
                untrace_exception(error, trace)
                note_compiled_type_checks(error)
                note_memory_reads(error, trace)
                raise
            finally:
                release_warnings(heard, True)
        finally:
            trace.close()
            # (those written through t.data are not counted, as in the plain call)
            counted = [i for i in written_inputs(trace.ops, trace.values, n_inputs)
                       if i in (eager_args or ()) and i not in trace.data_taken]
            count_writes(eager_args, counted)
        return out, drawn, counted

    def _refuse_unreplayable(self, trace, captures, watched, drawn, python_random, caller_arguments,
                             boxed, leaves, tree) -> list:
        """The trace refused where the call did what a replay would not do again (changed
        state it reads or was given, drew random numbers, changed global settings); the
        attributes it rebound on the Modules among the arguments."""
        if trace.flags_read and not self._keys_flags:
            # it read requires_grad or is_leaf of an eager Tensor argument (the caller's,
            # as the plain call does): from now on they are keys, and this call's key had none
            self._keys_flags = True
            trace.refuse(_STALE)
        if drawn:
            trace.refuse("random numbers were drawn from the operating system's entropy (a "
                         "generator made without a seed: np.random.default_rng(), or "
                         "os.urandom), which a replay would not draw again")
        captures.settle()  # an lru_cache the trace filled
        if captures is not self._captures:
            # another thread found the state changed while this call traced, and dropped
            # the programs: this one may have been traced before that change or after
            trace.refuse(_STALE)
        elif not captures.unchanged():
            # the function changed state it reads (a global array written in place, a
            # counter incremented): a replay would not change it, so this trace's program
            # must not run even where the caller puts the state back as it was (G[:] = 0
            # before each call); the next call traces again
            captures.expire()
        # an append, an item assigned or removed: done to the caller's lists and dicts as
        # the plain call does it, and from now on the plain call runs
        if watched.containers_written_back(caller_arguments, boxed, leaves, trace):
            trace.refuse("the function changed a list or dict it was given (an append, an "
                         "item assigned or removed)")
        # a traced value stored where it outlives the call (an attribute of an object
        # among the arguments, a global): its value there, as the plain call leaves it
        leaked = watched.leaked(trace)
        if watched.objects_changed(caller_arguments, tree):
            trace.refuse("the function changed an object among its arguments (rebound an "
                         "attribute, or wrote an array, list or dict it holds), which a replay "
                         "would not do again; return the new state instead")
        outside = captures.leaked(trace)
        if any(leaked) | outside:
            trace.refuse("the function stored a traced value where it outlives the call (an "
                         "attribute of an object among its arguments, a global or closed-over "
                         "variable, list or dict); return it instead")
        if outside:  # (each call then changes what it reads: see __call__)
            self._stores_outside = True
        if captures.unwatchable:
            trace.refuse(captures.unwatchable)
        if watched.too_deep():
            trace.refuse("an object among the arguments holds state more than six references deep "
                         "(a.b.c.d.e.f.g), which the key of a call does not read; pass that state "
                         "as an argument, or hold it nearer the object")
        writebacks = watched.rebound(trace)
        trace.check_generators()
        if random.getstate() != python_random:
            trace.refuse("random numbers were drawn with Python's random module, which a replay "
                         "would not draw again")
        if print_options() != trace.entry_printoptions:
            trace.refuse("NumPy's or chainrule's print options were changed (np.set_printoptions, "
                         "cr.set_printoptions) inside the function")
        if np.geterr() != trace.entry_errstate:
            trace.refuse("NumPy's error state was changed (np.seterr) inside the function")
        return writebacks

    def _build(self, trace, captures, n_inputs, templates, out_tree, donated, eager, eager_given,
               writebacks, result_state, counted) -> Program:
        """The program that replays the trace (fused where ``fuse`` asks it), with the
        settings it was traced under as its entry checks."""
        fuse = self.fuse and fusion.can_fuse(trace.entry_errstate)
        # text made of traced values is built in: made under the same print options
        printing = [(print_options, trace.entry_printoptions)] if trace.formatted else []
        # and the global settings it read (cr.is_grad_enabled()), as they were
        printing += [(read.unwatched, trace.entry_settings.get(read, read.unwatched()))
                     for read in trace.settings_read]
        build = functools.partial(build_program, trace.ops, trace.values, n_inputs, templates,
                                  out_tree, donated, trace.entry_errstate, entry_checks=printing,
                                  keep={**captures.found, **captures.tensors}, eager=eager,
                                  eager_given=eager_given, found=tuple(trace.found_roots.values()))
        if fuse and self.fuse_in_background:
            # replay unfused (exactly) until the fused loops are compiled
            program = build()
            program.upgrade = fusion.compile_in_background(functools.partial(_fused_build, build))
        else:
            program = build(rewrite=fusion.fuse_elementwise if fuse else None)
            if program.quiet:
                program.unfused = build()
        for p in (program, program.unfused) if program.unfused else (program,):
            p.writebacks = [(k, name) for k, name, _ in writebacks]
            p.result_state = [(k, name) for k, name, _ in result_state]
            p.counted = tuple(counted)
        return program


def _traced_inputs(trace, leaves: list, state) -> tuple:
    """The traced values the function gets for the arrays among the arguments (eager
    Tensors read as their arrays) and for the state of the modules among them; how many
    inputs the program takes."""
    boxed = []
    n_inputs = 0
    boxed_tensors: dict = {}  # id of an eager Tensor argument -> its traced value
    for leaf in leaves:
        if id(leaf) in boxed_tensors:  # a Tensor again (a tied weight): one input (see Jitted._call)
            boxed.append(boxed_tensors[id(leaf)])
            continue
        given_tensor = leaf if isinstance(leaf, Tensor) else None
        eager = given_tensor is not None  # read as its array: arithmetic as the eager layer's
        if eager:
            leaf = leaf._value
        if isinstance(leaf, np.ndarray) or traced_scalar(leaf):
            # (of a Parameter: its class to the function's code)
            boxed.append(trace.new_tensor(leaf, eager and type(given_tensor) is not Tensor))
            if eager:
                trace.eager.add(boxed[-1]._node)
                boxed_tensors[id(given_tensor)] = boxed[-1]
            n_inputs += 1
        else:
            boxed.append(unwrap_static(leaf))
    state_tensors = [trace.new_tensor(array) for array in state]
    n_inputs += len(state_tensors)
    return boxed, state_tensors, n_inputs


def _traced_modules(trace, traced_arguments, stateful: list, slots, state_tensors: list) -> list:
    """The modules among the traced arguments, holding the traced values of their state
    (buffers) in place of the caller's arrays."""
    rebuilt = stateful_objects(traced_arguments, [])
    found = [obj.__jit_state__() for obj in stateful]
    for (k, name), t in zip(slots, state_tensors, strict=True):
        if isinstance(found[k][name], Tensor):  # a buffer: arithmetic (and errors) as the eager layer's
            trace.eager.add(t._node)
        rebuilt[k].__jit_set_state__(name, t)
    return rebuilt


def _fused_build(build: Callable) -> Program | None:
    """The program ``build`` makes with fused loops, or None if nothing fuses."""
    fused = []

    def rewrite(ops, values, out_templates):
        new = fusion.fuse_elementwise(ops, values, out_templates)
        fused.append(new is not ops)
        return new

    program = build(rewrite=rewrite)
    return program if fused[0] else None


ATTRIBUTION_BOUNDARIES.add(Jitted._call_traced.__code__)  # warnings say where, inside the function
