"""The resolver services use, backed by the dependency-injector container's providers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from src.interfaces.container.resolver import IServiceResolver, ServiceNotRegisteredError

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceRegistration:
    """The providers of one interface: the default, and the enabled ones by name."""

    default: Callable[[], Any]
    named: Mapping[str, Callable[[], Any]]


class ContainerResolver(IServiceResolver):
    """Resolves interfaces through the registrations the bindings declared."""

    def __init__(self, registrations: Mapping[type, ServiceRegistration]) -> None:
        self._registrations = dict(registrations)

    def get(self, interface: type[T]) -> T:
        return cast(T, self._registration(interface).default())

    def get_named(self, interface: type[T], name: str) -> T:
        provider = self._registration(interface).named.get(name)
        if provider is None:
            registered = ", ".join(self.names(interface)) or "(none)"
            raise ServiceNotRegisteredError(
                f"no {interface.__name__} named {name!r} is registered; registered: {registered} "
                "(enable it under cache.providers in the configuration)"
            )
        return cast(T, provider())

    def try_get_named(self, interface: type[T], name: str) -> T | None:
        registration = self._registrations.get(interface)
        provider = registration.named.get(name) if registration else None
        return None if provider is None else cast(T, provider())

    def names(self, interface: type[T]) -> list[str]:
        registration = self._registrations.get(interface)
        return list(registration.named) if registration else []

    def _registration(self, interface: type) -> ServiceRegistration:
        try:
            return self._registrations[interface]
        except KeyError:
            raise ServiceNotRegisteredError(f"nothing is registered for {interface.__name__}") from None
