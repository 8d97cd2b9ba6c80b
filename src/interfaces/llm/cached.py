"""The ``cached`` decorator: a function's results in an :class:`ICacheProvider`, computed once per key.

Import it from the contract: ``from src.interfaces.llm.cache import cached``. It uses only the
contract (``get_or_set``, ``set``, ``delete`` and their twins), so it works on every provider.

This module does not import ``cache.py`` at import time: ``cache.py`` re-exports ``cached`` on its
last line, so importing ``ICacheProvider`` here at the top would fail whenever this module is
imported first (``cache.py`` would ask for ``cached`` while this module is half-initialised).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from src.interfaces.llm.call_keys import CallKeys, check_prefix

if TYPE_CHECKING:
    from typing import Self

    from src.interfaces.llm.cache import ICacheProvider

P = ParamSpec("P")
Q = ParamSpec("Q")
R = TypeVar("R")
S = TypeVar("S")


def cached(
    provider: ICacheProvider | Callable[[], ICacheProvider],
    ttl: float | None = None,
    *,
    prefix: str | None = None,
    key: Callable[..., Any] | None = None,
    ignore: Iterable[str] = (),
    **options: Any,
) -> CacheDecorator:
    """Cache a sync or async function's results in ``provider``, computing each at most once at a time.

    ``provider`` is an :class:`ICacheProvider`, or a zero-argument callable returning one, called
    once, at the first call that needs it (thread-safe; if it raises, the next call tries again):
    so a module-level function can use a cache that the container builds later. ``ttl`` and the
    compute ``options`` (``lease_ttl``, ``wait_timeout``, ``stale_ttl``, ...) go to
    ``get_or_set``/``get_or_set_async`` as they are; they are checked there, at call time.

    **Keys** are ``<prefix>:v1:<digest>``. ``prefix`` defaults to the function's
    ``module.qualname`` (give one for a lambda, a ``functools.partial`` or a callable object).
    The key sees arguments only, not a closure or globals: functions sharing a qualname (closures
    made by one factory) share entries unless each gets its own ``prefix``.
    The digest is :func:`~src.interfaces.llm.cache_keys.digest` of the arguments bound to the
    signature with defaults applied, as ``((name, value), ...)`` in parameter order (``*args`` a
    tuple, ``**kwargs`` a dict): ``f(1)``, ``f(x=1)`` and ``f()`` with ``x=1`` by default share a
    key, while ``f(1)``/``f("1")``, ``f(None)``/``f("")`` and ``f("x y", "z")``/``f("x", "y z")``
    do not. Keys are the same in every process. An argument of a type the encoding does not
    support is a ``TypeError`` at call time, naming the parameter and its type; nothing is computed.

    **Methods**: ``self`` is an argument like any other, so an instance must say what identifies
    it: a ``__cache_key__()`` method, or being a dataclass (its compared fields). An instance with
    neither is a ``TypeError`` naming its class - never ``id()`` or ``repr()``, which differ
    between processes, and never left out, which would let one instance get another's results.
    Entries are shared between instances only when asked: ``ignore=("self",)``. A class method
    (``@cached`` written above ``@classmethod``) binds its class, keyed by ``module.qualname``; a
    static method (``@staticmethod`` above ``@cached``) binds nothing. mypy types functions and
    instance methods exactly, but sees a class or static method as its plain function, so it
    wrongly asks for ``cls`` there (a ``cast`` or ``type: ignore`` silences it).

    ``ignore`` names parameters left out of the key (a request id, a logger); ``key`` replaces
    the arguments: ``key(*args, **kwargs)`` gets the call's arguments (``self`` included) and
    returns a supported value, digested in their place. They exclude each other.

    A result is cached whatever it is, ``None`` included (a cached ``None`` is a hit), as long as
    the cache can store it (the contract's values: a tuple result reads back as a list).

    The decorated function keeps ``functools.wraps`` metadata and offers ``key(...) -> str`` (no
    I/O), ``invalidate(...) -> bool`` and ``invalidate_async(...)`` (delete the entry), and a
    refresh in the function's own colour: ``refresh(...)`` for a sync function,
    ``await refresh_async(...)`` for an async one (recompute now, store, return the value).
    """
    if key is not None and not callable(key):
        raise TypeError(f"cached(key=...) must be a callable returning the key's value, got {key!r:.60}")
    names = frozenset((ignore,) if isinstance(ignore, str) else ignore)
    if key is not None and names:
        raise ValueError("cached() takes key= or ignore=, not both: key= already chooses what the key holds")
    if prefix is not None:
        check_prefix(prefix)
    return CacheDecorator(
        _Settings(
            provider=_ProviderRef(provider), ttl=ttl, prefix=prefix, key=key, ignore=names, options=options
        )
    )


@dataclass(frozen=True)
class _Settings:
    """The arguments of one ``cached(...)``, checked."""

    provider: _ProviderRef
    ttl: float | None
    prefix: str | None
    key: Callable[..., Any] | None
    ignore: frozenset[str]
    options: dict[str, Any]


class CacheDecorator:
    """What ``cached(...)`` returns: applied to a function, the cached function."""

    def __init__(self, settings: _Settings) -> None:
        self._settings = settings

    # Overlapping on purpose: an async function matches the sync overload too; the first wins.
    @overload
    def __call__(  # type: ignore[overload-overlap]
        self, fn: Callable[P, Coroutine[Any, Any, R]]
    ) -> CachedCoroutineFunction[P, R]: ...
    @overload
    def __call__(self, fn: Callable[P, R]) -> CachedFunction[P, R]: ...
    def __call__(self, fn: Any) -> Any:
        if isinstance(fn, staticmethod):
            raise TypeError("put @staticmethod above @cached(...): a static method has no instance to bind")
        binds_class = isinstance(fn, classmethod)
        function = fn.__func__ if binds_class else fn
        if not callable(function):
            raise TypeError(
                f"cached(...) decorates a function, got {type(fn).__name__}; "
                "write @cached(provider), not @cached"
            )
        core = _Core(function, self._settings)
        if core.is_async:
            return CachedAsyncClassMethod(core) if binds_class else CachedCoroutineFunction(core)
        return CachedClassMethod(core) if binds_class else CachedFunction(core)


class _Core:
    """What every view of one cached function shares: the function, its keys, its provider."""

    def __init__(self, fn: Callable[..., Any], settings: _Settings) -> None:
        self.fn = fn
        # A callable object with an async __call__ is async too.
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)
        self.keys = CallKeys(fn, prefix=settings.prefix, key=settings.key, ignore=settings.ignore)
        self.provider = settings.provider.get
        self.ttl = settings.ttl
        self.options = settings.options


class _CachedBase(Generic[P]):
    """The views of a cached function share: its key, its invalidation, its metadata."""

    __name__: str
    __wrapped__: Callable[..., Any]

    def __init__(self, core: _Core, bound: tuple[Any, ...] = ()) -> None:
        # __name__, __doc__, __wrapped__, ...; first, as it also copies the function's __dict__.
        functools.update_wrapper(cast(Any, self), core.fn)
        self._core = core
        self._bound = bound  # the instance (or class), in a view reached through it: obj.method

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The cache key of this call (no I/O)."""
        return self._core.keys.key(self._bound + args, kwargs)

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Delete this call's entry; ``True`` if there was one."""
        return self._core.provider().delete(self._core.keys.key(self._bound + args, kwargs))

    async def invalidate_async(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Async twin of :meth:`invalidate`."""
        return await self._core.provider().delete_async(self._core.keys.key(self._bound + args, kwargs))

    def __repr__(self) -> str:
        return f"<cached {self._core.keys.prefix}{' bound' if self._bound else ''}>"


class CachedFunction(_CachedBase[P], Generic[P, R]):
    """A sync function wrapped by :func:`cached`: ``f(...)`` is ``provider.get_or_set(f.key(...), ...)``."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        core = self._core
        call = self._bound + args
        result: R = core.provider().get_or_set(
            core.keys.key(call, kwargs), functools.partial(core.fn, *call, **kwargs), core.ttl, **core.options
        )
        return result

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function now, store its result under this call's key and return it.

        Not through compute-once: the call runs even while a value is cached or being computed,
        and its result replaces whatever the key holds.
        """
        core = self._core
        call = self._bound + args
        key = core.keys.key(call, kwargs)  # before computing: a bad argument costs no computation
        result: R = core.fn(*call, **kwargs)
        core.provider().set(key, result, core.ttl)
        return result

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self: CachedFunction[Concatenate[S, Q], R], instance: S, owner: type[Any]
    ) -> CachedFunction[Q, R]: ...
    def __get__(self, instance: Any, owner: type[Any]) -> Any:
        """Through an instance: a view with the instance bound first; through the class, itself."""
        return self if instance is None else CachedFunction(self._core, (instance,))


class CachedClassMethod(CachedFunction[P, R]):
    """A class method wrapped by :func:`cached` (written above ``@classmethod``): binds the class."""

    def __get__(self, instance: object, owner: type[Any]) -> Any:
        """A view with the class bound first, reached through the class or an instance."""
        return CachedFunction(self._core, (owner,))


class CachedCoroutineFunction(_CachedBase[P], Generic[P, R]):
    """An async function wrapped by :func:`cached`: ``await f(...)`` is ``get_or_set_async``."""

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        core = self._core
        call = self._bound + args
        result: R = await core.provider().get_or_set_async(
            core.keys.key(call, kwargs), functools.partial(core.fn, *call, **kwargs), core.ttl, **core.options
        )
        return result

    async def refresh_async(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await the function now, store its result under this call's key and return it.

        The async form of :meth:`CachedFunction.refresh`: the call runs whatever the key holds.
        """
        core = self._core
        call = self._bound + args
        key = core.keys.key(call, kwargs)
        result: R = await core.fn(*call, **kwargs)
        await core.provider().set_async(key, result, core.ttl)
        return result

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self: CachedCoroutineFunction[Concatenate[S, Q], R], instance: S, owner: type[Any]
    ) -> CachedCoroutineFunction[Q, R]: ...
    def __get__(self, instance: Any, owner: type[Any]) -> Any:
        """Through an instance: a view with the instance bound first; through the class, itself."""
        return self if instance is None else CachedCoroutineFunction(self._core, (instance,))


class CachedAsyncClassMethod(CachedCoroutineFunction[P, R]):
    """An async class method wrapped by :func:`cached` (above ``@classmethod``): binds the class."""

    def __get__(self, instance: object, owner: type[Any]) -> Any:
        """A view with the class bound first, reached through the class or an instance."""
        return CachedCoroutineFunction(self._core, (owner,))


class _ProviderRef:
    """The provider given to :func:`cached`, or the factory that returns it on first use."""

    def __init__(self, source: Any) -> None:
        from src.interfaces.llm.cache import ICacheProvider  # noqa: PLC0415 - see the module docstring

        self._provider: ICacheProvider | None = None
        self._factory: Callable[[], Any] | None = None
        if isinstance(source, ICacheProvider):
            self._provider = source
        elif callable(source):
            self._factory = source
        else:
            raise TypeError(
                "cached() takes an ICacheProvider or a zero-argument callable returning one, "
                f"got {type(source).__name__}"
            )
        self._lock = threading.Lock()

    def get(self) -> ICacheProvider:
        """The provider; the factory is called at most once successfully, under a lock."""
        provider = self._provider
        if provider is None:
            with self._lock:
                if self._provider is None:
                    self._provider = self._resolve()
                provider = self._provider
        return provider

    def _resolve(self) -> ICacheProvider:
        from src.interfaces.llm.cache import ICacheProvider  # noqa: PLC0415 - see the module docstring

        assert self._factory is not None  # set whenever no provider was given
        provider = self._factory()
        if not isinstance(provider, ICacheProvider):
            raise TypeError(
                f"the provider factory given to cached() returned a {type(provider).__name__}, "
                "not an ICacheProvider"
            )
        return provider
