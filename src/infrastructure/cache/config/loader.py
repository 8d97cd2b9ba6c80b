"""Finding, reading and validating the YAML configuration file."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from src.infrastructure.cache.config.cache_config import ROOT, CacheConfig
from src.infrastructure.cache.config.interpolation import interpolate
from src.infrastructure.cache.config.yaml_reader import read_yaml
from src.interfaces.llm.cache import CacheConfigError

logger = logging.getLogger(__name__)

#: Environment variable naming the configuration file to use.
CONFIG_ENV_VAR = "AGENT_CACHE_CONFIG"
#: Used when neither a path nor the variable is given and it exists in the working directory.
LOCAL_CONFIG = Path("configs/global.yaml")
#: The same file, shipped inside the package so the CLI works from any directory.
PACKAGED_CONFIG = "global.yaml"


def load_cache_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> CacheConfig:
    """Read, interpolate and validate the configuration.

    ``path`` None: the file named by ``AGENT_CACHE_CONFIG``, else ``configs/global.yaml`` in the
    working directory, else the defaults shipped in the package. A path that was asked for but does
    not exist is an error, never silently replaced by defaults.
    """
    environ = os.environ if environ is None else environ
    text, source = _read(path, environ)
    document = read_yaml(text, source)
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise CacheConfigError(
            f"{source}: expected a mapping at the top level, got {type(document).__name__}"
        )
    # Only the cache section is ours: other sections of the framework's global.yaml are left alone,
    # and so are their ${...} markers (their variables need not be set for the cache to start).
    section = interpolate(document.get(ROOT), environ, source)
    try:
        config = CacheConfig.from_mapping(section, source)
    except CacheConfigError as exc:
        raise CacheConfigError(f"{exc} (in {source})") from None
    logger.debug("cache configuration loaded from %s", source)
    return config


def _read(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> tuple[str, str]:
    if path is None and environ.get(CONFIG_ENV_VAR):
        path = environ[CONFIG_ENV_VAR]
    if path is None and LOCAL_CONFIG.is_file():
        path = LOCAL_CONFIG
    if path is None:
        packaged = resources.files("src.infrastructure.cache.config").joinpath(PACKAGED_CONFIG)
        return packaged.read_text(
            encoding="utf-8"
        ), f"packaged defaults ({PACKAGED_CONFIG} inside agent-cache)"
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8"), str(file.resolve())
    except FileNotFoundError:
        raise CacheConfigError(f"configuration file {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CacheConfigError(f"cannot read configuration file {file}: {exc}") from None
