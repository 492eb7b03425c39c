"""A force's mapping held against the contract, before an import reads a byte.

``[import]`` names files (``offenders``), fields (``risk_level``) and values (``very_high``);
the configuration loader checks their form, this module checks that each exists in
``specs.SPECS`` - the one statement of the contract's files, columns and values - and
builds what the reader applies per file (``monitor.extract.mapping.FileMapping``). Nothing
here names a field: a column added to SPECS can be mapped, and its codes translated, with
no change here.

A mistake is a ConfigError naming the key, the value and what was expected, with a "did you
mean" for a near miss: a mapping typo found on the first row of a national extract would
cost the operator the whole run.
"""

from __future__ import annotations

from monitor.core.config import Config, ConfigError
from monitor.core.import_settings import suggestion
from monitor.extract.mapping import FileMapping, ValueMap, normalise_token
from monitor.register.cells import FLAG_SPELLINGS
from monitor.register.specs import CHOICES, FLAGS, NO_ECHO, SPECS

#: Files by their configuration name ("offenders" for offenders.csv).
ROLES: dict[str, str] = {spec.role: name for name, spec in SPECS.items()}
#: Keys identify rows; a value map on one would make two extracts disagree on who is who.
KEYS = frozenset(spec.key for spec in SPECS.values())


def _role(key: str, role: str, source: str | None) -> str:
    if role not in ROLES:
        raise ConfigError(key, role, f"one of the extract's files: {', '.join(ROLES)}{suggestion(role, ROLES)}", source)
    return ROLES[role]


def _field_values(key: str, name: str, codes: dict[str, str], source: str | None) -> ValueMap:
    everywhere = {f for spec in SPECS.values() for f in spec.known}
    if name not in everywhere:
        raise ConfigError(key, name, f"a field of the extract{suggestion(name, everywhere)}", source)
    if name in KEYS or name in NO_ECHO:
        what = "a key" if name in KEYS else "personal data"
        raise ConfigError(key, name, f"a field whose codes may be mapped ({name} is {what}, read as it is)", source)
    for code, target in codes.items():
        if name in CHOICES and normalise_token(target) not in CHOICES[name]:
            expected = f"one of {', '.join(CHOICES[name])}{suggestion(normalise_token(target), CHOICES[name])}"
            raise ConfigError(f"{key}.{code}", target, expected, source)
        if name in FLAGS and target.strip().lower() not in FLAG_SPELLINGS:
            raise ConfigError(f"{key}.{code}", target, '"true" or "false"', source)
    return ValueMap(name, codes)


def file_mappings(config: Config) -> dict[str, FileMapping]:
    """Each contract file's mapping (by file name, ``offenders.csv``); raises ConfigError."""
    settings, source = config.import_settings, config.source
    for role in (*settings.files, *settings.sheets):
        _role(f"import.files.{role}" if role in settings.files else f"import.sheets.{role}", role, source)
    value_maps = {
        name: _field_values(f"import.values.{name}", name, codes, source) for name, codes in settings.values.items()
    }
    mappings = {name: FileMapping(role=spec.role) for name, spec in SPECS.items()}
    for role, columns in settings.columns.items():
        spec = SPECS[_role(f"import.columns.{role}", role, source)]
        for name in columns:
            if name not in spec.known:
                expected = f"a field of {spec.name}{suggestion(name, spec.known)}"
                raise ConfigError(f"import.columns.{role}.{name}", name, expected, source)
        mappings[spec.name] = FileMapping(role=role, columns=dict(columns))
    return {
        name: FileMapping(
            role=mapping.role,
            columns=mapping.columns,
            values={f: m for f, m in value_maps.items() if f in SPECS[name].known},
        )
        for name, mapping in mappings.items()
    }
