"""How services obtain their dependencies: by interface, and optionally by registered name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypeVar

T = TypeVar("T")


class ServiceNotRegisteredError(LookupError):
    """No service is registered for an interface, or none under the requested name."""


class IServiceResolver(ABC):
    """Resolves interfaces to the implementations the configuration chose.

    Implementations are singletons of their container: the same object for every call, until the
    container is shut down.
    """

    @abstractmethod
    def get(self, interface: type[T]) -> T:
        """The configured default implementation of ``interface``.

        Raises :class:`ServiceNotRegisteredError` if nothing is registered for ``interface``.
        """

    @abstractmethod
    def get_named(self, interface: type[T], name: str) -> T:
        """The implementation registered under ``name``.

        Raises :class:`ServiceNotRegisteredError`, listing the registered names, if there is none.
        """

    @abstractmethod
    def try_get_named(self, interface: type[T], name: str) -> T | None:
        """Like :meth:`get_named`, but ``None`` when ``name`` is not registered."""

    @abstractmethod
    def names(self, interface: type[T]) -> list[str]:
        """The names registered for ``interface``, in configuration order (empty if none)."""
