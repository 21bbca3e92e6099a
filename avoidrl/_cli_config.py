"""The ``avoidrl`` command's config files: ``--config`` JSON or TOML, read and checked.

Every key is one of the command's options (:data:`CONFIG_KEYS`), or one of the
``bounds`` and ``init`` sections; a bad file, key or value raises
:class:`UsageError`, which the command reports as one line with exit status 2.
Paths in a config file are relative to the file.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from ._utils.fitted import fit_methods
from ._workflows import RECOVERY_KINDS, SAMPLERS, SEED_RANGE, START_MODES
from .estimators._settings import GRADIENTS, INTERVAL_METHODS
from .report._figures import FORMATS

#: config keys (besides the bounds and init sections) and the subcommands that use them
CONFIG_KEYS = {
    "models": ("fit", "validate"), "learning": ("fit", "validate"),
    "transfer": ("fit", "validate"), "participants": ("fit", "validate"),
    "n_starts": ("fit", "validate"), "start": ("fit", "validate"), "jobs": ("fit", "validate"),
    "seed": ("fit", "validate"), "out": ("fit", "validate"), "method": ("fit", "validate"),
    "formats": ("fit", "validate"), "n_simulations": ("fit",), "recovery": ("validate",),
    "n_datasets": ("validate",), "sampler": ("validate",),
    "n_chains": ("fit", "validate"), "n_warmup": ("fit", "validate"),
    "n_samples": ("fit", "validate"), "gradient": ("fit", "validate"),
    "intervals": ("fit", "validate"), "interval_calibration": ("fit", "validate"),
}
#: the options of one inference method's own settings (its ``front_end_settings``)
METHOD_SETTINGS = ("n_chains", "n_warmup", "n_samples", "interval_calibration")
CONFIG_SECTIONS = ("bounds", "init")
_PATH_KEYS = ("learning", "transfer", "out")


class UsageError(Exception):
    """An error the user caused; reported as one line, exit status 2."""



def read_config(path):
    """Read a JSON/TOML config file into a validated dict of option values.

    One file can serve both subcommands: ``avoidrl fit`` ignores the keys
    only ``validate`` uses (recovery, n_datasets, sampler).
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"config file '{path}' does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"could not read config file '{path}' ({exc})") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            content = tomllib.loads(text)
        elif suffix == ".json":
            content = json.loads(text)
        else:
            try:
                content = json.loads(text)
            except json.JSONDecodeError:
                content = tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = {".toml": "TOML", ".json": "JSON"}.get(suffix, "JSON or TOML")
        detail = " ".join(str(exc).split())
        raise UsageError(f"config file '{path}' is not valid {kind} ({detail})") from None
    if not isinstance(content, dict):
        raise UsageError(f"config file '{path}' must hold a table/object of settings")
    config = {}
    for key, value in content.items():
        name = key.replace("-", "_")
        if name in CONFIG_SECTIONS:
            if not isinstance(value, dict):
                raise UsageError(f"config file '{path}': '{key}' must be a table "
                                 "{Base: {parameter: ...}}")
            config[name] = value
        elif name in CONFIG_KEYS:
            config[name] = _config_value(name, value, path)
        else:
            raise UsageError(f"config file '{path}': unknown key '{key}'; valid keys are "
                             f"{list(CONFIG_SECTIONS) + list(CONFIG_KEYS)}")
    return config


def _config_value(name, value, path):
    where = f"config file '{path}': '{name}'"
    if name == "models":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value) \
                or not value:
            raise UsageError(f"{where} must be a list of model names")
        return value
    if name == "formats":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or \
                not all(isinstance(v, str) and v in FORMATS for v in value):
            raise UsageError(f"{where} must be a list of figure formats, some of "
                             f"{list(FORMATS)}; got {value!r}")
        return value
    if name in _PATH_KEYS:
        if not isinstance(value, str) or not value:
            raise UsageError(f"{where} must be a path (a string)")
        return str(path.parent / value)
    if name in ("start", "sampler", "recovery", "method", "gradient", "intervals"):
        choices = {"start": START_MODES, "sampler": SAMPLERS, "recovery": RECOVERY_KINDS,
                   "method": tuple(fit_methods()), "gradient": GRADIENTS,
                   "intervals": INTERVAL_METHODS}[name]
        if value not in choices:
            raise UsageError(f"{where} must be one of {list(choices)}, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{where} must be an integer, got {value!r}")
    if name == "jobs" and value == 0 or name == "seed" and not 0 <= value < SEED_RANGE \
            or name in ("participants", "n_starts", "n_datasets", "n_simulations",
                        *METHOD_SETTINGS) and value < 1:
        raise UsageError(f"{where}: invalid value {value!r}")
    return value
