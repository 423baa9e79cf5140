"""The organisation, the indicator catalogue, the service points and the questionnaires.

All four are data files (TOML) so that another district can run the bot with its own;
this module only reads and checks them. It does no other I/O and knows nothing of chat.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from surveys.scoring import RATING_LABELS, target_year

FIELD_LABELS: dict[str, str] = {
    "dat_dai": "Đất đai",
    "xay_dung": "Xây dựng",
    "dau_tu": "Đầu tư",
    "ho_tich": "Hộ tịch",
    "chung_thuc": "Chứng thực",
    "y_te": "Y tế",
    "giao_duc": "Giáo dục",
    "khac": "Khác",
}

IndicatorKind = Literal["ratio", "percent", "count", "survey"]
# How a metric adds up over the quarters of a six-month or yearly report: a flow (records
# handled in the period) sums the quarters' numerators and denominators; a stock (the share
# of procedures offered online) is the latest quarter's value.
Aggregate = Literal["flow", "stock"]
AGGREGATES: tuple[str, ...] = ("flow", "stock")
# Kinds that must declare ``aggregate``; a percentage (one number a unit states) can only be
# a stock, so it may leave it out; a survey is pooled over every day of the window instead.
_AGGREGATE_REQUIRED = frozenset({"ratio", "count"})
QuestionKind = Literal["rating", "choice", "text"]

_UNIT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}$")
_POINT_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")
_INDICATOR_CODE = re.compile(r"^[0-9]{1,2}[a-z]?$")


class CatalogueError(ValueError):
    """A data file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    parent: str | None = None
    reports: bool = True


@dataclass(frozen=True)
class OrgWords:
    """How the bot names the organisation in its sentences, from units.toml [organisation]:
    no sentence in the code names a level or an office itself."""

    name: str  # the organisation: "UBND huyện Long Phú", "UBND xã Long Phú"
    level: str  # its level word: "huyện", "xã", "thành phố"
    whole: str  # "the whole organisation": "toàn huyện", "toàn xã", "toàn thành phố"
    office: str  # the office that collects the reports: "Phòng Nội vụ"

    def values(self) -> dict[str, str]:
        """For ``str.format``: ``{org}``, ``{level}``, ``{whole}``, ``{office}``."""
        return {"org": self.name, "level": self.level, "whole": self.whole, "office": self.office}


@dataclass(frozen=True)
class Organisation:
    kinds: dict[str, str]
    units: tuple[Unit, ...]
    # the unit reports are sent through (Phòng Nội vụ in the 2022 sample): [organisation]
    collecting_office: str | None = None
    level: str = ""  # [organisation] level: "huyện", "xã", "thành phố"
    whole: str = ""  # [organisation] whole: "toàn huyện" (default "toàn " + level)

    @property
    def words(self) -> OrgWords:
        office = self.unit(self.collecting_office) if self.collecting_office else None
        root = self.root
        return OrgWords(
            name=root.name,
            level=self.level,
            whole=self.whole or (f"toàn {self.level}" if self.level else "toàn đơn vị"),
            office=office.name if office is not None else root.name,
        )

    def unit(self, code: str) -> Unit | None:
        return self._by_code().get(code.upper())

    def reporting_units(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.reports)

    def kind_label(self, kind: str) -> str:
        return self.kinds.get(kind, kind)

    @property
    def root(self) -> Unit:
        """The organisation itself: its first unit without a parent."""
        return next((u for u in self.units if u.parent is None), self.units[0])

    def recipient(self) -> str:
        """Where reports are sent, as a reminder names it, from the data files:
        "UBND huyện Long Phú (qua Phòng Nội vụ)"."""
        office = self.unit(self.collecting_office) if self.collecting_office else None
        if office is None or office.code == self.root.code:
            return self.root.name
        return f"{self.root.name} (qua {office.name})"

    def _by_code(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units}


@dataclass(frozen=True)
class Indicator:
    code: str
    target_no: int
    name: str
    kind: IndicatorKind
    purpose: str = ""
    numerator_label: str = ""
    denominator_label: str = ""
    unit_kinds: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    direction: Literal["min", "max"] = "min"
    targets: dict[int, float] = field(default_factory=dict)
    fields_by_year: dict[int, tuple[str, ...]] = field(default_factory=dict)
    part_of: str | None = None
    aggregate: Aggregate = "stock"  # over quarters: "flow" sums, "stock" takes the latest
    # Targets the plan does not state itself, by year: "duy_tri" (the 2025 level kept to
    # 2030, "tiếp tục duy trì") or "lo_trinh" (a step of a yearly trajectory, 4a/4b).
    derived: dict[int, str] = field(default_factory=dict)
    # The period a figure is compared with (8b: "so với giai đoạn 2021 - 2025"): not judged
    # until that period is over and has data.
    baseline: tuple[int, int] | None = None
    # Parts of a target that are no number (10, 13), by year, listed as such.
    qualitative: dict[int, str] = field(default_factory=dict)

    def target_source(self, year: int) -> str:
        """"plan", "duy_tri" or "lo_trinh" for the target in force in ``year``."""
        chosen = target_year(self.targets, year)
        return "plan" if chosen is None else self.derived.get(chosen, "plan")

    def judged_in(self, year: int) -> bool:
        """False while the baseline period the figure is compared with is not over."""
        return self.baseline is None or year > self.baseline[1]

    def qualitative_for(self, year: int) -> str:
        chosen = target_year(self.qualitative, year)
        return "" if chosen is None else self.qualitative[chosen]

    def applies_to(self, unit: Unit) -> bool:
        """Named units and units of the named kinds report it (the two lists add up)."""
        if self.kind == "survey":
            return False
        return unit.code in self.units or unit.kind in self.unit_kinds


@dataclass(frozen=True)
class IndicatorCatalogue:
    indicators: tuple[Indicator, ...]

    def get(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code.lower()), None)

    def due_from(self, unit: Unit, only: Iterable[str] | None = None) -> tuple[Indicator, ...]:
        """What a unit reports: by its kind (or named units), optionally narrowed by a round."""
        wanted = set(only) if only is not None else None
        return tuple(
            i
            for i in self.indicators
            if i.applies_to(unit) and (wanted is None or i.code in wanted)
        )

    def survey_targets(self) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.kind == "survey")


@dataclass(frozen=True)
class Wording:
    """One sentence of a data file in each language it is given in (Vietnamese always).

    In TOML either a plain string (Vietnamese only) or a table by language code:
    ``text = { vi = "…", km = "…", en = "…" }``.
    """

    by_language: Mapping[str, str]

    @classmethod
    def vietnamese(cls, text: str) -> Wording:
        return cls({"vi": text})

    @property
    def vi(self) -> str:
        return self.by_language["vi"]

    def __call__(self, language: str) -> str:
        """The sentence in ``language``, or in Vietnamese where it is not given."""
        return self.by_language.get(language) or self.by_language["vi"]

    def __str__(self) -> str:
        return self.vi


@dataclass(frozen=True)
class ServicePoint:
    code: str
    name: str
    kind: str
    questionnaire: str
    unit: str | None = None
    field: str | None = None
    names: Wording | None = None  # the name for citizens, where translated
    kiosk: str | None = None  # the counter tablet's short questionnaire (``kiosk`` key)

    def name_in(self, language: str) -> str:
        return self.names(language) if self.names is not None else self.name


@dataclass(frozen=True)
class Option:
    value: str
    label: Wording


@dataclass(frozen=True)
class Condition:
    """Ask a question only when an earlier choice was answered so (``only_if`` in TOML):
    SIPAS asks about the handling of feedback only of people who gave some."""

    question: str  # the id of an earlier choice question
    answer: str  # the option value that opens this question


@dataclass(frozen=True)
class Question:
    id: str
    kind: QuestionKind
    text: Wording
    options: tuple[Option, ...] = ()
    feeds: tuple[str, ...] = ()
    sets_field: bool = False
    optional: bool = False
    only_if: Condition | None = None

    def asked_given(self, answers: Mapping[str, Any]) -> bool | None:
        """Whether the question is asked given ``answers`` so far; None while the choice it
        depends on is not answered yet."""
        if self.only_if is None:
            return True
        if self.only_if.question not in answers:
            return None
        return str(answers[self.only_if.question]) == self.only_if.answer


@dataclass(frozen=True)
class Questionnaire:
    code: str
    title: Wording
    intro: Wording | None
    thanks: Wording | None
    questions: tuple[Question, ...]
    languages: tuple[str, ...] = ("vi",)  # every wording is given in each of these

    def questions_for(self, point: ServicePoint) -> tuple[Question, ...]:
        """The questions a citizen at this point is asked (the field question drops when fixed)."""
        return tuple(q for q in self.questions if not (q.sets_field and point.field))


@dataclass(frozen=True)
class Catalogue:
    """Everything the bot knows from data files, loaded once at start-up."""

    org: Organisation
    indicators: IndicatorCatalogue
    points: tuple[ServicePoint, ...]
    questionnaires: dict[str, Questionnaire]

    def point(self, code: str) -> ServicePoint | None:
        """The service point with this code (any case), looked up on every survey request."""
        return self._points_by_code.get(code.lower())

    @cached_property
    def _points_by_code(self) -> dict[str, ServicePoint]:
        return {p.code: p for p in self.points}


# --------------------------------------------------------------------------- loading


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise CatalogueError(f"{path}: không tìm thấy tệp") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path}: TOML sai cú pháp: {exc}") from exc


def _str(entry: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = entry.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise CatalogueError(f"{where}: khóa '{key}' phải là chuỗi không rỗng")
    return value.strip()


def _known_keys(entry: Any, allowed: frozenset[str], where: str) -> Mapping[str, Any]:
    """The entry as a table whose every key is one the format knows: a misspelt key would
    otherwise be silently ignored (and, say, empty 14a)."""
    if not isinstance(entry, Mapping):
        raise CatalogueError(f"{where}: phải là một bảng khóa = giá trị")
    for key in entry:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise CatalogueError(
                f"{where}: khóa '{key}' không có trong định dạng (các khóa: {known})"
            )
    return entry


_UNITS_FILE_KEYS = frozenset({"organisation", "kinds", "unit"})
_ORGANISATION_KEYS = frozenset({"collecting_office", "level", "whole"})
_UNIT_KEYS = frozenset({"code", "name", "kind", "parent", "reports"})
_INDICATORS_FILE_KEYS = frozenset({"indicator"})
_INDICATOR_KEYS = frozenset(
    {
        "code", "target_no", "name", "purpose", "kind", "numerator_label",
        "denominator_label", "unit_kinds", "units", "direction", "targets", "fields", "part_of",
        "aggregate", "derived", "baseline", "qualitative",
    }
)  # fmt: skip
_POINTS_FILE_KEYS = frozenset({"kinds", "point"})
_POINT_KEYS = frozenset({"code", "name", "kind", "questionnaire", "unit", "field", "kiosk"})
_QUESTIONNAIRE_KEYS = frozenset({"code", "title", "intro", "thanks", "languages", "question"})
_QUESTION_KEYS = frozenset(
    {"id", "kind", "text", "options", "feeds", "sets_field", "optional", "only_if"}
)
_CONDITION_KEYS = frozenset({"question", "answer"})
# SIPAS's five elements, the field, the "did you give feedback?" choice and a comment: a
# citizen answers at most eight short questions (seven when the point fixes the field).
MAX_QUESTIONS = 8
_OPTION_KEYS = frozenset({"value", "label"})
# Kinds of indicator whose targets are percentages (0–100); a count's target is a number.
_PERCENT_KINDS = frozenset({"ratio", "percent", "survey"})


def _year_table(raw: Any, where: str) -> dict[int, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where}: phải là bảng năm = giá trị")
    out: dict[int, Any] = {}
    for key, value in raw.items():
        if not (str(key).isascii() and str(key).isdigit()):
            raise CatalogueError(f"{where}: năm '{key}' không hợp lệ")
        out[int(key)] = value
    return dict(sorted(out.items()))


def load_organisation(path: Path) -> Organisation:
    data = _known_keys(_read(path), _UNITS_FILE_KEYS, str(path))
    kinds = data.get("kinds", {})
    if not isinstance(kinds, dict) or not kinds:
        raise CatalogueError(f"{path}: thiếu bảng [kinds]")
    units: list[Unit] = []
    seen: set[str] = set()
    for n, entry in enumerate(data.get("unit", []), start=1):
        where = f"{path}: [[unit]] thứ {n}"
        entry = _known_keys(entry, _UNIT_KEYS, where)
        code = _str(entry, "code", where).upper()
        if not _UNIT_CODE.match(code):
            raise CatalogueError(f"{where}: mã '{code}' chỉ gồm A-Z, 0-9, '-' (tối đa 16 ký tự)")
        if code in seen:
            raise CatalogueError(f"{where}: mã '{code}' bị trùng")
        kind = _str(entry, "kind", where)
        if kind not in kinds:
            raise CatalogueError(f"{where}: khóa 'kind': loại '{kind}' không có trong [kinds]")
        parent = entry.get("parent")
        if parent is not None and str(parent).upper() not in seen:
            raise CatalogueError(
                f"{where}: khóa 'parent': đơn vị cha '{parent}' phải được khai báo trước"
            )
        seen.add(code)
        units.append(
            Unit(
                code=code,
                name=_str(entry, "name", where),
                kind=kind,
                parent=str(parent).upper() if parent is not None else None,
                reports=bool(entry.get("reports", True)),
            )
        )
    if not units:
        raise CatalogueError(f"{path}: không có đơn vị nào ([[unit]])")
    where = f"{path}: [organisation]"
    about = _known_keys(data.get("organisation", {}), _ORGANISATION_KEYS, where)
    office = about.get("collecting_office")
    if office is not None and str(office).upper() not in seen:
        raise CatalogueError(
            f"{where}: khóa 'collecting_office': đơn vị '{office}' không có trong tổ chức"
        )
    words = {key: _str(about, key, where, required=False) for key in ("level", "whole")}
    return Organisation(
        kinds={str(k): str(v) for k, v in kinds.items()},
        units=tuple(units),
        collecting_office=str(office).upper() if office is not None else None,
        level=words["level"],
        whole=words["whole"],
    )


def load_indicators(path: Path, org: Organisation) -> IndicatorCatalogue:
    data = _known_keys(_read(path), _INDICATORS_FILE_KEYS, str(path))
    indicators: list[Indicator] = []
    for n, entry in enumerate(data.get("indicator", []), start=1):
        where = f"{path}: [[indicator]] thứ {n}"
        entry = _known_keys(entry, _INDICATOR_KEYS, where)
        code = _str(entry, "code", where).lower()
        where = f"{path}: [[indicator]] thứ {n} (mã {code})"
        if not _INDICATOR_CODE.match(code):
            raise CatalogueError(f"{where}: mã chỉ tiêu '{code}' không hợp lệ")
        kind = _str(entry, "kind", where)
        if kind not in ("ratio", "percent", "count", "survey"):
            raise CatalogueError(f"{where}: kind phải là ratio, percent, count hoặc survey")
        indicator_kind: IndicatorKind = kind  # type: ignore[assignment]
        unit_kinds = tuple(entry.get("unit_kinds", ()))
        for k in unit_kinds:
            if k not in org.kinds:
                raise CatalogueError(
                    f"{where}: khóa 'unit_kinds': loại đơn vị '{k}' không có trong tổ chức"
                )
        units = tuple(str(u).upper() for u in entry.get("units", ()))
        for u in units:
            if org.unit(u) is None:
                raise CatalogueError(f"{where}: khóa 'units': đơn vị '{u}' không có trong tổ chức")
        direction = entry.get("direction", "min")
        if direction not in ("min", "max"):
            raise CatalogueError(f"{where}: direction phải là min hoặc max")
        targets = _targets(entry.get("targets"), kind, f"{where}: khóa 'targets'")
        fields = {
            y: _fields(v, f"{where}: khóa 'fields' năm {y}")
            for y, v in _year_table(entry.get("fields"), f"{where}: khóa 'fields'").items()
        }
        target_no = entry.get("target_no", 0)
        if not isinstance(target_no, int) or isinstance(target_no, bool) or target_no < 0:
            raise CatalogueError(f"{where}: khóa 'target_no' phải là số nguyên (số chỉ tiêu)")
        part_of = entry.get("part_of")
        if part_of is not None and not isinstance(part_of, str):
            raise CatalogueError(f"{where}: khóa 'part_of' phải là mã một chỉ tiêu")
        aggregate = _aggregate(entry, kind, where)
        indicator = Indicator(
            code=code,
            target_no=target_no,
            name=_str(entry, "name", where),
            kind=indicator_kind,
            purpose=_str(entry, "purpose", where, required=False),
            numerator_label=_str(entry, "numerator_label", where, required=kind == "ratio"),
            denominator_label=_str(entry, "denominator_label", where, required=kind == "ratio"),
            unit_kinds=unit_kinds,
            units=units,
            direction=direction,
            targets=targets,
            fields_by_year=fields,
            part_of=part_of.strip().lower() if part_of is not None else None,
            aggregate=aggregate,
            derived=_derived(entry.get("derived"), targets, f"{where}: khóa 'derived'"),
            baseline=_baseline(entry.get("baseline"), f"{where}: khóa 'baseline'"),
            qualitative=_qualitative(entry.get("qualitative"), f"{where}: khóa 'qualitative'"),
        )
        indicators.append(indicator)
    codes = [i.code for i in indicators]
    if len(set(codes)) != len(codes):
        raise CatalogueError(f"{path}: mã chỉ tiêu bị trùng")
    by_code = {i.code: i for i in indicators}
    for n, indicator in enumerate(indicators, start=1):
        if indicator.part_of is None:
            continue
        whole = by_code.get(indicator.part_of)
        if whole is None or whole is indicator or whole.kind != indicator.kind:
            raise CatalogueError(
                f"{path}: [[indicator]] thứ {n} (mã {indicator.code}): khóa 'part_of': "
                f"'{indicator.part_of}' phải là mã một chỉ tiêu khác cùng loại {indicator.kind}"
            )
    return IndicatorCatalogue(tuple(indicators))


def _aggregate(entry: Mapping[str, Any], kind: str, where: str) -> Aggregate:
    """``aggregate``: required of ratios and counts; a percentage is a stock; a survey has none."""
    raw = entry.get("aggregate")
    if kind == "survey":
        if raw is not None:
            raise CatalogueError(
                f"{where}: khóa 'aggregate': chỉ tiêu khảo sát được cộng theo ngày của cả kỳ, "
                "không khai báo"
            )
        return "stock"
    if raw is None:
        if kind in _AGGREGATE_REQUIRED:
            raise CatalogueError(
                f"{where}: thiếu khóa 'aggregate' (\"flow\": cộng tử số, mẫu số các quý; "
                '"stock": lấy số liệu quý gần nhất)'
            )
        return "stock"
    if raw not in AGGREGATES or (kind == "percent" and raw != "stock"):
        allowed = '"stock"' if kind == "percent" else '"flow" hoặc "stock"'
        raise CatalogueError(f"{where}: khóa 'aggregate': '{raw}' phải là {allowed}")
    return "flow" if raw == "flow" else "stock"


DERIVATIONS: dict[str, str] = {
    "duy_tri": "duy trì mức năm trước đến 2030",
    "lo_trinh": "bước của lộ trình tăng hằng năm",
}


def _derived(raw: Any, targets: Mapping[int, float], where: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for year, how in _year_table(raw, where).items():
        if year not in targets:
            raise CatalogueError(f"{where}: năm {year} không có trong 'targets'")
        if how not in DERIVATIONS:
            raise CatalogueError(
                f"{where}: năm {year}: '{how}' phải là {' hoặc '.join(DERIVATIONS)}"
            )
        out[year] = str(how)
    return out


def _baseline(raw: Any, where: str) -> tuple[int, int] | None:
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or not all(isinstance(y, int) and not isinstance(y, bool) for y in raw)
        or raw[0] > raw[1]
    ):
        raise CatalogueError(f"{where}: phải là [năm đầu, năm cuối], ví dụ [2021, 2025]")
    return int(raw[0]), int(raw[1])


def _qualitative(raw: Any, where: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for year, text in _year_table(raw, where).items():
        if not isinstance(text, str) or not text.strip():
            raise CatalogueError(f"{where}: năm {year}: phải là một câu không rỗng")
        out[year] = " ".join(text.split())
    return out


def _targets(raw: Any, kind: str, where: str) -> dict[int, float]:
    """Targets by year; a percentage's within 0–100, a count's not negative."""
    targets: dict[int, float] = {}
    for year, value in _year_table(raw, where).items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise CatalogueError(f"{where}: năm {year}: chỉ tiêu phải là một số")
        if kind in _PERCENT_KINDS and not 0 <= value <= 100:
            raise CatalogueError(f"{where}: năm {year}: chỉ tiêu {value} phải trong 0–100 (%)")
        if value < 0:
            raise CatalogueError(f"{where}: năm {year}: chỉ tiêu {value} không được âm")
        targets[year] = float(value)
    return targets


def _fields(raw: Any, where: str) -> tuple[str, ...]:
    """Field codes (lĩnh vực), each one of ``FIELD_LABELS``."""
    if not isinstance(raw, list) or not raw:
        raise CatalogueError(f'{where}: phải là danh sách mã lĩnh vực, ví dụ ["dat_dai"]')
    for code in raw:
        if code not in FIELD_LABELS:
            known = ", ".join(FIELD_LABELS)
            raise CatalogueError(f"{where}: lĩnh vực '{code}' không có (các mã: {known})")
    return tuple(str(c) for c in raw)


_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def _languages(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    raw = data.get("languages", ["vi"])
    if (
        not isinstance(raw, list)
        or not all(isinstance(x, str) and _LANGUAGE_CODE.match(x) for x in raw)
        or "vi" not in raw
        or len(set(raw)) != len(raw)
    ):
        raise CatalogueError(
            f"{where}: 'languages' phải là danh sách mã ngôn ngữ có 'vi', ví dụ [\"vi\", \"km\"]"
        )
    return tuple(raw)


def _wording(
    entry: Mapping[str, Any],
    key: str,
    where: str,
    languages: tuple[str, ...],
    *,
    required: bool = True,
) -> Wording | None:
    """A text in every language of ``languages`` (a plain string when that is just "vi")."""
    value = entry.get(key)
    if value is None and not required:
        return None
    if isinstance(value, str):
        value = {"vi": value}
    if not isinstance(value, Mapping) or not all(
        isinstance(v, str) and v.strip() for v in value.values()
    ):
        raise CatalogueError(f"{where}: khóa '{key}' phải là chuỗi không rỗng")
    missing = [lang for lang in dict.fromkeys(("vi", *languages)) if lang not in value]
    if missing:
        raise CatalogueError(f"{where}: khóa '{key}' thiếu bản dịch: {', '.join(missing)}")
    extra = [lang for lang in value if lang not in ("vi", *languages)]
    if extra:
        raise CatalogueError(
            f"{where}: khóa '{key}' có ngôn ngữ không khai báo trong 'languages': "
            + ", ".join(extra)
        )
    return Wording({lang: str(text).strip() for lang, text in value.items()})


def _required_wording(
    entry: Mapping[str, Any], key: str, where: str, languages: tuple[str, ...]
) -> Wording:
    wording = _wording(entry, key, where, languages)
    assert wording is not None  # required: _wording raised otherwise
    return wording


def load_questionnaire(path: Path) -> Questionnaire:
    where = str(path)
    data = _known_keys(_read(path), _QUESTIONNAIRE_KEYS, where)
    languages = _languages(data, where)
    questions: list[Question] = []
    for n, entry in enumerate(data.get("question", []), start=1):
        qwhere = f"{path}: [[question]] thứ {n}"
        entry = _known_keys(entry, _QUESTION_KEYS, qwhere)
        kind = _str(entry, "kind", qwhere)
        if kind not in ("rating", "choice", "text"):
            raise CatalogueError(f"{qwhere}: kind phải là rating, choice hoặc text")
        question_kind: QuestionKind = kind  # type: ignore[assignment]
        if kind == "rating":
            # The scale's labels are the bot's own, translated in its catalogue.
            options = tuple(
                Option(str(v), Wording.vietnamese(label)) for v, label in RATING_LABELS.items()
            )
        else:
            owhere = f"{qwhere}: khóa 'options'"
            options = tuple(
                Option(_str(o, "value", owhere), _required_wording(o, "label", owhere, languages))
                for o in (_known_keys(o, _OPTION_KEYS, owhere) for o in entry.get("options", ()))
            )
            if len({o.value for o in options}) != len(options):
                raise CatalogueError(f"{owhere}: giá trị phương án bị trùng")
            if entry.get("sets_field"):
                _fields([o.value for o in options], owhere)
        feeds = entry.get("feeds", ())
        if not isinstance(feeds, list | tuple) or not all(isinstance(f, str) for f in feeds):
            raise CatalogueError(f"{qwhere}: khóa 'feeds' phải là danh sách mã chỉ tiêu")
        if kind == "choice" and len(options) < 2:
            raise CatalogueError(f"{qwhere}: câu hỏi lựa chọn cần ít nhất 2 phương án")
        questions.append(
            Question(
                id=_str(entry, "id", qwhere),
                kind=question_kind,
                text=_required_wording(entry, "text", qwhere, languages),
                options=options,
                feeds=tuple(f.strip().lower() for f in feeds),
                sets_field=bool(entry.get("sets_field", False)),
                optional=bool(entry.get("optional", False)),
                only_if=_condition(entry.get("only_if"), questions, f"{qwhere}: khóa 'only_if'"),
            )
        )
    if not questions:
        raise CatalogueError(f"{where}: không có câu hỏi nào")
    if len(questions) > MAX_QUESTIONS:
        raise CatalogueError(
            f"{where}: tối đa {MAX_QUESTIONS} câu hỏi (người dân trả lời khoảng 1 phút)"
        )
    if len({q.id for q in questions}) != len(questions):
        raise CatalogueError(f"{where}: id câu hỏi bị trùng")
    return Questionnaire(
        code=_str(data, "code", where),
        title=_required_wording(data, "title", where, languages),
        intro=_wording(data, "intro", where, languages, required=False),
        thanks=_wording(data, "thanks", where, languages, required=False),
        questions=tuple(questions),
        languages=languages,
    )


def _condition(raw: Any, earlier: list[Question], where: str) -> Condition | None:
    """``only_if = { question = "co_phan_anh", answer = "co" }``: an earlier choice and one
    of its option values."""
    if raw is None:
        return None
    entry = _known_keys(raw, _CONDITION_KEYS, where)
    question, answer = _str(entry, "question", where), _str(entry, "answer", where)
    found = next((q for q in earlier if q.id == question), None)
    if found is None or found.kind != "choice":
        raise CatalogueError(f"{where}: '{question}' phải là id một câu lựa chọn ở phía trên")
    if answer not in {o.value for o in found.options}:
        raise CatalogueError(f"{where}: '{answer}' không phải phương án của câu '{question}'")
    return Condition(question, answer)


def load_points(
    path: Path, org: Organisation, questionnaires: Mapping[str, Questionnaire]
) -> tuple[ServicePoint, ...]:
    data = _known_keys(_read(path), _POINTS_FILE_KEYS, str(path))
    kinds = data.get("kinds")
    if not isinstance(kinds, Mapping) or not kinds:
        raise CatalogueError(f"{path}: thiếu bảng [kinds] (các loại điểm khảo sát)")
    points: list[ServicePoint] = []
    for n, entry in enumerate(data.get("point", []), start=1):
        where = f"{path}: [[point]] thứ {n}"
        entry = _known_keys(entry, _POINT_KEYS, where)
        code = _str(entry, "code", where).lower()
        if not _POINT_CODE.match(code):
            raise CatalogueError(f"{where}: mã điểm '{code}' chỉ gồm a-z, 0-9, '-' (tối đa 24)")
        where = f"{path}: [[point]] thứ {n} (mã {code})"
        kind = _str(entry, "kind", where)
        if kind not in kinds:
            raise CatalogueError(f"{where}: khóa 'kind': loại '{kind}' không có trong [kinds]")
        questionnaire = _str(entry, "questionnaire", where)
        if questionnaire not in questionnaires:
            raise CatalogueError(
                f"{where}: khóa 'questionnaire': không có bộ câu hỏi '{questionnaire}'"
            )
        kiosk = entry.get("kiosk")
        if kiosk is not None and kiosk not in questionnaires:
            raise CatalogueError(f"{where}: khóa 'kiosk': không có bộ câu hỏi '{kiosk}'")
        rated = kiosk is not None and any(
            q.kind == "rating" for q in questionnaires[kiosk].questions
        )
        if kiosk is not None and not rated:
            raise CatalogueError(
                f"{where}: khóa 'kiosk': bộ câu hỏi '{kiosk}' không có câu đánh giá (rating)"
            )
        unit = entry.get("unit")
        if unit is not None and org.unit(str(unit)) is None:
            raise CatalogueError(f"{where}: khóa 'unit': đơn vị '{unit}' không có trong tổ chức")
        fixed = entry.get("field")
        if fixed is not None:
            _fields([fixed], f"{where}: khóa 'field'")
        # A name given in one string is a proper name, the same for everyone; a table of
        # languages gives it in each language of the point's questionnaire.
        names = _required_wording(
            entry,
            "name",
            where,
            questionnaires[questionnaire].languages if isinstance(entry.get("name"), dict) else (),
        )
        points.append(
            ServicePoint(
                code=code,
                name=names.vi,
                names=names if len(names.by_language) > 1 else None,
                kind=kind,
                questionnaire=questionnaire,
                unit=str(unit).upper() if unit is not None else None,
                field=fixed,
                kiosk=str(kiosk) if kiosk is not None else None,
            )
        )
    if len({p.code for p in points}) != len(points):
        raise CatalogueError(f"{path}: mã điểm khảo sát bị trùng")
    return tuple(points)


def load_catalogue(
    units: Path, indicators: Path, points: Path, questionnaires_dir: Path
) -> Catalogue:
    org = load_organisation(units)
    catalogue = load_indicators(indicators, org)
    files = {path: load_questionnaire(path) for path in sorted(questionnaires_dir.glob("*.toml"))}
    questionnaires = {q.code: q for q in files.values()}
    # A rating feeds a survey target itself (14, 15, 16); a part (14a) is its whole
    # restricted by field, so nothing feeds it directly.
    surveyed = {i.code for i in catalogue.survey_targets() if i.part_of is None}
    for path, questionnaire in files.items():
        for question in questionnaire.questions:
            for target in question.feeds:
                if target not in surveyed:
                    raise CatalogueError(
                        f"{path}: [[question]] id {question.id}: khóa 'feeds': '{target}' "
                        f"không phải chỉ tiêu khảo sát (các mã: {', '.join(sorted(surveyed))})"
                    )
    return Catalogue(
        org=org,
        indicators=catalogue,
        points=load_points(points, org, questionnaires),
        questionnaires=questionnaires,
    )
