"""``import DIR --suggest-mapping``: a first draft of the ``[import]`` tables, from the files themselves.

Writing a mapping by hand means reading every header and every distinct code of a force's
extract. This reads them instead and proposes TOML for the operator to check and paste:
which file is which, which header is which field, which code is which value, the encoding
and the date forms. It never guesses silently: a line it is sure of is plain (a mapping
already configured that resolves), every guess is commented out as ``# ?`` with why it was
made, and a required field nothing resembles is named with the headers there are. A field
or code the contract already reads needs no line and gets none.

It knows no field by name: headers and codes are scored against ``SPECS`` (fields' words,
their initials, the values' words), so a column added to the contract is suggested too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import closing
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.core.config import Config
from monitor.core.import_settings import ImportSettings
from monitor.extract.books import Books
from monitor.extract.dates import DateReader
from monitor.extract.mapping import normalise_token
from monitor.extract.names import default_patterns
from monitor.extract.records import WORKBOOK_SUFFIXES, Source, Unreadable, first_record, sheet_names
from monitor.extract.workbook import ERROR_MARK
from monitor.register.cells import FLAG_SPELLINGS
from monitor.register.specs import CHOICES, FILE_ORDER, FLAGS, SPECS, Spec

#: Distinct codes collected per field, and date texts sampled per file.
MAX_CODES, MAX_DATES = 50, 500
#: Date forms tried on dates the contract does not read (strftime; the first that reads them all).
DATE_FORMS: tuple[str, ...] = (
    "%d-%b-%Y",
    "%d %b %Y",
    "%d-%B-%Y",
    "%d %B %Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y%m%d",
    "%d/%m/%Y %H:%M:%S",
    "%d-%b-%Y %H:%M",
    "%d-%b-%Y %H:%M:%S",
    "%Y/%m/%d",
)
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else _quote(text)


#: Words forces' extracts use for a contract field, beside the field's own (more may be added;
#: a field without an entry is still matched by its own words and initials).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ref": ("nominal id", "nominal ref", "nominal", "case ref", "reference", "urn"),
    "team": ("unit", "sector", "team"),
    "offender_manager": ("om", "manager", "mosovo"),
    "registered_on": ("reg date", "registered", "registration date"),
    "status_since": ("status date", "status since", "status from"),
    "management": ("mgmt", "management"),
    "risk_assessed_on": ("arms", "risk assessed", "assessment date"),
    "last_notified_on": ("notification", "notified"),
    "no_fixed_abode": ("nfa", "no fixed abode"),
    "registration_ends": ("reg end", "registration end", "end date"),
    "date_of_birth": ("dob", "birth"),
    "expected_release": ("release date", "expected release", "erd"),
    "forenames": ("forename", "first name", "given name"),
    "visit_id": ("contact id", "visit no", "visit ref", "visit number"),
    "visit_date": ("contact date", "date of visit", "visit date"),
    "outcome": ("result", "outcome"),
    "visit_type": ("contact type", "visit type", "type"),
    "officer": ("staff id", "officer", "visiting officer"),
    "officer_id": ("staff id", "collar", "warrant", "officer id"),
    "name": ("staff name", "officer name", "name"),
    "email": ("email", "e mail", "email address"),
    "role": ("role", "rank", "staff role"),
    "active": ("active", "active flag"),
}


def _header_score(header: str, field: str) -> tuple[int, int, int, str]:
    """How well a header names a field: (tier, words matched, minus words besides, why); tier 0: not at all."""
    words, wanted = _words(header), field.split("_")
    if not words:
        return 0, 0, 0, ""
    if normalise_token(header) == field:
        return 3, len(wanted), 0, "the contract's name"
    if all(w in words for w in wanted):
        return 2, len(wanted), len(wanted) - len(words), f"its words include {' '.join(wanted)}"
    for phrase in sorted(SYNONYMS.get(field, ()), key=lambda p: -len(p.split())):
        parts = phrase.split()
        if all(w in words for w in parts):
            return 2, len(parts), len(parts) - len(words), f"forces write {phrase!r} for it"
    initials = "".join(w[0] for w in wanted)
    if len(wanted) > 1 and "".join(words) == initials:
        return 1, 1, 0, f"the initials of {field}"
    return 0, 0, 0, ""


def _code_guess(code: str, values: Iterable[str]) -> tuple[str, str] | None:
    """The contract value a force's code probably means, and why; None when nothing fits."""
    words = _words(code)
    values = list(values)
    contained = [v for v in values if all(w in words for w in v.split("_"))]
    if contained:
        best = max(contained, key=lambda v: len(v.split("_")))
        return best, "its words"
    initials = [v for v in values if "".join(w[0] for w in v.split("_")) == "".join(words)]
    if len(initials) == 1:
        return initials[0], "the initials"
    prefix = [v for v in values if words and v.startswith(words[0]) and len(words[0]) >= 2]
    if len(prefix) == 1:
        return prefix[0], "how it starts"
    return None


class _File:
    """One candidate file or sheet: its header and the role it seems to play."""

    def __init__(self, source: Source, header: list[str], encoding: str, note: str, books: Books):
        self.source, self.header, self.encoding, self.note = source, header, encoding, note
        self.books = books


def _read_header(source: Source, encoding: str, books: Books) -> tuple[list[str], str, str]:
    """The header and the encoding that reads the file (trying cp1252 when the declared one does not)."""
    for tried in dict.fromkeys((encoding, "cp1252")):
        records = source.open(tried, books)
        try:
            first = first_record(records)
            for _ in records:  # the whole file must read in it, not just the header
                pass
        except Unreadable as exc:
            if source.is_workbook or tried == "cp1252":
                raise
            note = str(exc)
            continue
        finally:
            records.close()
        if first is None:
            raise Unreadable(f"{source.label}: empty file")
        return first[1], tried, "" if tried == encoding else note
    raise AssertionError("unreachable")


def _candidates(directory: Path, settings: ImportSettings, books: Books) -> list[_File]:
    files: list[_File] = []
    # Newest first: of several deliveries of one file, the import reads the newest.
    for path in sorted(directory.iterdir(), key=lambda p: (-p.stat().st_mtime, p.name)):
        if path.name.startswith((".", "~$")) or not path.is_file():
            continue
        suffix = path.suffix.lower()
        if suffix in WORKBOOK_SUFFIXES:
            sources = [Source("", path, sheet) for sheet in sheet_names(path)]
        elif suffix in (".csv", ".txt"):
            sources = [Source("", path)]
        else:
            continue
        for source in sources:
            try:
                header, encoding, note = _read_header(source, settings.encoding, books)
            except Unreadable:
                continue
            files.append(_File(source, [c.strip().removeprefix(ERROR_MARK) for c in header], encoding, note, books))
    return files


def _assign(files: list[_File], settings: ImportSettings) -> dict[str, _File]:
    """Each contract file's candidate: the configured names first, then the best fits, pair by pair."""
    scores: list[tuple[int, int, str, _File]] = []
    for order, f in enumerate(files):
        for name in FILE_ORDER:
            spec = SPECS[name]
            found = _resolve(spec, f.header, settings.columns.get(spec.role, {}))
            fit = sum(3 if field in spec.required else 1 for field in found)
            if sum(1 for field in spec.required if field in found) >= max(2, len(spec.required) // 2):
                scores.append((fit, -order, name, f))
    taken: dict[str, _File] = {}
    for _fit, _order, name, f in sorted(scores, key=lambda s: (s[0], s[1]), reverse=True):
        if name not in taken and all(f is not t for t in taken.values()):
            taken[name] = f
    return {name: taken[name] for name in FILE_ORDER if name in taken}


def _resolve(spec: Spec, header: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Field -> position: the configured headers or the contract name, else the best guesses, each header once."""
    tokens = [normalise_token(h) for h in header]
    out: dict[str, int] = {}
    for field in spec.known:
        for candidate in columns.get(field, (field,)):
            if normalise_token(candidate) in tokens and tokens.index(normalise_token(candidate)) not in out.values():
                out[field] = tokens.index(normalise_token(candidate))
                break
    guesses = sorted(
        (
            (*_header_score(h, field)[:3], field, pos)
            for field in spec.known
            if field not in out
            for pos, h in enumerate(header)
        ),
        reverse=True,
    )
    for tier, _matched, _besides, field, pos in guesses:
        if tier and field not in out and pos not in out.values():
            out[field] = pos
    return out


def _pattern(name: str) -> str:
    """``RSO_Nominals_20250305.csv`` -> ``RSO_Nominals_*.csv`` (dates and numbers vary by delivery)."""
    stem, dot, suffix = name.rpartition(".")
    return re.sub(r"\d+([-_.]\d+)*", "*", stem) + dot + suffix if dot else name


def suggest_mapping(directory: Path, config: Config) -> str:
    """The draft as TOML text; see the module docstring."""
    settings = config.import_settings
    with closing(Books()) as books:
        return _suggest(directory, config, settings, books)


def _suggest(directory: Path, config: Config, settings: ImportSettings, books: Books) -> str:
    files = _candidates(directory, settings, books)
    assigned = _assign(files, settings)
    lines = [
        f"# Suggested by `visit-monitor import --suggest-mapping` from {len(files)} file(s) in {directory.name}.",
        '# Lines starting "# ?" are guesses: check each against the extract, then delete the "# ?" to use it.',
        "# Paste into the configuration file and run `visit-monitor import DIR --check`.",
        "",
        "[import]",
    ]
    encodings = {f.encoding for f in assigned.values() if not f.source.is_workbook}
    for f in assigned.values():
        if f.note:
            line = f.note.split(" is not valid", 1)[0].split(": ", 1)[-1]
            lines.append(f'# ? encoding = "{f.encoding}"  # {f.source.label}: {line} is not {settings.encoding}')
            break
    else:
        if encodings - {settings.encoding}:
            lines.append(f"encoding = {_quote(encodings.pop())}")
    forms, examples = _date_forms(assigned, settings, config.tz)
    if forms:
        lines.append(f"# ? date_formats = [{', '.join(_quote(f) for f in forms)}]  # reads {', '.join(examples)}")
    elif settings.date_formats:
        lines.append(f"date_formats = [{', '.join(_quote(f) for f in settings.date_formats)}]")
    workbooks = {f.source.path.name for f in assigned.values() if f.source.is_workbook}
    lines += ["", "[import.files]"]
    for name, f in assigned.items():
        role = SPECS[name].role
        if f.source.path.name.lower() not in default_patterns(role):
            if role in settings.files:
                lines.append(f"{role} = [{', '.join(_quote(p) for p in settings.files[role])}]")
            elif len(workbooks) != 1 or not f.source.is_workbook:
                lines.append(f"# ? {role} = {_quote(_pattern(f.source.path.name))}  # {f.source.path.name}")
    if len(workbooks) == 1 and any(f.source.is_workbook for f in assigned.values()):
        lines.insert(lines.index("[import.files]") - 1, f"# ? workbook = {_quote(_pattern(workbooks.pop()))}")
    lines += ["", "[import.sheets]"]
    for name, f in assigned.items():
        if f.source.is_workbook:
            lines.append(f"{SPECS[name].role} = {_quote(f.source.sheet)}")
    for name, f in assigned.items():
        lines += ["", *_columns(SPECS[name], f, settings)]
    for name, f in assigned.items():
        lines += _values(SPECS[name], f, settings)
    missing = [n for n in FILE_ORDER if n not in assigned]
    if missing:
        needs = ", ".join(SPECS[missing[0]].required)
        lines += ["", f"# No file looked like {', '.join(missing)} (the first needs {needs})."]
    return "\n".join(_without_empty_tables(lines)) + "\n"


def _without_empty_tables(lines: list[str]) -> list[str]:
    """Drop a table header with nothing under it (and the blank line before it)."""
    out: list[str] = []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("[") and line != "[import]" and not following:
            if out and not out[-1]:
                out.pop()
            continue
        out.append(line)
    return out


def _resolved(spec: Spec, f: _File, settings: ImportSettings) -> dict[str, int]:
    return _resolve(spec, f.header, settings.columns.get(spec.role, {}))


def _columns(spec: Spec, f: _File, settings: ImportSettings) -> list[str]:
    lines = [f"[import.columns.{spec.role}]  # {f.source.label}"]
    tokens = [normalise_token(h) for h in f.header]
    columns = settings.columns.get(spec.role, {})
    found = _resolved(spec, f, settings)
    plain = []
    for field in spec.known:
        configured = [c for c in columns.get(field, ()) if normalise_token(c) in tokens]
        if configured:
            lines.append(f"{field} = {_quote(configured[0])}")
        elif field in found and tokens[found[field]] == field:
            plain.append(field)
        elif field in found:
            header = f.header[found[field]]
            lines.append(f"# ? {field} = {_quote(header)}  # {_header_score(header, field)[3]}")
        elif field in spec.required:
            shown = ", ".join(_quote(h) for h in f.header if normalise_token(h) not in found)[:200]
            lines.append(f'# ? {field} = ""  # required, and no header looks like it; unmatched: {shown}')
    if plain:
        lines.append(f"# found under their contract names: {', '.join(plain)}")
    return lines


def _distinct(f: _File, positions: dict[str, int]) -> dict[str, dict[str, int]]:
    """Per field, each distinct cell text and how often (at most MAX_CODES per field)."""
    seen: dict[str, dict[str, int]] = {field: {} for field in positions}
    records = f.source.open(f.encoding, f.books)
    try:
        items = iter(records)
        for _line, cells, _problem in items:  # up to the header
            if "".join(cells).strip():
                break
        for _line, cells, problem in items:
            if problem is not None:
                continue
            for field, pos in positions.items():
                if pos < len(cells):
                    value = cells[pos].strip()
                    counts = seen[field]
                    if value and (value in counts or len(counts) < MAX_CODES):
                        counts[value] = counts.get(value, 0) + 1
    finally:
        records.close()
    return seen


def _values(spec: Spec, f: _File, settings: ImportSettings) -> list[str]:
    found = _resolved(spec, f, settings)
    fields = {n: p for n, p in found.items() if n in CHOICES or n in FLAGS}
    lines: list[str] = []
    for field, codes in _distinct(f, fields).items():
        choices = CHOICES.get(field, ("true", "false"))
        configured = {k.casefold(): v for k, v in settings.values.get(field, {}).items()}
        body = []
        for code, count in sorted(codes.items(), key=lambda kv: -kv[1]):
            if normalise_token(code) in choices or (field in FLAGS and code.lower() in FLAG_SPELLINGS):
                continue
            if code.casefold() in configured:
                body.append(f"{_key(code)} = {_quote(configured[code.casefold()])}")
                continue
            guess = _code_guess(code, choices)
            why = f"guessed from {guess[1]}" if guess else f"no value fits: one of {', '.join(choices)}"
            rows = f"{count} row{'s' if count != 1 else ''}"
            body.append(f"# ? {_key(code)} = {_quote(guess[0] if guess else '')}  # {rows}; {why}")
        if body:
            lines += ["", f"[import.values.{field}]  # {f.source.label}", *body]
    return lines


def _date_forms(assigned: dict[str, _File], settings: ImportSettings, tz: ZoneInfo) -> tuple[list[str], list[str]]:
    """Forms (from DATE_FORMS) reading the dates neither the contract nor the configuration reads."""
    reader = DateReader(settings.date_formats, tz)
    unread: list[str] = []
    for name, f in assigned.items():
        spec = SPECS[name]
        positions = {n: p for n, p in _resolved(spec, f, settings).items() if n in spec.dates}
        for codes in _distinct(f, positions).values():
            for text in codes:
                try:
                    reader(text)
                except (ValueError, OverflowError):
                    unread.append(text)
                if len(unread) >= MAX_DATES:
                    break
    if not unread:
        return [], []
    forms: list[str] = []
    for form in DATE_FORMS:
        if any(_reads(form, t) for t in unread if not any(_reads(g, t) for g in forms)):
            forms.append(form)
        if all(any(_reads(g, t) for g in forms) for t in unread):
            return forms, unread[:2]
    return [], []


def _reads(form: str, text: str) -> bool:
    try:
        datetime.strptime(text.strip(), form)
    except ValueError:
        return False
    return True
