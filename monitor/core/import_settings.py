"""The ``[import]`` section: where extracts arrive and how a force's own files are read.

No force has the contract's CSV: its headers, codes, date forms, encoding and file names are
its own. This section maps them (``columns``, ``values``, ``date_formats``, ``encoding``,
``files``, ``workbook`` and ``sheets``), so a first import is a configuration job, not a
conversion script. Kept beside ``config.py`` (which calls :func:`parse` and turns a
:class:`~monitor.core.web_settings.SettingError` into its ConfigError) because the rules
here are the importer's own.

What can be checked without the contract is checked here, when the configuration is read:
types, an encoding Python knows that reads ASCII as ASCII, date forms that round-trip and
cannot read one text as two dates, file patterns without folders. Which files, fields and
values exist is the contract's business (``monitor.register.specs.SPECS``): the register
checks the names in ``files``, ``sheets``, ``columns`` and ``values`` against it before an
import starts (``monitor.register.contract``).
"""

from __future__ import annotations

import codecs
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from monitor.core.checks import folder_problem
from monitor.core.web_settings import SettingError

IMPORT_DEFAULTS: dict[str, Any] = {
    "drop_dir": "",
    "max_missing_percent": 5,
    "encoding": "utf-8",
    "date_formats": [],
    "workbook": "",
    "files": {},
    "sheets": {},
    "columns": {},
    "values": {},
}

#: Tables whose keys are the force's (file roles, fields, codes): checked here and against
#: the contract, not against the defaults.
FREE_TABLES = frozenset({"import.files", "import.sheets", "import.columns", "import.values"})

#: The forms the contract itself reads, as strftime forms, for the ambiguity check.
CONTRACT_FORMS: tuple[str, ...] = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M")
#: strftime directives a date form may use. Two-digit years (%y) are refused: 05/03/50 is 2050.
_ALLOWED = frozenset("YmdbBHIMSpfzaA%")
_TIME = frozenset("HIMSpfz")
_DIRECTIVE = re.compile(r"%(.)")
#: Longest text accepted for a header, code, pattern or sheet name in the section.
_MAX_TEXT = 200


@dataclass(frozen=True)
class ImportSettings:
    """The validated ``[import]`` section; names are checked against the contract at import."""

    drop_dir: str = ""
    max_missing_percent: float = 5.0
    #: Codec name as Python spells it (``utf-8``, ``cp1252``).
    encoding: str = "utf-8"
    #: The force's date forms (strftime), tried before the contract's own.
    date_formats: tuple[str, ...] = ()
    #: A file name pattern for one workbook holding a sheet per file ("" = none).
    workbook: str = ""
    #: File role (``offenders``) -> file name patterns; a role not named:
    #: ``offenders.csv`` / ``.xlsx`` / ``.xls`` / ``.ods``.
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: File role -> sheet name (in the workbook, or in a workbook of that role's own).
    sheets: dict[str, str] = field(default_factory=dict)
    #: File role -> contract field -> the force's candidate headers, in order.
    columns: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    #: Contract field -> the force's code (as written) -> the contract's value.
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def mapped(self) -> bool:
        """Whether anything but the contract's own shape is configured."""
        return bool(
            self.date_formats
            or self.workbook
            or self.files
            or self.sheets
            or self.columns
            or self.values
            or self.encoding != "utf-8"
        )


def suggestion(word: str, known: Iterable[str]) -> str:
    """`` (did you mean X?)`` for a near miss among ``known``, else ""."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def code_key(code: str) -> str:
    """How a code is matched: trimmed, inner spaces single, case folded (``" Very  High"`` = ``very high``)."""
    return " ".join(code.split()).casefold()


def _text(key: str, value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT or not value.isprintable():
        raise SettingError(key, value, f"{what} (one line of printable text, at most {_MAX_TEXT} characters)")
    return value


def _table(key: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SettingError(key, value, "a table")
    return value


def _pattern(key: str, value: object) -> str:
    text = _text(key, value, 'a file name pattern such as "RSO_Nominals_*.csv"')
    if "/" in text or "\\" in text or text in (".", ".."):
        raise SettingError(key, value, "a file name pattern without folders, such as RSO_Nominals_*.csv")
    return text


def _patterns(key: str, value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise SettingError(key, value, "a file name pattern or a list of them")
    return tuple(_pattern(key, item) for item in items)


def check_encoding(key: str, value: object) -> str:
    """A codec Python knows that writes ASCII as ASCII (so lines and commas are found in bytes)."""
    expected = 'a text encoding such as "utf-8" or "cp1252" (one that writes plain ASCII as ASCII; not UTF-16)'
    if not isinstance(value, str) or not value.strip():
        raise SettingError(key, value, expected)
    probe = '\r\n,"azAZ09 -_/:.'
    try:
        name = codecs.lookup(value.strip()).name
        ascii_compatible = probe.encode(name) == probe.encode("ascii")
    except (LookupError, UnicodeError, TypeError, ValueError):
        raise SettingError(key, value, expected) from None
    if not ascii_compatible:
        raise SettingError(key, value, expected)
    return "utf-8" if name == "utf-8-sig" else name


def _samples(form: str) -> list[datetime]:
    """Instants to format with ``form``: every day that could be a month, each month's last day, 29 Feb."""
    times = (13, 45, 30) if _TIME & set(_DIRECTIVE.findall(form)) else (0, 0, 0)
    days = [date(2005, m, d) for m in range(1, 13) for d in range(1, 14)]
    days += [date(2005, m + 1, 1) - timedelta(days=1) for m in range(1, 12)] + [date(2005, 12, 31), date(2024, 2, 29)]
    return [datetime(d.year, d.month, d.day, *times) for d in days]


def _reads(form: str, text: str) -> date | None:
    try:
        return datetime.strptime(text, form).date()
    except ValueError:
        return None


def _named(form: str) -> str:
    return f"the contract's {form!r}" if form in CONTRACT_FORMS else repr(form)


def check_date_formats(key: str, value: object) -> tuple[str, ...]:
    """strftime forms that each give a whole date and never read one text as two dates.

    Every pair (the contract's own forms included) is tried both ways over dates whose day
    could be a month: ``%m/%d/%Y`` is refused beside the contract's day-first
    ``DD/MM/YYYY``, because ``01/02/2005`` would be 2 January under one and 1 February under
    the other. So the order of the list never changes what a text means.
    """
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingError(key, value, 'a list of strftime date forms such as ["%d-%b-%Y", "%d.%m.%Y"]')
    forms: list[str] = []
    for form in value:
        directives = set(_DIRECTIVE.findall(form))
        if "y" in directives:
            raise SettingError(key, form, "four-digit years (%Y): with %y, 05/03/50 cannot tell 1950 from 2050")
        unknown = sorted(directives - _ALLOWED)
        if unknown or not form.strip() or len(form) > 64:
            raise SettingError(key, form, "a strftime form using only %Y %m %d %b %B %H %I %M %S %p %f %z %a %A")
        if "Y" not in directives or "d" not in directives or not directives & {"m", "b", "B"}:
            raise SettingError(key, form, "a form with a day (%d), a month (%m, %b or %B) and a year (%Y)")
        if any(_reads(form, s.strftime(form)) != s.date() for s in _samples(form)):
            raise SettingError(key, form, "a form that reads back every date it writes")
        if form not in forms:
            forms.append(form)
    for form in forms:
        for other in (*forms, *CONTRACT_FORMS):
            if other == form:
                continue
            for written in (form, other):
                reader = other if written == form else form
                for sample in _samples(written):
                    text = sample.strftime(written)
                    read = _reads(reader, text)
                    if read is not None and read != sample.date():
                        raise SettingError(
                            key,
                            form,
                            f"forms that cannot read one text as two dates: {_named(written)} writes {text!r} for "
                            f"{sample.date().isoformat()}, but {_named(reader)} reads it as {read.isoformat()}",
                        )
    return tuple(forms)


def _columns(raw: Mapping[str, Any]) -> dict[str, dict[str, tuple[str, ...]]]:
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for role, table in _table("import.columns", raw).items():
        fields: dict[str, tuple[str, ...]] = {}
        for name, headers in _table(f"import.columns.{role}", table).items():
            key = f"import.columns.{role}.{name}"
            items = headers if isinstance(headers, list) else [headers]
            if not items:
                raise SettingError(key, headers, "the force's header, or a list of candidate headers")
            fields[name] = tuple(_text(key, h, "the force's header for this field") for h in items)
        out[role] = fields
    return out


def _values(raw: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for name, table in _table("import.values", raw).items():
        codes: dict[str, str] = {}
        seen: dict[str, str] = {}
        for code, target in _table(f"import.values.{name}", table).items():
            key = f"import.values.{name}.{code}"
            if len(code) > _MAX_TEXT or not code.isprintable():
                raise SettingError(key, code, f"a code of at most {_MAX_TEXT} printable characters")
            _text(key, target, "the contract's value for this code")
            folded = code_key(code)
            if folded in seen:
                raise SettingError(key, code, f"codes that differ by more than case and spaces (also {seen[folded]!r})")
            seen[folded] = code
            codes[code] = target.strip()
        out[name] = codes
    return out


def parse(raw: Mapping[str, Any]) -> ImportSettings:
    """Validate the merged ``[import]`` table; raise SettingError on the first bad key."""
    files = {
        role: _patterns(f"import.files.{role}", value) for role, value in _table("import.files", raw["files"]).items()
    }
    sheets = {
        role: _text(f"import.sheets.{role}", value, "a sheet name")
        for role, value in _table("import.sheets", raw["sheets"]).items()
    }
    workbook = raw["workbook"]
    if not isinstance(workbook, str):
        raise SettingError("import.workbook", workbook, 'a file name pattern such as "RSO_Register_*.xlsx", or ""')
    if workbook:
        _pattern("import.workbook", workbook)
        if not workbook.lower().endswith((".xlsx", ".xls", ".ods")):
            raise SettingError("import.workbook", workbook, "a pattern for workbooks, ending in .xlsx, .xls or .ods")
    drop = raw["drop_dir"]
    if not isinstance(drop, str):
        raise SettingError("import.drop_dir", drop, "a string")
    if problem := folder_problem(drop, allow_empty=True):
        raise SettingError("import.drop_dir", drop, problem)
    max_missing = raw["max_missing_percent"]
    if isinstance(max_missing, bool) or not isinstance(max_missing, int | float) or not 0 <= max_missing <= 100:
        raise SettingError("import.max_missing_percent", max_missing, "a percentage from 0 to 100")
    return ImportSettings(
        drop_dir=drop,
        max_missing_percent=float(max_missing),
        encoding=check_encoding("import.encoding", raw["encoding"]),
        date_formats=check_date_formats("import.date_formats", raw["date_formats"]),
        workbook=workbook,
        files=files,
        sheets=sheets,
        columns=_columns(raw["columns"]),
        values=_values(raw["values"]),
    )
