"""Every coded value FireReach writes, with its Chinese and English label and legend colour.

One source of truth for the words in the layers' coded columns (``status``, ``high_rise_class``,
``kind`` ...), the summary's counts, the reports, the folium map and the web page (served as
``/web/vocabulary.json``). The modules that produce or read a coded value import its codes from
here; the report and map writers take their labels and colours from here.

Where older label tables disagreed, the words of the standards and of the field's own ledgers
win: ``out_of_service`` is 停用 (the 在用/停用 of agency hydrant tables, not 停用/损坏),
``unknown`` hydrant status is 状态不明 (the reports' word, not a bare 未知), and the high-rise
classes are GB 50016 5.1.1's 一类/二类高层.

``high_rise_class`` has two meanings that used to share one name:

- :data:`BUILDING_CLASSES`: every value the buildings' ``high_rise_class`` column takes
  (``not_high_rise``, ``class2``, ``class1``, ``unknown``);
- :data:`HIGH_RISE_CLASSES`: the classes that are high-rises (``class1``, ``class2``), the ones
  the high-rise rules apply to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from geo.catalog import catalog_document

__all__ = [
    "BLOCKAGE_EFFECTS",
    "BLOCKAGE_KINDS",
    "BUILDING_CLASSES",
    "BUILDING_USES",
    "CONFIDENCES",
    "DEAD_END_VERDICTS",
    "DISTRICT_GRADES",
    "FEATURE_SOURCES",
    "HIGH_RISE_CLASSES",
    "HYDRANT_KINDS",
    "HYDRANT_STATUSES",
    "LANE_LAYOUTS",
    "LEDGER_OPEN_STATUSES",
    "LEDGER_STATUSES",
    "NOT_COMPUTED",
    "OBSERVED_HYDRANT_STATUSES",
    "QUALITY_LEVELS",
    "QUALITY_SEVERITIES",
    "ROAD_SIDES",
    "SEVERITIES",
    "STATUS_SOURCES",
    "VOCABULARIES",
    "WIDTH_BASES",
    "WIDTH_SOURCES",
    "Term",
    "Vocabulary",
    "vocabulary_document",
]

Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class Term:
    """One coded value: the code written in the data, its labels and its legend colour."""

    code: str
    zh: str
    en: str
    colour: str | None = None

    def label(self, lang: Lang = "zh") -> str:
        """The label in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Vocabulary:
    """The coded values of one concept (a column or a summary group), in their display order.

    Attributes
    ----------
    name
        The concept's key in :data:`VOCABULARIES` and in ``/web/vocabulary.json``.
    columns
        Layer columns that hold these codes (the web page labels their popup values).
    terms
        The values, in display (legend) order.
    """

    name: str
    columns: tuple[str, ...]
    terms: tuple[Term, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes in display order."""
        return tuple(t.code for t in self.terms)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def term(self, code: str) -> Term:
        """The term for ``code``; ``KeyError`` naming the known codes when it is not one."""
        for t in self.terms:
            if t.code == code:
                return t
        raise KeyError(f"{code!r} is not a {self.name} code; known: {', '.join(self.codes)}")

    def label(self, code: str, lang: Lang = "zh") -> str:
        """The label of ``code`` in ``lang``."""
        return self.term(code).label(lang)

    def colour(self, code: str) -> str | None:
        """The legend colour of ``code`` (None where the map uses none)."""
        return self.term(code).colour


HYDRANT_STATUS = Vocabulary("hydrant_status", ("status",), (
    Term("in_service", "在用", "in service", "#1565c0"),
    Term("out_of_service", "停用", "out of service", "#212121"),
    Term("low_pressure", "水压不足", "low pressure", "#ffa000"),
    Term("unknown", "状态不明", "status unknown", "#616161"),
))
#: Hydrant statuses a hydrant layer holds (``hydrants.status``).
HYDRANT_STATUSES: tuple[str, ...] = HYDRANT_STATUS.codes
#: Statuses an inspection or sensor can report (the store's observations): never ``unknown``.
OBSERVED_HYDRANT_STATUSES: tuple[str, ...] = ("in_service", "out_of_service", "low_pressure")

STATUS_SOURCE = Vocabulary("status_source", ("status_source",), (
    Term("tag", "OSM 标注", "OSM tag"),
    Term("agency", "单位台账", "agency file"),
    Term("inspection", "巡检", "inspection"),
    Term("assumed", "推定", "assumed"),
))
STATUS_SOURCES: tuple[str, ...] = STATUS_SOURCE.codes

FEATURE_SOURCE = Vocabulary("feature_source", ("source",), (
    Term("osm", "OSM", "OSM"),
    Term("agency", "单位台账", "agency file"),
))
#: Where a hydrant or station came from.
FEATURE_SOURCES: tuple[str, ...] = FEATURE_SOURCE.codes

HYDRANT_KIND = Vocabulary("hydrant_kind", ("kind",), (
    Term("pillar", "地上式", "pillar"),
    Term("underground", "地下式", "underground"),
    Term("wall", "墙壁式", "wall"),
    Term("pipe", "管道式", "pipe"),
    Term("unknown", "未知", "unknown"),
))
HYDRANT_KINDS: tuple[str, ...] = HYDRANT_KIND.codes

BUILDING_CLASS = Vocabulary("building_class", ("high_rise_class",), (
    Term("not_high_rise", "非高层", "not high-rise"),
    Term("class2", "二类高层", "class 2 high-rise", "#9575cd"),
    Term("class1", "一类高层", "class 1 high-rise", "#4527a0"),
    Term("unknown", "高度不明", "height unknown"),
))
#: Every value of the buildings' ``high_rise_class`` column (GB 50016 5.1.1).
BUILDING_CLASSES: tuple[str, ...] = BUILDING_CLASS.codes
#: The classes that are high-rises, most demanding first: the high-rise rules apply to these.
HIGH_RISE_CLASSES: tuple[str, ...] = ("class1", "class2")

BUILDING_USE = Vocabulary("building_use", ("use",), (
    Term("residential", "住宅", "residential"),
    Term("public", "公共建筑", "public"),
    Term("industrial", "工业", "industrial"),
    Term("unknown", "未知", "unknown"),
))
BUILDING_USES: tuple[str, ...] = BUILDING_USE.codes

WIDTH_SOURCE = Vocabulary("width_source", ("width_source",), (
    Term("width", "标注路宽", "width tag"),
    Term("maxwidth", "标注限宽", "maxwidth tag"),
    Term("estimated", "按道路等级估算", "estimated from class"),
))
WIDTH_SOURCES: tuple[str, ...] = WIDTH_SOURCE.codes

SEVERITY = Vocabulary("severity", ("severity",), (
    Term("shall", "应（强制）", "shall"),
    Term("should", "宜（推荐）", "should"),
))
#: Finding severities: 应/不应 (shall, a violation) and 宜/不宜 (should, a warning).
SEVERITIES: tuple[str, ...] = SEVERITY.codes

CONFIDENCE = Vocabulary("confidence", ("confidence",), (
    Term("verified", "已核实", "verified"),
    Term("secondary", "二手来源", "secondary"),
    Term("unverified", "未核实", "unverified"),
))
CONFIDENCES: tuple[str, ...] = CONFIDENCE.codes

LEDGER_STATUS = Vocabulary("ledger_status", ("status",), (
    Term("reported", "已上报", "reported", "#ff6f00"),
    Term("assigned", "已派单", "assigned", "#ff6f00"),
    Term("rectified", "已整改", "rectified", "#bdbdbd"),
    Term("verified", "已复核", "verified", "#bdbdbd"),
    Term("closed", "已销号", "closed", "#bdbdbd"),
    Term("rejected", "驳回", "rejected", "#bdbdbd"),
    Term("duplicate", "重复", "duplicate", "#bdbdbd"),
))
#: Blockage ledger statuses: report → assign → rectify → verify → close, or reject / duplicate.
LEDGER_STATUSES: tuple[str, ...] = LEDGER_STATUS.codes
#: Statuses of a blockage still on the road (not yet rectified).
LEDGER_OPEN_STATUSES: tuple[str, ...] = ("reported", "assigned")

BLOCKAGE_KIND = Vocabulary("blockage_kind", ("kind",), (
    Term("parked_vehicle", "占道停车", "parked vehicle"),
    Term("gate", "门/道闸/栏杆", "gate / barrier"),
    Term("structure", "违章搭建", "illegal structure"),
    Term("goods", "堆物", "piled goods"),
    Term("stall", "摊位", "stall"),
    Term("other", "其他", "other"),
))
BLOCKAGE_KINDS: tuple[str, ...] = BLOCKAGE_KIND.codes

BLOCKAGE_EFFECT = Vocabulary("blockage_effect", ("effect",), (
    Term("full", "完全阻断", "blocks the lane"),
    Term("narrowed", "变窄（可通行）", "narrowed (passable)"),
    Term("none", "不计（已整改等）", "not counted (rectified etc.)"),
    Term("rejected", "未匹配道路", "not matched to a road"),
))
BLOCKAGE_EFFECTS: tuple[str, ...] = BLOCKAGE_EFFECT.codes

WIDTH_BASIS = Vocabulary("width_basis", ("width_basis",), (
    Term("measured", "实测", "measured"),
    Term("estimated", "估算", "estimated"),
    Term("full_block", "完全占用", "fully blocked"),
    Term("unknown", "未知", "unknown"),
))
WIDTH_BASES: tuple[str, ...] = WIDTH_BASIS.codes

LANE_LAYOUT = Vocabulary("lane_layout", ("layout",), (
    Term("ring", "环形", "ring"),
    Term("two_long_sides", "两条长边", "two long sides"),
    Term("one_long_side", "一条长边", "one long side"),
    Term("quarter_perimeter", "四分之一周长", "quarter of the perimeter"),
    Term("insufficient", "不足", "insufficient"),
))
#: High-rise lane layout verdicts, best first (GB 55037 3.4.3, GB 50016 7.2.1).
LANE_LAYOUTS: tuple[str, ...] = LANE_LAYOUT.codes

DEAD_END_VERDICT = Vocabulary("dead_end_verdict", ("verdict",), (
    Term("short", "长度未超限", "within the length limit"),
    Term("turnaround", "有回车场", "has a turnaround"),
    Term("no_turnaround", "超长且无回车场（服务高层）", "too long, no turnaround (serves a high-rise)"),
    Term("no_turnaround_other", "超长且无回车场", "too long, no turnaround"),
))
DEAD_END_VERDICTS: tuple[str, ...] = DEAD_END_VERDICT.codes

ROAD_SIDE = Vocabulary("road_side", ("side",), (
    Term("left", "左侧", "left"),
    Term("right", "右侧", "right"),
))
ROAD_SIDES: tuple[str, ...] = ROAD_SIDE.codes

DISTRICT_GRADE = Vocabulary("district_grade", ("grade",), (
    Term("severe", "严重", "severe", "#d7301f"),
    Term("significant", "较重", "significant", "#f28e2b"),
    Term("general", "一般", "general", "#8cbf5f"),
))
#: Water-shortage grades of a district (一般 / 较重 / 严重), worst first.
DISTRICT_GRADES: tuple[str, ...] = DISTRICT_GRADE.codes

QUALITY_LEVEL = Vocabulary("quality_level", ("level",), (
    Term("complete", "完整", "complete"),
    Term("partial", "部分", "partial"),
    Term("assumed", "假定", "assumed"),
    Term("missing", "缺失", "missing"),
))
QUALITY_LEVELS: tuple[str, ...] = QUALITY_LEVEL.codes

QUALITY_SEVERITY = Vocabulary("quality_severity", ("severity",), (
    Term("error", "严重警示", "error"),
    Term("warning", "警示", "warning"),
    Term("info", "提示", "info"),
))
QUALITY_SEVERITIES: tuple[str, ...] = QUALITY_SEVERITY.codes

#: How a figure that could not be computed is shown (it is null in the data, never 0).
NOT_COMPUTED = Term("not_computed", "不计算", "not computed")

#: Every vocabulary by name, in the order ``/web/vocabulary.json`` lists them.
VOCABULARIES: dict[str, Vocabulary] = {v.name: v for v in (
    HYDRANT_STATUS, STATUS_SOURCE, FEATURE_SOURCE, HYDRANT_KIND, BUILDING_CLASS, BUILDING_USE, WIDTH_SOURCE,
    SEVERITY, CONFIDENCE, LEDGER_STATUS, BLOCKAGE_KIND, BLOCKAGE_EFFECT, WIDTH_BASIS,
    LANE_LAYOUT, DEAD_END_VERDICT, ROAD_SIDE, DISTRICT_GRADE, QUALITY_LEVEL, QUALITY_SEVERITY,
)}


def vocabulary_document() -> dict[str, object]:
    """Every vocabulary as a JSON-ready document (what ``/web/vocabulary.json`` serves).

    Returns
    -------
    dict
        ``{"vocabularies": {name: {"columns": [...], "terms": [{"code", "zh", "en",
        "colour"}, ...]}}, "high_rise_classes": [...], "not_computed": {"zh", "en"},
        "layers": {name: {"zh", "en", "id", "find_by"}}}`` (the layers from
        :func:`geo.catalog.catalog_document`).
    """
    return {
        "vocabularies": {
            name: {
                "columns": list(v.columns),
                "terms": [
                    {"code": t.code, "zh": t.zh, "en": t.en, "colour": t.colour} for t in v.terms
                ],
            }
            for name, v in VOCABULARIES.items()
        },
        "high_rise_classes": list(HIGH_RISE_CLASSES),
        "not_computed": {"zh": NOT_COMPUTED.zh, "en": NOT_COMPUTED.en},
        "layers": catalog_document(),
    }
