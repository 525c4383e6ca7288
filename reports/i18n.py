"""Report labels in Chinese (the default) and English.

Every header, sheet name, legend and sentence the XLSX and PDF reports show comes from
:data:`LABELS`, so the two languages stay in step and the shipped font can be checked against
every character used (``tests/reports/test_pdf.py``). Unknown keys fall back to the key itself,
so a column another module adds still gets a header.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

from geo.errors import ConfigError
from geo.vocabulary import (
    HYDRANT_STATUS,
    NOT_COMPUTED,
    QUALITY_LEVEL,
    QUALITY_SEVERITY,
    VOCABULARIES,
)

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")



def _vocabulary_labels() -> dict[str, tuple[str, str]]:
    """Labels of the coded values, from :mod:`geo.vocabulary` (the one table of them).

    A value is keyed by its code (``in_service``), and under the prefixes the reports use:
    ``hydrants_<status>`` (district columns), ``qk.<status>``, ``ql.<level>``, ``q_<severity>``.
    Where two vocabularies share a code, the later in the loop wins: ``verified`` reads as a
    confidence (printed beside findings), ``rejected`` as a blockage effect (the blockage table's
    ``effect`` column; rejected ledger reports are not ranked).
    """
    out: dict[str, tuple[str, str]] = {}
    for name in ("ledger_status", "blockage_effect", "blockage_kind", "building_use", "building_class",
                 "hydrant_status", "district_grade", "severity", "confidence"):
        out.update((t.code, (t.zh, t.en)) for t in VOCABULARIES[name].terms if t.code != "unknown")
    for t in HYDRANT_STATUS.terms:
        out[f"hydrants_{t.code}"] = (t.zh, t.en[:1].upper() + t.en[1:])
        out[f"qk.{t.code}"] = (t.zh, t.en)
    out.update((f"ql.{t.code}", (t.zh, t.en)) for t in QUALITY_LEVEL.terms)
    out.update((f"q_{t.code}", (t.zh, t.en)) for t in QUALITY_SEVERITY.terms)
    out["not_computed"] = (NOT_COMPUTED.zh, NOT_COMPUTED.en)
    return out


LABELS: dict[str, tuple[str, str]] = {
    # report and sheet titles
    "report_title": ("消防水源覆盖与补建评估报告", "Fire water coverage and hydrant investment report"),
    "sheet_overview": ("总览", "Overview"),
    "sheet_districts": ("分区汇总", "Districts"),
    "sheet_underserved": ("缺水路段", "Underserved streets"),
    "sheet_buildings": ("缺水建筑", "Buildings short of water"),
    "sheet_blockages": ("通道占堵排名", "Blockage ranking"),
    "sheet_proposed": ("拟建消火栓", "Proposed hydrants"),
    "sheet_budget": ("投资效益曲线", "Budget curve"),
    "sheet_findings": ("问题清单", "Findings"),
    # overview sheet
    "item": ("项目", "Item"),
    "key": ("summary.json 键名", "summary.json key"),
    "value": ("数值", "Value"),
    "unit": ("单位", "Unit"),
    "area": ("区域", "Area"),
    "generated_at": ("生成时间", "Generated"),
    "data_source": ("数据来源", "Data source"),
    "grading_rule": ("缺水等级划分规则", "Water-shortage grading rule"),
    "not_provided": ("未提供", "not provided"),
    "rows_left_out": (
        "本表按严重程度排序，仅列出前 {shown:,} 行，另有 {left:,} 行未列出；完整表见 {where}。",
        "Sorted worst first: the first {shown:,} rows are listed, {left:,} more are left out; "
        "the full table is in {where}.",
    ),
    "total": ("合计", "Total"),
    "km": ("公里", "km"),
    "pct": ("%", "%"),
    "count": ("个", "count"),
    "yuan": ("元", "yuan"),
    "seconds": ("秒", "s"),
    # summary.json figures (overview)
    "roads.km": ("道路总长", "Street length"),
    "coverage.road_km": ("分析道路长度", "Street length analysed"),
    "coverage.covered_km": ("消火栓保护范围内长度", "Street length covered"),
    "coverage.uncovered_km": ("保护范围外长度", "Street length uncovered"),
    "coverage.covered_pct": ("覆盖率", "Coverage"),
    "coverage.radius_m": ("保护半径（米）", "Protection radius (m)"),
    "coverage.underserved_segments": ("缺水路段数", "Underserved stretches"),
    "coverage.spacing_gaps": ("间距超限处", "Spacing gaps"),
    "hydrants.total": ("消火栓总数", "Hydrants"),
    "hydrants.in_service": ("在用消火栓", "Hydrants in service"),
    "hydrants.out_of_service": ("停用消火栓", "Hydrants out of service"),
    "hydrants.low_pressure": ("水压不足消火栓", "Hydrants with low pressure"),
    "hydrants.unknown": ("状态不明消火栓", "Hydrants of unknown status"),
    "buildings.total": ("建筑总数", "Buildings"),
    "buildings.high_rise": ("高层建筑", "High-rise buildings"),
    "buildings.high_rise_class1": ("一类高层", "Class 1 high-rises"),
    "buildings.high_rise_class2": ("二类高层", "Class 2 high-rises"),
    "buildings.without_hydrant_in_range": ("范围内无消火栓的建筑", "Buildings without a hydrant in range"),
    "buildings.flow_deficit": ("室外消防流量不足的建筑", "Buildings with a fire-flow deficit"),
    "water.model": ("建筑供水计算方式", "Building water model"),
    "water_model_points": ("按点计：每个消火栓单独计流量（未提供管网）",
                           "points: each hydrant credited alone (no mains given)"),
    "water_model_branch_rule": ("枝状管网规则：同一枝状管段上的消火栓只计一个（GB 50974 6.1.5）",
                                "branch rule: one hydrant per branched main (GB 50974 6.1.5)"),
    "high_rises.noncompliant_access": ("消防车道/登高场地不合规高层", "High-rises with non-compliant access"),
    "stations.total": ("消防站", "Fire stations"),
    "stations.roads_within_limit_pct": ("道路响应达标率", "Streets reached within the limit"),
    "findings.total": ("问题总数", "Findings"),
    "findings.shall": ("违反强制性条款（应）", "Violations (shall)"),
    "findings.should": ("不符合推荐性条款（宜）", "Warnings (should)"),
    "districts.total": ("分区数", "Districts"),
    "districts.severe": ("严重缺水分区", "Severe districts"),
    "districts.significant": ("较重缺水分区", "Significant districts"),
    "districts.general": ("一般分区", "General districts"),
    "proposed.total": ("拟建消火栓", "Proposed hydrants"),
    "proposed.cost_yuan": ("拟建总费用（元）", "Proposed cost (yuan)"),
    # district table columns
    "district_id": ("分区编号", "District id"),
    "name": ("名称", "Name"),
    "district": ("所在分区", "District"),
    "unit_kind": ("分区类型", "District kind"),
    "admin_level": ("行政级别", "Admin level"),
    "area_km2": ("面积（km²）", "Area (km²)"),
    "street_km": ("道路长度（km）", "Streets (km)"),
    "covered_km": ("已覆盖（km）", "Covered (km)"),
    "uncovered_km": ("未覆盖（km）", "Uncovered (km)"),
    "covered_pct": ("覆盖率（%）", "Coverage (%)"),
    "uncovered_pct": ("未覆盖率（%）", "Uncovered (%)"),
    "hydrants_total": ("消火栓", "Hydrants"),
    "high_rise_class1": ("一类高层", "Class 1 high-rises"),
    "high_rise_class2": ("二类高层", "Class 2 high-rises"),
    "high_rise_flow_deficit": ("流量不足高层", "High-rises with flow deficit"),
    "high_rise_no_water": ("无水源高层", "High-rises without hydrant"),
    "class1_no_water": ("无水源一类高层", "Class 1 without hydrant"),
    "high_rise_access_noncompliant": ("登高/通道不合规高层", "High-rises with non-compliant access"),
    "response_within_km": ("响应达标道路（km）", "Streets within limit (km)"),
    "response_within_pct": ("响应达标率（%）", "Response compliance (%)"),
    "blockages_total": ("占堵点", "Blockages"),
    "blockages_open": ("未整改", "Open"),
    "blockages_reported": ("已上报", "Reported"),
    "blockages_assigned": ("已派单", "Assigned"),
    "blockages_rectified": ("已整改", "Rectified"),
    "blockages_verified": ("已复核", "Verified"),
    "blockages_closed": ("已销号", "Closed"),
    "blockage_impact": ("占堵影响合计", "Blockage impact (sum)"),
    "blockages_high_rise_cut": ("切断高层的占堵点", "Blockages cutting off a high-rise"),
    "proposed_hydrants": ("拟建消火栓", "Proposed hydrants"),
    "proposed_cost_yuan": ("拟建费用（元）", "Proposed cost (yuan)"),
    "proposed_gain_km": ("新增覆盖（km）", "Newly covered (km)"),
    "gain_m_per_10k_yuan": ("每万元新增覆盖（米）", "Metres covered per 10,000 yuan"),
    "covered_pct_after": ("补建后覆盖率（%）", "Coverage after (%)"),
    "grade": ("缺水等级", "Water-shortage grade"),
    "grade_basis": ("定级依据", "Grade basis"),
    # grades and their reasons
    "basis_uncovered_severe": ("未覆盖率≥{severe:.0f}%", "uncovered ≥ {severe:.0f}%"),
    "basis_class1_no_water": ("一类高层无可用消火栓", "class 1 high-rise without a usable hydrant"),
    "basis_uncovered_significant": ("未覆盖率≥{significant:.0f}%", "uncovered ≥ {significant:.0f}%"),
    "basis_high_rise_water": ("高层流量不足或无水源", "high-rise with a flow deficit or no hydrant"),
    "basis_none": ("未达较重标准", "below the significant thresholds"),
    "unit_osm": ("行政区划（OSM）", "administrative (OSM)"),
    "unit_file": ("用户提供区划", "user file"),
    "unit_grid": ("{cell:g} 米方格", "{cell:g} m grid"),
    "unit_outside": ("区划范围外", "outside the districts"),
    "outside_name": ("区划范围外", "Outside the districts"),
    # underserved / buildings / findings / blockages / proposed / budget columns
    "rank": ("排名", "Rank"),
    "street": ("道路名称", "Street"),
    "unnamed_street": ("（无名道路）", "(unnamed)"),
    "length_m": ("长度（米）", "Length (m)"),
    "n_buildings": ("沿线建筑", "Buildings along"),
    "n_high_rises": ("沿线高层", "High-rises along"),
    "way_ids": ("OSM 道路编号", "OSM way ids"),
    "building_id": ("建筑编号", "Building id"),
    "building": ("建筑类型", "Building type"),
    "use": ("用途", "Use"),
    "height_m": ("高度（米）", "Height (m)"),
    "high_rise_class": ("高层分类", "High-rise class"),
    "hydrants_in_range": ("范围内消火栓", "Hydrants in range"),
    "credited_flow_lps": ("可计流量（L/s）", "Credited flow (L/s)"),
    "required_flow_lps": ("需要流量（L/s）", "Required flow (L/s)"),
    "flow_deficit_lps": ("流量缺口（L/s）", "Flow deficit (L/s)"),
    "nearest_hydrant_m": ("最近消火栓（米）", "Nearest hydrant (m)"),
    "response_s": ("到场时间（秒）", "Response time (s)"),
    "compliant_access": ("消防车道/登高场地合规", "Fire access compliant"),
    "first_due_station": ("责任消防站", "First-due station"),
    "layer": ("图层", "Layer"),
    "feature_id": ("要素编号", "Feature id"),
    "rule_id": ("规则", "Rule"),
    "clause": ("条款", "Clause"),
    "severity": ("严重性", "Severity"),
    "confidence": ("可信度", "Confidence"),
    "limit": ("限值", "Limit"),
    "message": ("说明", "Message"),
    "blockage_id": ("占堵编号", "Blockage id"),
    "kind": ("类型", "Kind"),
    "status": ("状态", "Status"),
    "impact": ("影响", "Impact"),
    "reported_at": ("上报时间", "Reported at"),
    "remaining_width_m": ("剩余宽度（米）", "Remaining width (m)"),
    "hydrant_id": ("消火栓编号", "Hydrant id"),
    "score": ("影响评分", "Impact score"),
    "effect": ("影响方式", "Effect"),
    "road_name": ("道路名称", "Street"),
    "high_rises_cut": ("切断高层", "High-rises cut off"),
    "buildings_cut": ("切断建筑", "Buildings cut off"),
    "buildings_delayed": ("延误建筑", "Buildings delayed"),
    "high_rises_delayed": ("延误高层", "High-rises delayed"),
    "hydrants_unreachable": ("无法到达的消火栓", "Hydrants unreachable"),
    "max_delay_s": ("最大延误（秒）", "Max delay (s)"),
    "open": ("未闭环", "Open"),
    "edge_id": ("道路段编号", "Edge id"),
    "position_m": ("沿路位置（米）", "Position along edge (m)"),
    "offset_m": ("离路距离（米）", "Offset from road (m)"),
    "edge_width_m": ("道路宽度（米）", "Road width (m)"),
    "occupied_m": ("占用宽度（米）", "Occupied width (m)"),
    "width_basis": ("宽度依据", "Width basis"),
    "reason": ("原因", "Reason"),
    "reports_on_edge": ("同段占堵数", "Reports on the edge"),
    "rule_ids": ("违反规则", "Rules broken"),
    "clauses": ("条款", "Clauses"),
    "reporter": ("上报人", "Reporter"),
    "photo": ("照片", "Photo"),
    "source": ("来源", "Source"),
    "order": ("建设顺序", "Order"),
    "candidate_id": ("候选点编号", "Candidate id"),
    "cost_cny": ("费用（元）", "Cost (yuan)"),
    "cumulative_cost_cny": ("累计投资（元）", "Cumulative cost (yuan)"),
    "marginal_m": ("新增覆盖（米）", "Newly covered (m)"),
    "cumulative_m": ("累计新增覆盖（米）", "Cumulative newly covered (m)"),
    "marginal_weight": ("新增权重", "Weight gained"),
    "cumulative_weight": ("累计权重", "Cumulative weight"),
    "cny_per_m": ("每米造价（元/米）", "Yuan per metre covered"),
    "pipe_m": ("新建管道（米）", "New main (m)"),
    "cost_yuan": ("费用（元）", "Cost (yuan)"),
    "gain_m": ("新增覆盖（米）", "Newly covered (m)"),
    "cumulative_cost_yuan": ("累计投资（元）", "Cumulative cost (yuan)"),
    "budget_yuan": ("投资（元）", "Budget (yuan)"),
    "hydrants": ("消火栓数", "Hydrants"),
    "x": ("X（米）", "X (m)"),
    "y": ("Y（米）", "Y (m)"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    # values
    # coded values (geo.vocabulary); a bare ``unknown`` is generic
    **_vocabulary_labels(),
    "unknown": ("不明", "unknown"),
    "proposed": ("拟建", "proposed"),
    "existing": ("现有", "existing"),
    "station": ("消防站", "fire station"),
    # PDF
    "contents_maps": ("地图", "Maps"),
    "contents_charts": ("图表", "Charts"),
    "contents_tables": ("表格", "Tables"),
    "key_figures": ("主要指标", "Key figures"),
    "map_coverage": ("消火栓保护范围缺口", "Hydrant coverage gaps"),
    "map_coverage_note": (
        "红色：距在用消火栓超过{radius:.0f}米（沿道路水带铺设距离）的道路；灰色：已覆盖道路。",
        "Red: streets more than {radius:.0f} m from an in-service hydrant (hose-lay distance "
        "along streets); grey: covered streets.",
    ),
    "map_hydrants": ("消火栓状态", "Hydrants by status"),
    "map_grades": ("分区缺水等级", "Water-shortage grade by district"),
    "map_blockages": ("生命通道占堵点", "Fire-lane blockages"),
    "map_proposed": ("拟建消火栓", "Proposed hydrants"),
    "legend_uncovered": ("未覆盖道路", "uncovered street"),
    "legend_covered": ("已覆盖道路", "covered street"),
    "legend_district": ("分区边界", "district boundary"),
    "chart_coverage": ("各分区道路覆盖率", "Street coverage by district"),
    "chart_coverage_more": ("（仅显示覆盖率最低的{n}个分区）", "(the {n} least covered districts)"),
    "chart_budget": ("投资与覆盖率", "Budget and coverage"),
    "axis_coverage_pct": ("覆盖率（%）", "Coverage (%)"),
    "axis_cost_10k": ("累计投资（万元）", "Cumulative cost (10,000 yuan)"),
    "axis_covered_km": ("覆盖道路（km）", "Covered streets (km)"),
    "table_districts": ("分区汇总", "District summary"),
    "table_underserved": ("缺水路段（按长度前{n}名）", "Underserved streets (top {n} by length)"),
    "table_blockages": ("占堵点（按影响前{n}名）", "Blockages (top {n} by impact)"),
    "table_proposed": ("拟建消火栓（前{n}个）", "Proposed hydrants (first {n})"),
    "pdf_name": ("分区", "District"),
    "pdf_street_km": ("道路\n(km)", "Streets\n(km)"),
    "pdf_uncovered_km": ("未覆盖\n(km)", "Uncov.\n(km)"),
    "pdf_covered_pct": ("覆盖率\n(%)", "Coverage\n(%)"),
    "pdf_hydrants": ("消火栓\n在用/总数", "Hydrants\nin use/all"),
    "pdf_high_rise": ("高层\n一类/二类", "HR\nclass 1/2"),
    "pdf_deficit": ("流量不足\n高层", "HR flow\ndeficit"),
    "pdf_no_water": ("无水源\n高层", "HR no\nhydrant"),
    "pdf_response": ("响应达标\n(%)", "Response\nwithin (%)"),
    "pdf_proposed": ("拟建\n消火栓", "New\nhydrants"),
    "pdf_cost": ("费用\n(万元)", "Cost (10k\nyuan)"),
    "pdf_grade": ("等级", "Grade"),
    "pdf_table_note": (
        "流量不足高层：室外消防流量不足的高层建筑；无水源高层：计数范围内无可用消火栓的高层建筑；"
        "响应达标：首车在时限内到达的道路长度占比。",
        "HR: high-rise buildings. HR flow deficit: outdoor fire flow short of the requirement; HR no "
        "hydrant: no usable hydrant in range. Response within: share of street length the first "
        "truck reaches within the limit.",
    ),
    "legend_hydrant": ("消火栓", "hydrant"),
    "legend_overall": ("全区 {pct:.1f}%", "whole area {pct:.1f}%"),
    "blockage_size_note": ("标记大小表示占堵影响。", "Marker size shows the blockage's impact."),
    "grades_heading": ("分区缺水等级（共 {n} 个分区）", "Water-shortage grades ({n} districts)"),
    "cost_10k_yuan": ("费用（万元）", "Cost (10,000 yuan)"),
    "page": ("第 {n} 页", "Page {n}"),
    "generated_by": ("由 FireReach 生成", "Generated by FireReach"),
    "attribution": ("© OpenStreetMap contributors", "© OpenStreetMap contributors"),
    "attribution_note": (
        "地图数据 © OpenStreetMap contributors，依据开放数据库许可协议（ODbL）提供。",
        "Map data © OpenStreetMap contributors, available under the Open Database License (ODbL).",
    ),
    "preset": ("规则预设", "Rule preset"),
    "method": ("计算方式", "Method"),
    "method_network": ("沿道路水带铺设距离", "hose-lay distance along streets"),
    "method_straight": ("直线距离", "straight-line distance"),
    "no_data": ("无数据", "no data"),
    "scale_m": ("{n:g} 米", "{n:g} m"),
    "scale_km": ("{n:g} 公里", "{n:g} km"),
    "north": ("北", "N"),
    # not computed (a figure the inputs could not give: null in summary.json, never 0)
    "grade_not_computed": ("未定级（无消火栓数据）", "not graded (no hydrant data)"),
    "basis_no_hydrant_data": ("无消火栓数据，不计算", "no hydrant data: not computed"),
    "map_coverage_no_data": (
        "数据中没有任何消火栓（数据缺失，并非没有消火栓）：覆盖率不计算，图中道路仅示意。",
        "The data holds no hydrant (missing data, not proof that none exist): coverage is not "
        "computed; the streets are shown for orientation only.",
    ),
    # data quality (数据说明)
    "sheet_quality": ("数据说明", "Data quality"),
    "quality_heading": ("数据说明", "Data quality"),
    "quality_warnings": ("数据警示", "Data warnings"),
    "quality_intro": (
        "各项输入数据的完整程度、采用的假定、缺失的内容及受影响的结果。"
        "完整：缺值不超过5%；部分：5%～90%；假定：90%以上采用默认值；缺失：无数据或90%以上缺值。",
        "What each input held, what was assumed, what was missing and which results it weakens. "
        "Complete: at most 5 % of values missing; partial: 5–90 %; assumed: 90 % or more from a "
        "default; missing: no data, or 90 % or more missing.",
    ),
    "quality_none": ("无数据警示。", "No data warnings."),
    "q_input": ("输入数据", "Input"),
    "q_level": ("完整程度", "Level"),
    "q_held": ("数据内容", "Held"),
    "q_assumed": ("采用假定", "Assumed"),
    "q_missing": ("缺失", "Missing"),
    "q_weakens": ("影响的结果", "Weakens"),
    "q_notes": ("备注", "Notes"),
    "q_severity": ("级别", "Severity"),
    "q_message": ("说明", "Message"),
    "qi.roads": ("道路", "Roads"),
    "qi.hydrants": ("消火栓", "Hydrants"),
    "qi.agency_hydrants": ("单位消火栓清单", "Agency hydrant file"),
    "qi.buildings": ("建筑", "Buildings"),
    "qi.stations": ("消防站", "Fire stations"),
    "qi.agency_stations": ("单位消防站清单", "Agency station file"),
    "qi.speeds": ("消防车车速", "Truck speeds"),
    "qi.water_sources": ("其他消防水源", "Other water sources"),
    "qi.pump_connectors": ("水泵接合器", "Pump connectors"),
    "qi.mains": ("供水管网", "Water mains"),
    "qi.districts": ("分区", "Districts"),
    "qi.blockages": ("占堵上报", "Blockage reports"),
    "qk.edges": ("路段", "edges"),
    "qk.km": ("公里", "km"),
    "qk.width_tagged": ("标注宽度", "width tagged"),
    "qk.width_from_class": ("宽度按道路等级估算", "width estimated from class"),
    "qk.total": ("总数", "total"),
    "qk.status_from_data": ("状态有数据", "status in the data"),
    "qk.flow_known": ("流量已知", "flow known"),
    "qk.from_osm": ("来自OSM", "from OSM"),
    "qk.from_agency": ("来自单位清单", "from the agency file"),
    "qk.status": ("状态（按预设假定或不明）", "status (assumed by the preset, or unknown)"),
    "qk.flow_by_preset": ("流量按规则预设计", "flow credited by the preset"),
    "qk.height_tagged": ("标注高度", "height tagged"),
    "qk.height_from_levels": ("高度按层数×层高估算", "height from levels × storey height"),
    "qk.use_known": ("用途已知", "use known"),
    "qk.height": ("高度不明", "height unknown"),
    "qk.used": ("参与计算", "used"),
    "qk.snapped": ("未接入道路", "not on a passable road"),
    "qk.classes": ("道路等级", "road classes"),
    "qk.speeds_kmh": ("车速按规则预设表", "speeds from the preset's table"),
    "qk.linked": ("已关联建筑", "linked to a building"),
    "qk.from_file": ("来自用户文件", "from the user file"),
    "qk.rows_used": ("采用行数", "rows used"),
    "qk.rows_rejected": ("拒收行数", "rows rejected"),
    "qk.supply_points": ("水源点（水厂/加压站/水塔）", "supply points"),
    "qk.hydrants_linked": ("已关联管道的消火栓", "hydrants on a main"),
    "qk.pipes_rejected": ("拒收管段（见 rejects.csv）", "pipes rejected (see rejects.csv)"),
    "qk.hydrants_unlinked": ("未关联管道的消火栓（按单栓计）", "hydrants on no known main (credited alone)"),
    "qr.coverage": ("道路覆盖率", "street coverage"),
    "qr.building_water": ("建筑消防用水", "building water"),
    "qr.high_rise_classes": ("高层分类", "high-rise classes"),
    "qr.high_rise_access": ("高层消防车道与登高场地", "high-rise access"),
    "qr.response": ("出动响应时间", "station response"),
    "qr.blockage_ranking": ("占堵影响排名", "blockage ranking"),
    "qr.grading": ("分区缺水定级", "district grading"),
    "qr.siting": ("补建选址", "hydrant siting"),
    "qm.lone_building_parts": (
        "{count} 个 building:part（建筑局部）不在任何建筑轮廓内，已各自按独立建筑处理。",
        "{count} building:part area(s) lie in no building outline and were taken as buildings "
        "of their own.",
    ),
    "qm.mains_invented": (
        "供水管网为示意用的虚构数据（见 data/demo/README.md）：枝状管网规则的数字仅演示方法，"
        "不代表本市供水管网。",
        "The water mains are invented for illustration (data/demo/README.md): the branch-rule "
        "figures show the method, not this city's water network.",
    ),
    "qm.no_roads": (
        "数据中没有可通行道路：无法计算任何结果。", "No drivable roads in the data: nothing can be measured."
    ),
    "qm.no_hydrants": (
        "研究区域内没有任何消火栓数据（OSM 很少标注消火栓，国内几乎没有）——这是数据缺失，"
        "并非没有消火栓。道路覆盖率、建筑用水和分区定级均不计算，也不提出补建方案。"
        "请用 --hydrants 提供单位消火栓清单。",
        "No hydrants in the study area: the hydrant data is missing (OSM maps few hydrants, "
        "almost none in China), not proof that none exist. Street coverage, building water and "
        "district grades are not computed and no hydrants are proposed. Give the agency list "
        "with --hydrants FILE.",
    ),
    "qm.no_hydrant_in_service": (
        "{count} 个消火栓均非在用状态（状态不明、停用或水压不足）：覆盖只计在用消火栓，"
        "因此全部道路未覆盖。请检查清单的状态列。",
        "None of the {count} hydrants is in service (unknown, out of service or low pressure): "
        "coverage counts in-service hydrants only, so every street is uncovered. Check the "
        "file's status column.",
    ),
    "qm.statuses_assumed": (
        "{count} 个消火栓的状态数据中没有，按“{status}”假定（预设规则 hydrant_status.missing）。",
        "{count} hydrant statuses are not in the data and were taken as {status} (preset rule "
        "hydrant_status.missing).",
    ),
    "qm.statuses_unknown": (
        "{count} 个消火栓状态不明，未计入覆盖。",
        "{count} hydrants have an unknown status and are not counted for coverage.",
    ),
    "qm.no_agency_rows": (
        "单位清单的 {count} 行全部未能采用（原因见 rejects.csv）。",
        "None of the {count} rows of the agency file could be used (see rejects.csv).",
    ),
    "qm.agency_rows_rejected": (
        "单位清单有 {count} 行被拒收（原因见 rejects.csv）。",
        "{count} rows of the agency file were rejected (see rejects.csv).",
    ),
    "qm.no_stations": (
        "没有消防站数据：出动响应时间不计算；占堵按阻断与主干道的连通排名，延误不计算。"
        "请用 --stations 提供。",
        "No fire stations: station response is not computed; blockages are ranked by what they "
        "cut off from the main roads, delays not computed. Give --stations FILE.",
    ),
    "qm.stations_not_snapped": (
        "消防站均不在可通行道路附近：出动响应时间不计算。",
        "No fire station is near a passable road: station response is not computed.",
    ),
    "qm.heights_unknown": (
        "{count} 栋建筑没有高度或层数：其高层分类和室外消防用水量不明。",
        "{count} buildings have no height or levels: their high-rise class and required fire "
        "flow are unknown.",
    ),
    "qm.siting_not_run": (
        "未提出补建方案：没有消火栓数据时全部道路都会显示为未覆盖。如需按“现无消火栓”规划，"
        "请明确指定 --new-hydrants 或 --budget。",
        "No hydrants proposed: with no hydrant data every street would look uncovered. Ask "
        "explicitly with --new-hydrants K or --budget CNY to plan as if there were none.",
    ),
    "qm.siting_without_hydrants": (
        "补建方案按“现无任何消火栓”计算（没有消火栓数据），新增覆盖均相对于零覆盖。",
        "The proposed hydrants assume that no hydrant exists today (no hydrant data): the "
        "figures added are relative to no coverage at all.",
    ),
    "qm.blockages_not_ranked": (
        "{count} 个占堵上报未排名：没有消防站，无法计算其对出动响应的影响。",
        "{count} blockage reports are not ranked: without fire stations their impact on "
        "response cannot be computed.",
    ),
}


def label(key: str, lang: Lang = "zh", **fields: object) -> str:
    """The label for ``key`` in ``lang``, formatted with ``fields``; the key itself if unknown.

    Parameters
    ----------
    key
        A key of :data:`LABELS` (a column name, a value such as ``in_service``, or a text id).
    lang
        ``"zh"`` (default) or ``"en"``.
    **fields
        Values for ``{placeholders}`` in the label.

    Returns
    -------
    str
    """
    pair = LABELS.get(key)
    if pair is None:
        return key
    text = pair[0] if lang == "zh" else pair[1]
    return text.format(**fields) if fields else text


def value_or_not_computed(
    value: object, lang: Lang = "zh", *, digits: int = 1, thousands: bool = True, suffix: str = ""
) -> str:
    """A figure as text, or 不计算 / "not computed" when it is None or NaN.

    The one formatter for figures that may not have been computed (null in ``summary.json``,
    never 0): the console line, the PDF, the map and the XLSX overview use it.

    Parameters
    ----------
    value
        A number (int, float, numpy scalar), None or NaN; anything else is shown as text.
    lang
        ``"zh"`` or ``"en"``.
    digits
        Decimals of a float.
    thousands
        Thousands separators.
    suffix
        Appended to a computed value (e.g. ``" %"``), not to "not computed".
    """
    if value is None or value is pd.NA:
        return label("not_computed", lang)
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return (f"{int(value):,}" if thousands else str(int(value))) + suffix
    if isinstance(value, float | np.floating):
        f = float(value)
        if not math.isfinite(f):
            return label("not_computed", lang)
        return (f"{f:,.{digits}f}" if thousands else f"{f:.{digits}f}") + suffix
    return str(value)


def check_lang(lang: str) -> Lang:
    """Return ``lang`` if it is ``zh`` or ``en``; raise :class:`geo.errors.ConfigError` otherwise."""
    if lang == "zh":
        return "zh"
    if lang == "en":
        return "en"
    raise ConfigError(f"unknown report language {lang!r}: use 'zh' (Chinese) or 'en' (English)")


def all_label_text() -> str:
    """Every character of every label in both languages (for checking the shipped font)."""
    return "".join(zh + en for zh, en in LABELS.values())
