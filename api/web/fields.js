/* FireReach web map: popup labels for the columns of the served layers, [中文, English], with
   units. A column not listed here is shown under its own name. Column meanings: README (Layers,
   `firereach analyze` tables) and geo/schema.py. */
window.FR_FIELDS = {
  /* ids, names, provenance (several layers) */
  name: ["名称", "Name"],
  ref: ["编号（标牌）", "Reference"],
  kind: ["类型", "Kind"],
  status: ["状态", "Status"],
  source: ["数据来源", "Source"],
  source_crs: ["源坐标系", "Source CRS"],
  source_row: ["源文件行号", "Source row"],
  osm_id: ["OSM 编号", "OSM ID"],
  edge_id: ["路段编号", "Road edge ID"],
  way_id: ["OSM 道路编号", "OSM way ID"],
  way_ids: ["OSM 道路编号", "OSM way IDs"],
  rank: ["排名", "Rank"],
  score: ["评分", "Score"],
  rule_id: ["规则", "Rule"],
  rule_ids: ["规则", "Rules"],
  clause: ["条文", "Clause"],
  clauses: ["条文", "Clauses"],
  severity: ["严重程度", "Severity"],
  confidence: ["可信度", "Confidence"],
  reasons: ["原因", "Reasons"],
  reason: ["原因", "Reason"],
  length_m: ["长度（m）", "Length (m)"],
  position_m: ["距路段起点（m）", "Position along edge (m)"],
  response_s: ["响应时间（s）", "Response time (s)"],
  first_due_station: ["首到消防站", "First-due station"],

  /* hydrants, hydrants_analysis */
  hydrant_id: ["消火栓编号", "Hydrant ID"],
  status_source: ["状态依据", "Status source"],
  diameter_mm: ["管径（mm）", "Diameter (mm)"],
  flow_lps: ["流量（L/s）", "Flow (L/s)"],
  pressure_mpa: ["压力（MPa）", "Pressure (MPa)"],
  snap_edge: ["吸附路段", "Snapped to edge"],
  snap_offset_m: ["距道路（m）", "Distance to road (m)"],
  snap_reason: ["未吸附原因", "Not snapped because"],

  /* roads, roads_analysis */
  u: ["起点节点", "From node"],
  v: ["终点节点", "To node"],
  highway: ["道路等级", "Road class"],
  oneway: ["单行", "One-way"],
  lanes: ["车道数", "Lanes"],
  width_m: ["路宽（m）", "Width (m)"],
  width_source: ["路宽依据", "Width source"],
  maxheight_m: ["限高（m）", "Height limit (m)"],
  access: ["通行限制", "Access"],
  service: ["服务道路类型", "Service road type"],
  surface: ["路面", "Surface"],
  bridge: ["桥梁", "Bridge"],
  tunnel: ["隧道", "Tunnel"],
  emergency: ["应急车辆通行", "Emergency access"],
  covered_m: ["已覆盖长度（m）", "Covered length (m)"],
  uncovered_m: ["未覆盖长度（m）", "Uncovered length (m)"],
  covered_pct: ["覆盖率（%）", "Covered (%)"],
  truck_passable: ["消防车可通行", "Fire truck passable"],
  truck_blocked_by: ["消防车受阻原因", "Fire truck blocked by"],

  /* buildings, buildings_analysis */
  building_id: ["建筑编号", "Building ID"],
  building: ["建筑类型", "Building type"],
  levels: ["层数", "Storeys"],
  height_m: ["建筑高度（m）", "Height (m)"],
  height_source: ["高度依据", "Height source"],
  use: ["用途", "Use"],
  high_rise_class: ["高层类别", "High-rise class"],
  class_basis: ["分类依据", "Class basis"],
  footprint_m2: ["占地面积（m²）", "Footprint (m²)"],
  volume_m3: ["体积（m³）", "Volume (m³)"],
  access_edge: ["消防车到达路段", "Access road edge"],
  access_position_m: ["到达点距路段起点（m）", "Access point along edge (m)"],
  access_offset_m: ["到达点距建筑（m）", "Access point to building (m)"],
  access_reason: ["无到达点原因", "No access point because"],
  hydrants_in_range: ["有效范围内消火栓（个）", "Hydrants in range"],
  credited_flow_lps: ["可计入供水量（L/s）", "Credited flow (L/s)"],
  nearest_hydrant_m: ["最近消火栓（m）", "Nearest hydrant (m)"],
  required_flow_lps: ["室外消防用水量（L/s）", "Required flow (L/s)"],
  flow_deficit_lps: ["供水缺口（L/s）", "Flow deficit (L/s)"],
  flags: ["问题", "Flags"],

  /* underserved_segments, spacing_gaps */
  n_buildings: ["沿线建筑（栋）", "Buildings along"],
  n_high_rises: ["沿线高层建筑（栋）", "High-rises along"],
  from_hydrant: ["起点消火栓", "From hydrant"],
  to_hydrant: ["终点消火栓", "To hydrant"],
  gap_m: ["间距（m）", "Spacing (m)"],

  /* blockages_ranked */
  blockage_id: ["堵塞编号", "Blockage ID"],
  open: ["未处理", "Open"],
  road_name: ["道路名称", "Road"],
  offset_m: ["距道路（m）", "Distance to road (m)"],
  edge_width_m: ["路宽（m）", "Road width (m)"],
  occupied_m: ["占用宽度（m）", "Width taken (m)"],
  remaining_width_m: ["剩余宽度（m）", "Width left (m)"],
  width_basis: ["宽度依据", "Width basis"],
  effect: ["影响", "Effect"],
  reports_on_edge: ["同路段报告（条）", "Reports on this edge"],
  high_rises_cut: ["断通高层建筑（栋）", "High-rises cut off"],
  buildings_cut: ["断通建筑（栋）", "Buildings cut off"],
  buildings_delayed: ["响应超时建筑（栋）", "Buildings delayed"],
  high_rises_delayed: ["响应超时高层建筑（栋）", "High-rises delayed"],
  hydrants_unreachable: ["无法到达的消火栓（个）", "Hydrants unreachable"],
  max_delay_s: ["最大延误（s）", "Longest delay (s)"],
  reported_at: ["上报时间", "Reported at"],
  reporter: ["上报人", "Reporter"],
  photo: ["照片", "Photo"],

  /* high_rise_access */
  perimeter_m: ["周长（m）", "Perimeter (m)"],
  served_m: ["消防车道可达墙长（m）", "Wall served by lanes (m)"],
  served_pct: ["消防车道可达比例（%）", "Wall served by lanes (%)"],
  too_close_m: ["车道距墙过近（m）", "Lane too close to wall (m)"],
  aerial_band_m: ["登高操作场地墙长（m）", "Aerial site band (m)"],
  aerial_pct: ["登高操作场地比例（%）", "Aerial site band (%)"],
  long_side_m: ["长边长度（m）", "Long side (m)"],
  long_side_1_pct: ["长边一可达（%）", "Long side 1 served (%)"],
  long_side_2_pct: ["长边二可达（%）", "Long side 2 served (%)"],
  long_sides_served: ["可达长边（条）", "Long sides served"],
  estimated_width_pct: ["路宽为估计值（%）", "Lane width estimated (%)"],
  ring_connections: ["环形车道连接（处）", "Ring lane connections"],
  layout: ["车道布置", "Lane layout"],
  aerial_extent_ok: ["登高场地满足", "Aerial site extent met"],
  compliant_access: ["消防车道合规", "Fire access compliant"],

  /* stations, station_areas */
  station_id: ["消防站编号", "Station ID"],
  station: ["消防站", "Station"],
  area_km2: ["面积（km²）", "Area (km²)"],
  nodes: ["路网节点（个）", "Road nodes"],

  /* proposed_hydrants */
  order: ["建设顺序", "Order"],
  candidate_id: ["候选点编号", "Candidate ID"],
  side: ["路侧", "Side of road"],
  road_width_m: ["路宽（m）", "Road width (m)"],
  shift_m: ["移位（m）", "Shifted (m)"],
  wall_distance_m: ["距建筑外墙（m）", "Distance to wall (m)"],
  main_distance_m: ["距供水干管（m）", "Distance to water main (m)"],
  pipe_m: ["新建管道（m）", "New main (m)"],
  cost_cny: ["造价（元）", "Cost (CNY)"],
  marginal_weight: ["新增覆盖权重", "Added coverage weight"],
  marginal_m: ["新增覆盖长度（m）", "Added covered length (m)"],
  cumulative_cost_cny: ["累计造价（元）", "Cumulative cost (CNY)"],

  /* districts */
  district_id: ["片区编号", "District ID"],
  admin_level: ["行政级别", "Admin level"]
};

/* Chinese words for the coded values the popups show (English readers see the codes, which are
   English already). A value not listed is shown as it is. */
window.FR_VALUES = {
  status: {
    in_service: "在用", out_of_service: "停用", low_pressure: "水压不足", unknown: "未知",
    reported: "已上报", assigned: "已派单", rectified: "已整改", verified: "已复核", closed: "已销号",
    rejected: "驳回", duplicate: "重复"
  },
  status_source: { tag: "OSM 标注", agency: "单位台账", assumed: "推定", inspection: "巡检" },
  kind: {
    pillar: "地上式", underground: "地下式", wall: "墙壁式", pipe: "管道式", unknown: "未知",
    parked_vehicle: "车辆占用", gate: "门禁/道闸", structure: "违章建筑", goods: "堆物", stall: "摊点",
    other: "其他"
  },
  high_rise_class: { class1: "一类高层", class2: "二类高层", not_high_rise: "非高层", unknown: "未知" },
  effect: { full: "完全阻断", narrowed: "变窄（可通行）", none: "不计（已整改等）", rejected: "未匹配道路" },
  width_basis: { measured: "实测", estimated: "估算", full_block: "完全占用", unknown: "未知" },
  severity: { shall: "强制（应）", should: "推荐（宜）" },
  confidence: { verified: "已核实", secondary: "二手来源", unverified: "未核实" },
  layout: {
    ring: "环形", two_long_sides: "两条长边", one_long_side: "一条长边",
    quarter_perimeter: "四分之一周长", insufficient: "不足"
  },
  verdict: {
    "short": "长度未超限", turnaround: "有回车场", no_turnaround: "超长且无回车场（服务高层）",
    no_turnaround_other: "超长且无回车场"
  },
  side: { left: "左侧", right: "右侧" }
};
