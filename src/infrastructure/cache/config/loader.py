"""Finding, reading and validating the YAML configuration file.

Which file: the ``path`` argument, else the file ``AGENT_CACHE_CONFIG`` names (both *explicit*), else
``configs/global.yaml`` in the working directory (*implicit*), else the defaults shipped in the
package. Only the file's ``cache:`` section is ours.

An explicit file was asked for to configure the cache: one that is empty or has no ``cache:``
section is an error naming the file (and a misspelt root key: "did you mean 'cache'?"). An implicit
file is the framework's own ``global.yaml``, which may have no cache section yet: the packaged
defaults are used then, environment variables included - unless the file shows a cache section gone
wrong (a root key like ``cahce:``, or ``providers:`` at the top level), which is an error as well.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from src.infrastructure.cache.config.cache_config import ROOT, SECTION_KEYS, CacheConfig
from src.infrastructure.cache.config.interpolation import interpolate_recording, origin_note
from src.infrastructure.cache.config.sections import SettingError, did_you_mean, is_name
from src.infrastructure.cache.config.yaml_reader import read_yaml
from src.interfaces.llm.cache import CacheConfigError

logger = logging.getLogger(__name__)

#: Environment variable naming the configuration file to use.
CONFIG_ENV_VAR = "AGENT_CACHE_CONFIG"
#: Used when neither a path nor the variable is given and it exists in the working directory.
LOCAL_CONFIG = Path("configs/global.yaml")
#: The same file, shipped inside the package so the CLI works from any directory.
PACKAGED_CONFIG = "global.yaml"
PACKAGED_SOURCE = f"packaged defaults ({PACKAGED_CONFIG} inside agent-cache)"
#: Where to look for an example of every setting, for messages.
EXAMPLE = "configs/global.yaml in agent-cache shows every setting"


@dataclass(frozen=True)
class _File:
    """A configuration file's text, its name for messages, and whether it was asked for."""

    text: str
    source: str
    explicit: bool


def load_cache_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> CacheConfig:
    """Read, interpolate and validate the configuration (see the module's docstring for which file).

    A path that was asked for but does not exist is an error, never silently replaced by defaults.
    """
    environ = os.environ if environ is None else environ
    file = _locate(path, environ)
    section = _cache_section(read_yaml(file.text, file.source), file)
    if section is _NO_SECTION:
        logger.info("%s has no %r section: using the packaged defaults", file.source, ROOT)
        file = _File(_packaged_text(), f"{PACKAGED_SOURCE}; {file.source} has no '{ROOT}:' section", False)
        section = _cache_section(read_yaml(file.text, file.source), file)
    config = _validated(section, environ, file.source)
    logger.debug("cache configuration loaded from %s", file.source)
    return config


def _locate(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> _File:
    if path is not None:
        return _read(Path(path), explicit=True)
    if environ.get(CONFIG_ENV_VAR):
        return _read(Path(environ[CONFIG_ENV_VAR]), explicit=True)
    if LOCAL_CONFIG.is_file():
        return _read(LOCAL_CONFIG, explicit=False)
    return _File(_packaged_text(), PACKAGED_SOURCE, explicit=False)


def _packaged_text() -> str:
    return resources.files("src.infrastructure.cache.config").joinpath(PACKAGED_CONFIG).read_text("utf-8")


def _read(file: Path, explicit: bool) -> _File:
    try:
        return _File(file.read_text(encoding="utf-8"), str(file.resolve()), explicit)
    except FileNotFoundError:
        raise CacheConfigError(f"configuration file {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CacheConfigError(f"cannot read configuration file {file}: {exc}") from None


#: What :func:`_cache_section` returns for an implicit file without a cache section.
_NO_SECTION: Any = object()


def _cache_section(document: Any, file: _File) -> Any:
    """The document's ``cache:`` section (None when written empty), or ``_NO_SECTION`` for an
    implicit file without one. Raises naming the file when the section is missing or misplaced."""
    if document is None and file.explicit:
        raise CacheConfigError(
            f"{file.source}: the file is empty; agent-cache reads its settings from a top-level "
            f"'{ROOT}:' section ({EXAMPLE})"
        )
    if document is None:
        return _NO_SECTION
    if not isinstance(document, Mapping):
        raise CacheConfigError(
            f"{file.source}: expected a mapping at the top level, got {type(document).__name__}"
        )
    if ROOT in document:
        return document[ROOT]
    _refuse_misplaced_section(document, file)
    if file.explicit:
        raise CacheConfigError(
            f"{file.source}: no top-level '{ROOT}:' section ({_root_keys(document)}); agent-cache reads "
            f"its settings only from there ({EXAMPLE})"
        )
    return _NO_SECTION


def _refuse_misplaced_section(document: Mapping[Any, Any], file: _File) -> None:
    """A root key that looks like ``cache`` misspelt, or the section's own keys at the top level."""
    for key in document:
        if did_you_mean(key, [ROOT]):
            keep = "" if file.explicit else f" (if '{key}' is not agent-cache's, add an empty '{ROOT}:')"
            raise CacheConfigError(
                f"{file.source}: no top-level '{ROOT}:' section, but a top-level '{key}'; did you mean "
                f"'{ROOT}'?{keep}"
            )
        if key in SECTION_KEYS:
            raise CacheConfigError(
                f"{file.source}: '{key}' is at the top level, but agent-cache reads it only under "
                f"'{ROOT}:'; indent it (and the keys with it) under a top-level '{ROOT}:'"
            )


def _root_keys(document: Mapping[Any, Any]) -> str:
    """The root keys for a message: the ones that look like names (others may be secrets)."""
    names = [str(key) for key in document if is_name(key)]
    hidden = len(document) - len(names)
    shown = ", ".join(names) + (f" and {hidden} not shown" if hidden else "")
    return f"top-level keys: {shown}" if document else "no top-level keys"


def _validated(section: Any, environ: Mapping[str, str], source: str) -> CacheConfig:
    """The section interpolated and validated; an error names the file, and the environment
    variable the refused value came from."""
    # Only the cache section is ours: other sections of the framework's global.yaml are left alone,
    # and so are their ${...} markers (their variables need not be set for the cache to start).
    interpolated = interpolate_recording(section, environ, source, ROOT)
    try:
        return CacheConfig.from_mapping(interpolated.value, source)
    except SettingError as exc:
        raise CacheConfigError(f"{exc}{origin_note(interpolated.origins, exc.path)} (in {source})") from None
    except CacheConfigError as exc:
        raise CacheConfigError(f"{exc} (in {source})") from None
