/* FireReach web map: the workspace's own layers from /ogc, drawn with the vendored Leaflet.
   Nothing is loaded from outside this server unless a tile URL is given: ?tiles= on the page, or
   else the basemap_url setting (served by /web/config.json). */
(function () {
  "use strict";

  var I18N = {
    zh: {
      title: "FireReach 消防水源与通道", district: "片区", all: "全部", lang: "EN",
      loading: "加载中…", loaded: "已加载 {n} 个要素", failed: "加载失败：{what}",
      legend: "图例",
      roads: "道路", buildings: "建筑", hydrants: "消火栓（按状态）", gaps: "覆盖缺口",
      blockages: "占道堵塞（按排名）", highrises: "高层建筑（按类别）", stations: "消防站",
      areas: "首到责任区", proposed: "建议新增消火栓", districts: "片区边界", tiles: "底图瓦片",
      rank: "排名", open: "未处理", done: "已处理",
      hydrant: "消火栓", blockage: "占道堵塞", station: "消防站", yes: "是", no: "否",
      key_label: "API 密钥", key_use: "使用密钥", key_forget: "忘记密钥", key_status: "需要 API 密钥",
      key_needed: "此服务器需要 API 密钥才能查看图层，请输入密钥（只保存在本标签页）。",
      key_invalid: "API 密钥无效或已被撤销，请输入有效的密钥。",
      key_denied: "此 API 密钥无权查看图层，请换一个密钥。",
      more: "视图内要素未全部显示（{list}），请放大地图。", cap: "每个图层最多显示 {max} 个要素。"
    },
    en: {
      title: "FireReach fire water & access", district: "District", all: "All", lang: "中文",
      loading: "Loading…", loaded: "{n} features loaded", failed: "Failed to load: {what}",
      legend: "Legend",
      roads: "Roads", buildings: "Buildings", hydrants: "Hydrants (by status)", gaps: "Coverage gaps",
      blockages: "Blockages (by rank)", highrises: "High-rises (by class)", stations: "Fire stations",
      areas: "First-due areas", proposed: "Proposed hydrants", districts: "District outlines",
      tiles: "Basemap tiles",
      rank: "Rank", open: "Open", done: "Closed", hydrant: "Hydrant", blockage: "Blockage", station: "Fire station",
      yes: "yes", no: "no",
      key_label: "API key", key_use: "Use key", key_forget: "Forget key", key_status: "API key needed",
      key_needed: "This server needs an API key to show the layers; enter one (kept in this tab only).",
      key_invalid: "The API key is not valid or has been revoked; enter a valid key.",
      key_denied: "This API key may not read the layers; use another key.",
      more: "Not every feature in view is drawn ({list}); zoom in.",
      cap: "At most {max} features are drawn per layer."
    }
  };
  var lang = "zh";
  function t(key) { return (I18N[lang] && I18N[lang][key]) || I18N.zh[key] || key; }

  /* Coded values (hydrant statuses, high-rise classes, ledger statuses ...): their labels and
     legend colours come from the server's one table, geo/vocabulary.py, as /web/vocabulary.json
     (useVocabulary below fills these). */
  var HYDRANT_COLOURS = {};
  var CLASS_COLOURS = {};
  /* The property a tiled collection's popup finds its feature by (geo/catalog.py, served in
     /web/vocabulary.json): tiles of a zoomed-out view carry only it and what the map styles by
     (api.mvt.LAYER_SPECS), so a popup asks for the whole feature by it. */
  var FIND_BY = {};
  var VOCAB = {};   /* vocabulary name -> [{code, zh, en, colour}] in legend order */
  var VALUES = {};  /* column -> code -> {zh, en} for the popups */
  var AREA_COLOURS = ["#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#6d4c41"];
  var params = new URLSearchParams(window.location.search);
  function intParam(name, fallback, low, high) {
    var v = parseInt(params.get(name) || "", 10);
    return isFinite(v) ? Math.min(Math.max(v, low), high) : fallback;
  }
  /* Features per request (the server allows up to 10,000) and per layer in one view: the page
     follows the OGC `next` links until the view is complete or the cap is reached. Both can be
     lowered with ?page_size= and ?max_features= (tests, slow links). */
  var PAGE_SIZE = intParam("page_size", 10000, 1, 10000);
  var MAX_FEATURES = intParam("max_features", 200000, 1, 200000);
  /* Categories switched off in the legend (hydrant statuses, high-rise classes). */
  var hidden = {};
  function hydrantStatus(p) { return HYDRANT_COLOURS[p.status] ? p.status : "unknown"; }

  function hydrantColour(status) { return HYDRANT_COLOURS[status] || HYDRANT_COLOURS.unknown || "#616161"; }
  function termLabel(term) { return term[lang] || term.zh || term.code; }
  function useVocabulary(doc) {
    var vocabularies = (doc && doc.vocabularies) || {};
    Object.keys(vocabularies).forEach(function (name) {
      var v = vocabularies[name];
      VOCAB[name] = v.terms;
      v.columns.forEach(function (column) {
        var words = VALUES[column] || (VALUES[column] = {});
        v.terms.forEach(function (term) { if (!words[term.code]) { words[term.code] = term; } });
      });
    });
    (VOCAB.hydrant_status || []).forEach(function (term) { HYDRANT_COLOURS[term.code] = term.colour; });
    var layers = (doc && doc.layers) || {};
    Object.keys(layers).forEach(function (name) {
      if (layers[name].find_by) { FIND_BY[name] = layers[name].find_by; }
    });
    var highRise = (doc && doc.high_rise_classes) || [];
    (VOCAB.building_class || []).forEach(function (term) {
      if (highRise.indexOf(term.code) >= 0) { CLASS_COLOURS[term.code] = term.colour; }
    });
  }
  function readVocabulary() {
    return fetch("/web/vocabulary.json", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .catch(function () { return {}; })
      .then(useVocabulary);
  }
  function closedBlockage(p) { return p.status === "closed" || p.status === "rectified" || p.open === false; }
  function hashColour(value) {
    var s = String(value), h = 0;
    for (var i = 0; i < s.length; i++) { h = (h * 31 + s.charCodeAt(i)) | 0; }
    return AREA_COLOURS[Math.abs(h) % AREA_COLOURS.length];
  }

  /* One entry per layer: which collection, how to draw it, whether it is on at first. */
  var LAYERS = [
    { key: "areas", collection: "station_areas", on: true, pane: "areas",
      style: function (f) {
        var c = hashColour(f.properties.station_id);
        return { color: c, weight: 2, dashArray: "6 4", fillColor: c, fillOpacity: 0.06 };
      } },
    { key: "roads", collection: "roads_analysis", on: true, pane: "basemap", basemap: true,
      style: function () { return { color: "#a7a29b", weight: 2, opacity: 0.9, className: "fr-road" }; } },
    { key: "buildings", collection: "buildings_analysis", on: true, pane: "basemap", basemap: true,
      style: function () { return { color: "#b3a899", weight: 1, fillColor: "#d9d0c5", fillOpacity: 0.8 }; } },
    { key: "highrises", collection: "buildings_analysis", on: true, pane: "highrises",
      filter: function (f) {
        var c = f.properties.high_rise_class;
        return !!CLASS_COLOURS[c] && !hidden["class:" + c];
      },
      style: function (f) {
        var c = CLASS_COLOURS[f.properties.high_rise_class];
        return { color: c, weight: 2, fillColor: c, fillOpacity: 0.45, className: "fr-highrise" };
      } },
    { key: "gaps", collection: "underserved_segments", on: true, pane: "lines",
      style: function () { return { color: "#d50000", weight: 4, opacity: 0.85, className: "fr-gap" }; } },
    { key: "proposed", collection: "proposed_hydrants", on: true, pane: "points", point: true,
      style: function () {
        return { radius: 5, color: "#1b5e20", weight: 2, dashArray: "2 2", fillColor: "#a5d6a7",
                 fillOpacity: 0.9, className: "fr-proposed" };
      } },
    { key: "blockages", collection: "blockages_ranked", on: true, pane: "points", point: true,
      style: function (f) {
        var p = f.properties, rank = Number(p.rank), done = closedBlockage(p);
        var radius = isFinite(rank) && rank > 0 ? Math.max(5, 12 - rank) : 5;
        return { radius: radius, color: done ? "#757575" : "#4e342e", weight: 2,
                 fillColor: done ? "#bdbdbd" : "#ff6f00", fillOpacity: 0.9, className: "fr-blockage" };
      },
      tooltip: function (p) { return isFinite(Number(p.rank)) && p.rank !== null ? "#" + p.rank : null; } },
    { key: "stations", collection: "stations", on: true, pane: "top", point: true,
      style: function () {
        return { radius: 8, color: "#b71c1c", weight: 3, fillColor: "#ffffff", fillOpacity: 1,
                 className: "fr-station" };
      } },
    { key: "hydrants", collection: "hydrants_analysis", on: true, pane: "top", point: true,
      filter: function (f) { return !hidden["status:" + hydrantStatus(f.properties)]; },
      style: function (f) {
        return { radius: 6, color: "#ffffff", weight: 1.5, fillColor: hydrantColour(f.properties.status),
                 fillOpacity: 1, className: "fr-hydrant" };
      } }
  ];

  var map = L.map("map", { zoomControl: true, preferCanvas: false, zoomSnap: 0.25 });
  // the basemap and every layer derive from OpenStreetMap data (ODbL): say so on the map
  map.attributionControl.addAttribution(
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors');
  window.frMap = map;  /* for tests and the console */
  [["basemap", 350], ["areas", 360], ["highrises", 390], ["lines", 410], ["points", 620], ["top", 630]]
    .forEach(function (pane) { map.createPane(pane[0]).style.zIndex = String(pane[1]); });

  var status = document.getElementById("status");
  var statusKey = null, statusArgs = {};
  function setStatus(key, args) {
    statusKey = key; statusArgs = args || {};
    var text = key ? t(key) : "";
    Object.keys(statusArgs).forEach(function (k) { text = text.replace("{" + k + "}", statusArgs[k]); });
    status.textContent = text;
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  /* API key: asked for when the server answers 401 (public_read off), kept in sessionStorage (this
     tab only, gone when it closes), sent as X-API-Key on every request to the server. */
  var KEY_ITEM = "firereach.apiKey";
  var keyForm = document.getElementById("key-form");
  var keyInput = document.getElementById("key-input");
  var keyMsg = document.getElementById("key-msg");
  var keyForget = document.getElementById("key-forget");
  var keyProblem = null;  /* i18n key of the message shown in the key form, or null */
  function readKey() {
    try { return window.sessionStorage.getItem(KEY_ITEM) || null; } catch (e) { return null; }
  }
  function writeKey(value) {
    try {
      if (value) { window.sessionStorage.setItem(KEY_ITEM, value); }
      else { window.sessionStorage.removeItem(KEY_ITEM); }
    } catch (e) { /* storage off: the key lives until the page is left */ }
  }
  var apiKey = readKey();
  function renderKey() {
    keyForm.hidden = !keyProblem;
    keyMsg.textContent = keyProblem ? t(keyProblem) : "";
    keyMsg.className = keyProblem && keyProblem !== "key_needed" ? "error" : "";
    keyForget.hidden = !apiKey;
  }
  function askForKey(httpStatus, sentKey) {
    if (sentKey !== apiKey) { return; }  /* answer to a request sent before the key changed */
    var first = !keyProblem;
    if (httpStatus === 403) { keyProblem = "key_denied"; }
    else if (apiKey) {
      keyProblem = "key_invalid";  /* unknown or revoked: do not send it again */
      apiKey = null;
      writeKey(null);
    } else if (keyProblem !== "key_invalid") { keyProblem = "key_needed"; }
    renderKey();
    if (first) { keyInput.focus(); }
  }
  /* GET a JSON document from this server with the key; 401/403 open the key form. */
  function apiFetch(url, what, options) {
    var headers = { Accept: "application/geo+json, application/json" }, sentKey = apiKey;
    if (sentKey) { headers["X-API-Key"] = sentKey; }
    return fetch(url, { headers: headers, signal: options && options.signal, cache: "no-store" })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) {
          askForKey(r.status, sentKey);
          var err = new Error(what + " HTTP " + r.status);
          err.keyProblem = true;
          throw err;
        }
        if (!r.ok) { throw new Error(what + " HTTP " + r.status); }
        return r.json();
      });
  }
  function fetchFailed(err) {
    if (err && err.name === "AbortError") { return; }
    if (err && err.keyProblem) { setStatus("key_status"); return; }
    setStatus("failed", { what: err && err.message });
  }
  keyForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var value = keyInput.value.trim();
    if (!value) { keyInput.focus(); return; }
    apiKey = value;
    writeKey(value);
    keyInput.value = "";
    keyProblem = null;
    renderKey();
    restart();
  });
  keyForget.addEventListener("click", function () {
    apiKey = null;
    writeKey(null);
    keyProblem = null;
    forgetData();
    renderKey();
    restart();
  });

  /* Column labels in the page's language (fields.js); an unknown column keeps its own name. */
  var FIELDS = window.FR_FIELDS || {};
  function fieldLabel(k) {
    var pair = Object.prototype.hasOwnProperty.call(FIELDS, k) ? FIELDS[k] : null;
    return (pair && pair[lang === "en" ? 1 : 0]) || k;
  }
  function valueLabel(k, v) {
    if (typeof v !== "string") { return v; }
    var words = Object.prototype.hasOwnProperty.call(VALUES, k) ? VALUES[k] : null;
    return (words && Object.prototype.hasOwnProperty.call(words, v)) ? termLabel(words[v]) : v;
  }
  function popupHtml(def, props) {
    var rows = Object.keys(props).filter(function (k) {
      var v = props[k];
      // server file paths are no business of the map's readers
      return k !== "source_file" && v !== null && v !== undefined && v !== "";
    }).map(function (k) {
      var v = props[k];
      if (typeof v === "object") { v = JSON.stringify(v); }
      v = valueLabel(k, v);
      if (typeof v === "boolean") { v = t(v ? "yes" : "no"); }
      if (typeof v === "number" && isFinite(v) && !Number.isInteger(v)) {
        v = Math.abs(v) >= 1 ? String(Math.round(v * 100) / 100) : String(Number(v.toPrecision(3)));
      }
      return '<tr data-field="' + escapeHtml(k) + '"><th title="' + escapeHtml(k) + '">' +
        escapeHtml(fieldLabel(k)) + "</th><td>" + escapeHtml(v) + "</td></tr>";
    });
    var title = { hydrants: "hydrant", blockages: "blockage", stations: "station" }[def.key] || def.key;
    return "<h4>" + escapeHtml(t(title)) + "</h4><table>" + rows.join("") + "</table>";
  }

  var openPopup = null;
  map.on("popupopen", function (e) { openPopup = e.popup; });
  map.on("popupclose", function (e) { if (openPopup === e.popup) { openPopup = null; } });

  var available = {};
  var control = L.control.layers(null, null, { collapsed: false, position: "topright" });

  function makeGroup(def) {
    def.group = L.geoJSON(null, {
      pane: def.pane,
      filter: def.filter,
      style: def.point ? undefined : def.style,
      pointToLayer: function (f, latlng) {
        var opts = def.style(f);
        opts.pane = def.pane;
        return L.circleMarker(latlng, opts);
      },
      onEachFeature: function (f, layer) {
        if (f.id !== undefined && f.id !== null) { def.byId[f.id] = layer; }
        layer.bindPopup(function () { return popupHtml(def, f.properties || {}); }, { maxWidth: 360 });
        if (def.tooltip) {
          var tip = def.tooltip(f.properties || {});
          if (tip) { layer.bindTooltip(tip, { direction: "top", offset: [0, -6] }); }
        }
      }
    });
    def.seq = 0;
    def.byId = {};
    def.ctrl = null;
    def.inflight = null;
    def.more = null;
    control.addOverlay(def.group, '<span class="fr-layer" data-layer="' + def.key + '">' +
                       escapeHtml(t(def.key)) + "</span>");
    if (def.on) { def.group.addTo(map); }
  }

  /* Vector tiles (issue 11): a dense layer of a big workspace (a city's roads, buildings,
     hydrants, coverage gaps, blockages, first-due areas) is drawn from the server's MVT tiles,
     /tiles/{collection}/{z}/{x}/{y}.mvt, with the vendored Leaflet.VectorGrid on canvas: the page
     never pages through a million features. Small collections keep the GeoJSON pages (one SVG
     path per feature). ?draw=tiles or ?draw=features forces one way; ?tile_above= sets the
     feature count above which a layer is tiled (default 20,000). */
  var TILE_KEYS = { areas: true, roads: true, buildings: true, highrises: true, gaps: true,
                    blockages: true, hydrants: true };
  var DRAW = params.get("draw") || "auto";
  var TILE_ABOVE = intParam("tile_above", 20000, 0, 1000000000);
  var itemCounts = {};
  /* What the page's tiles did, for the status bar, tests and the console. */
  var tileStats = { requested: 0, answered: 0, features: 0 };
  window.frTiles = tileStats;

  function drawsFromTiles(def) {
    if (!TILE_KEYS[def.key] || !window.L.VectorGrid || DRAW === "features") { return false; }
    if (DRAW === "tiles") { return true; }
    var n = itemCounts[def.collection];
    return typeof n === "number" && n > TILE_ABOVE;
  }
  function makeLayer(def) {
    if (drawsFromTiles(def)) { makeTileGroup(def); } else { makeGroup(def); }
  }

  /* The request options of one tile: the API key goes in the X-API-Key header (never in the
     URL, where logs would keep it); the browser revalidates cached tiles with their ETag. */
  function tileFetchOptions() {
    var headers = { Accept: "application/vnd.mapbox-vector-tile" };
    if (apiKey) { headers["X-API-Key"] = apiKey; }
    return { headers: headers, cache: "no-cache", credentials: "same-origin" };
  }
  var TileLayer = null;
  function tileLayerClass() {
    if (TileLayer) { return TileLayer; }
    TileLayer = L.VectorGrid.Protobuf.extend({
      _getVectorTilePromise: function (coords) {
        this.options.fetchOptions = tileFetchOptions();
        tileStats.requested += 1;
        var def = this._frDef;
        return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords)
          .then(function (vt) {
            tileStats.answered += 1;
            Object.keys(vt.layers || {}).forEach(function (name) {
              var n = (vt.layers[name].features || []).length;
              tileStats.features += n;
              def.drawn += n;
            });
            return vt;
          });
      }
    });
    return TileLayer;
  }
  /* A layer's Leaflet path options for a tile feature: its GeoJSON style and filter, with the
     fill VectorGrid needs said explicitly; [] hides the feature. */
  function tileStyle(def) {
    return function (properties) {
      var f = { properties: properties || {} };
      if (def.filter && !def.filter(f)) { return []; }
      var s = def.style(f);
      s.fill = !!s.fillColor;
      delete s.className;
      return s;
    };
  }
  function tileUrl(def) {
    return "/tiles/" + encodeURIComponent(def.collection) + "/{z}/{x}/{y}.mvt";
  }
  function makeTileGroup(def) {
    var Layer = tileLayerClass(), styles = {};
    styles[def.collection] = tileStyle(def);
    def.tiled = true;
    def.drawn = 0;
    def.seq = 0;
    def.more = null;
    def.group = new Layer(tileUrl(def), {
      rendererFactory: L.canvas.tile, vectorTileLayerStyles: styles, interactive: true,
      getFeatureId: function (feat) { return feat.id; },  /* keeps each tile's renderer for clicks */
      pane: def.pane, maxZoom: 22, className: "fr-tiles fr-tiles-" + def.key
    });
    def.group._frDef = def;
    def.group.on("loading", function () { def.drawn = 0; document.body.removeAttribute("data-tiles"); });
    def.group.on("load", tilesSettled);
    control.addOverlay(def.group, '<span class="fr-layer" data-layer="' + def.key + '">' +
                       escapeHtml(t(def.key)) + "</span>");
    if (def.on) { def.group.addTo(map); }
  }
  /* Every tile layer on the map has drawn its view: say how much, and mark the page for tests. */
  function tilesSettled() {
    var busy = LAYERS.some(function (def) {
      return def.tiled && map.hasLayer(def.group) && def.group.isLoading();
    });
    if (busy) { return; }
    document.body.setAttribute("data-tiles", "1");
    if (pending === 0 && statusKey !== "failed" && statusKey !== "key_status") {
      setStatus("loaded", { n: countDrawn() });
    }
  }
  /* Clicks on tile features. Each tile is a canvas that would take every click over its whole
     square, hiding the layers below it (and Leaflet.VectorGrid 1.3.0 then calls
     L.DomEvent.fakeStop, gone since Leaflet 1.8): app.css turns their pointer events off, and a
     click on the map is tested here against the features of the tile under it, top pane first. */
  function tileFeatureAt(def, latlng) {
    var grid = def.group, z = grid._tileZoom;
    if (z === undefined || !grid._vectorTiles) { return null; }
    var size = grid.getTileSize(), px = map.project(latlng, z);
    var coords = px.unscaleBy(size).floor();
    coords.z = z;
    var renderer = grid._vectorTiles[grid._tileCoordsToKey(coords)];
    if (!renderer || !renderer._layers) { return null; }
    var local = px.subtract(coords.scaleBy(size)), hit = null;
    Object.keys(renderer._layers).forEach(function (id) {
      var feature = renderer._layers[id];
      if (feature._containsPoint && feature._pxBounds !== undefined && feature._containsPoint(local)) {
        hit = feature;  /* the last drawn, i.e. the one on top */
      }
    });
    return hit;
  }
  function paneZ(def) { return Number(map.getPane(def.pane).style.zIndex) || 0; }
  function onTileClick(e) {
    var defs = LAYERS.filter(function (def) { return def.tiled && map.hasLayer(def.group); })
      .sort(function (a, b) { return paneZ(b) - paneZ(a); });
    for (var i = 0; i < defs.length; i++) {
      var hit = tileFeatureAt(defs[i], e.latlng);
      if (hit) { openTilePopup(defs[i], hit.properties || {}, e.latlng); return; }
    }
  }
  /* A tile feature's popup: at once from the properties the tile carries, then with all of the
     feature's properties from one /items request by its id. */
  function openTilePopup(def, props, latlng) {
    var shown = props;
    var popup = L.popup({ maxWidth: 360 })
      .setLatLng(latlng)
      .setContent(function () { return popupHtml(def, shown); })
      .openOn(map);
    var field = FIND_BY[def.collection], value = field ? props[field] : null;
    if (value === null || value === undefined || value === "") { return; }
    var url = "/ogc/collections/" + encodeURIComponent(def.collection) + "/items?f=json&limit=2&" +
      encodeURIComponent(field) + "=" + encodeURIComponent(String(value));
    apiFetch(url, def.collection).then(function (fc) {
      var features = fc.features || [];
      if (features.length !== 1 || !popup.isOpen()) { return; }  /* not one feature: keep the tile's */
      shown = features[0].properties || props;
      popup.update();
    }).catch(fetchFailed);
  }
  map.on("click", onTileClick);

  function bboxParam() {
    var b = map.getBounds().pad(0.2);
    /* zoomed far out the padded view passes the poles and the antimeridian: clip to WGS84 */
    return [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90),
            Math.min(b.getEast(), 180), Math.min(b.getNorth(), 90)]
      .map(function (v) { return v.toFixed(6); }).join(",");
  }

  function abortError() {
    var err = new Error("aborted");
    err.name = "AbortError";
    return err;
  }
  /* Path and query of a page's `next` link, kept on this server (the links are absolute URLs as
     the server saw the request) and on the same collection; null when there is none. */
  function nextLink(fc, path) {
    var links = fc.links || [];
    for (var i = 0; i < links.length; i++) {
      if (links[i].rel === "next" && links[i].href) {
        var u = new URL(links[i].href, window.location.href);
        return u.pathname === path ? u.pathname + u.search : null;
      }
    }
    return null;
  }
  /* Every page of an /items query, following `next` links up to MAX_FEATURES features;
     onPage(features) as each page arrives. Resolves {received, matched, capped}. */
  function fetchAll(url, what, signal, onPage) {
    var path = new URL(url, window.location.href).pathname, received = 0;
    function step(pageUrl) {
      return apiFetch(pageUrl, what, { signal: signal }).then(function (fc) {
        if (signal && signal.aborted) { throw abortError(); }
        var features = fc.features || [];
        if (features.length > MAX_FEATURES - received) { features = features.slice(0, MAX_FEATURES - received); }
        received += features.length;
        onPage(features);
        var next = nextLink(fc, path);
        var matched = typeof fc.numberMatched === "number" ? fc.numberMatched : null;
        if (next && features.length > 0 && received < MAX_FEATURES) { return step(next); }
        return { received: received, matched: matched, capped: !!next && received >= MAX_FEATURES };
      });
    }
    return step(url);
  }

  var pending = 0;
  function countDrawn() {
    var n = 0;
    LAYERS.forEach(function (def) {
      if (def.group && map.hasLayer(def.group)) { n += def.tiled ? def.drawn : def.group.getLayers().length; }
    });
    return n;
  }
  /* Add a page's new features; ids seen in this load go into keep. */
  function addFeatures(def, features, keep) {
    features.forEach(function (f) {
      var id = f.id;
      if (id === undefined || id === null) { def.group.addData(f); return; }
      keep[id] = true;
      if (!def.byId[id]) { def.group.addData(f); }
    });
  }
  /* After the last page: drop what the view no longer holds (but not a feature with its popup open). */
  function prune(def, keep) {
    Object.keys(def.byId).forEach(function (id) {
      var layer = def.byId[id];
      if (!keep[id] && !(layer.isPopupOpen && layer.isPopupOpen())) {
        def.group.removeLayer(layer);
        delete def.byId[id];
      }
    });
  }
  function abortLoad(def) {
    def.seq += 1;
    def.inflight = null;
    if (def.ctrl) { def.ctrl.abort(); def.ctrl = null; }
  }

  /* Load the view's features of one layer, page by page; features already drawn (and an open
     popup) stay while the view moves. A new load aborts the one in flight: its pages never draw. */
  function load(def, force) {
    if (def.tiled) { if (force && map.hasLayer(def.group)) { def.group.redraw(); } return; }
    if (!map.hasLayer(def.group)) { abortLoad(def); return; }
    var url = "/ogc/collections/" + encodeURIComponent(def.collection) + "/items?f=json&limit=" +
      PAGE_SIZE + "&bbox=" + bboxParam();
    if (!force && def.inflight === url) { return; }  /* the same view is on its way already */
    abortLoad(def);
    var seq = def.seq, keep = {}, cleared = !force;
    var ctrl = window.AbortController ? new AbortController() : null;
    def.ctrl = ctrl;
    def.inflight = url;
    pending += 1;
    setStatus("loading");
    fetchAll(url, def.collection, ctrl && ctrl.signal, function (features) {
      if (seq !== def.seq) { throw abortError(); }
      if (!cleared) { def.group.clearLayers(); def.byId = {}; cleared = true; }
      addFeatures(def, features, keep);
    })
      .then(function (result) {
        if (seq !== def.seq) { return; }
        prune(def, keep);
        def.more = result.matched !== null && result.matched > result.received ?
          { shown: result.received, matched: result.matched, capped: result.capped } : null;
      })
      .catch(fetchFailed)
      .then(function () {
        if (seq === def.seq) { def.ctrl = null; def.inflight = null; }
        pending -= 1;
        if (pending === 0) {
          if (statusKey !== "failed" && statusKey !== "key_status") { setStatus("loaded", { n: countDrawn() }); }
          renderNotice();
          document.body.setAttribute("data-loaded", "1");
        }
      });
  }
  function reloadAll(force) {
    if (statusKey === "failed" || (statusKey === "key_status" && !keyProblem)) { setStatus(null); }
    document.body.removeAttribute("data-loaded");
    LAYERS.forEach(function (def) { if (def.group) { load(def, force); } });
    if (pending === 0) {
      if (!keyProblem) { setStatus("loaded", { n: 0 }); }
      renderNotice();
      document.body.setAttribute("data-loaded", "1");
    }
  }

  /* Which layers hold more features in view than were fetched (over the cap): say so in the bar. */
  var notice = document.getElementById("notice");
  function renderNotice() {
    var parts = [], capped = false;
    LAYERS.forEach(function (def) {
      if (!def.more || !def.group || !map.hasLayer(def.group)) { return; }
      parts.push(t(def.key) + " " + def.more.shown + " / " + def.more.matched);
      capped = capped || def.more.capped;
    });
    var text = parts.length ? t("more").replace("{list}", parts.join(lang === "zh" ? "；" : "; ")) : "";
    if (capped) { text += (lang === "zh" ? "" : " ") + t("cap").replace("{max}", String(MAX_FEATURES)); }
    notice.textContent = text;
    notice.hidden = !text;
  }
  var timer = null;
  map.on("moveend", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { reloadAll(false); }, 150);
  });
  map.on("overlayadd", function (e) {
    LAYERS.forEach(function (def) { if (def.group === e.layer) { load(def); } });
  });
  map.on("overlayremove", function (e) {
    LAYERS.forEach(function (def) {
      if (def.group === e.layer) { abortLoad(def); def.more = null; renderNotice(); }
    });
  });

  /* Legend */
  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    this._div = L.DomUtil.create("div", "fr-legend leaflet-control");
    L.DomEvent.disableClickPropagation(this._div);
    L.DomEvent.disableScrollPropagation(this._div);
    L.DomEvent.on(this._div, "change", onLegendChange);
    return this._div;
  };
  function renderLegend() {
    if (!legend._div) { return; }
    function swatch(c, cls) { return '<i class="' + (cls || "") + '" style="background:' + c + '"></i>'; }
    function toggle(id, c, label) {
      return '<label><input type="checkbox" data-hide="' + id + '"' + (hidden[id] ? "" : " checked") + ">" +
        swatch(c) + escapeHtml(label) + "</label>";
    }
    function row(html) { return "<div>" + html + "</div>"; }
    var parts = ["<strong>" + escapeHtml(t("legend")) + "</strong>"];
    if (groupOn("hydrants")) {
      (VOCAB.hydrant_status || []).forEach(function (term) {
        parts.push(row(toggle("status:" + term.code, term.colour, t("hydrant") + " · " + termLabel(term))));
      });
    }
    if (groupOn("proposed")) { parts.push(row(swatch("#a5d6a7") + escapeHtml(t("proposed")))); }
    if (groupOn("gaps")) { parts.push(row(swatch("#d50000", "line") + escapeHtml(t("gaps")))); }
    if (groupOn("blockages")) {
      parts.push(row(swatch("#ff6f00") + escapeHtml(t("blockage") + " · " + t("open"))));
      parts.push(row(swatch("#bdbdbd") + escapeHtml(t("blockage") + " · " + t("done"))));
    }
    if (groupOn("highrises")) {
      (VOCAB.building_class || []).forEach(function (term) {
        if (CLASS_COLOURS[term.code]) { parts.push(row(toggle("class:" + term.code, term.colour, termLabel(term)))); }
      });
    }
    if (groupOn("stations")) { parts.push(row(swatch("#ffffff", "station") + escapeHtml(t("station")))); }
    legend._div.innerHTML = parts.join("");
  }
  function groupOn(key) {
    return LAYERS.some(function (def) { return def.key === key && def.group; });
  }
  function onLegendChange(e) {
    var id = e.target && e.target.getAttribute("data-hide");
    if (!id) { return; }
    hidden[id] = !e.target.checked;
    LAYERS.forEach(function (def) {
      if (def.group && ((id.indexOf("status:") === 0 && def.key === "hydrants") ||
                        (id.indexOf("class:") === 0 && def.key === "highrises"))) { load(def, true); }
    });
  }

  /* Districts */
  var districtBox = document.getElementById("district-box");
  var districtSelect = document.getElementById("district");
  var districtLayer = null;
  function districtName(p, i) {
    return p.name || p.district || p.district_name || p.district_id || p.id || String(i + 1);
  }
  function loadDistricts() {
    if (!available.districts || districtLayer) { return; }
    var all = [];
    fetchAll("/ogc/collections/districts/items?f=json&limit=" + PAGE_SIZE, "districts", null,
             function (page) { all = all.concat(page); })
      .then(function () {
        var features = all.filter(function (f) { return f.geometry; });
        if (!features.length || districtLayer) { return; }
        districtLayer = L.geoJSON({ type: "FeatureCollection", features: features }, {
          pane: "areas", interactive: false,
          style: function () { return { color: "#37474f", weight: 2, fill: false, dashArray: "1 5" }; }
        }).addTo(map);
        features.forEach(function (f, i) {
          var opt = document.createElement("option");
          opt.value = String(i);
          opt.textContent = districtName(f.properties || {}, i);
          districtSelect.appendChild(opt);
        });
        districtFeatures = features;
        districtBox.hidden = false;
      })
      .catch(fetchFailed);
  }
  var districtFeatures = [];
  districtSelect.addEventListener("change", function () {
    var i = districtSelect.value;
    var target = i === "" ? districtLayer : L.geoJSON(districtFeatures[Number(i)]);
    if (target) { map.fitBounds(target.getBounds(), { padding: [20, 20] }); }
  });

  /* After "forget key": nothing read with the key stays on the page. */
  function forgetData() {
    LAYERS.forEach(function (def) {
      if (def.group && def.tiled) { def.group.redraw(); }  /* refetched without the key: empty */
      else if (def.group) { abortLoad(def); def.group.clearLayers(); def.byId = {}; def.more = null; }
    });
    if (districtLayer) { map.removeLayer(districtLayer); districtLayer = null; }
    districtFeatures = [];
    while (districtSelect.options.length > 1) { districtSelect.remove(1); }
    districtSelect.value = "";
    districtBox.hidden = true;
    renderLegend();
    renderNotice();
  }

  /* Language */
  function applyLanguage() {
    document.documentElement.lang = lang === "zh" ? "zh" : "en";
    document.title = t("title");
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    document.getElementById("lang").textContent = t("lang");
    keyInput.placeholder = t("key_label");
    renderKey();
    LAYERS.forEach(function (def) {
      if (!def.group) { return; }
      /* The layers control keeps the label HTML it was given: rename there too. */
      control._layers.forEach(function (entry) {
        if (entry.layer === def.group) {
          entry.name = '<span class="fr-layer" data-layer="' + def.key + '">' + escapeHtml(t(def.key)) + "</span>";
        }
      });
    });
    if (control._map) { control._update(); }
    if (openPopup && openPopup.isOpen()) { openPopup.update(); }
    renderLegend();
    renderNotice();
    if (statusKey) { setStatus(statusKey, statusArgs); }
  }
  document.getElementById("lang").addEventListener("click", function () {
    lang = lang === "zh" ? "en" : "zh";
    applyLanguage();
  });
  if (params.get("lang") === "en") { lang = "en"; }

  /* Start: which collections exist, and where they are. */
  function extentOf(collections) {
    var order = ["roads_analysis", "buildings_analysis", "hydrants_analysis", "station_areas"];
    for (var i = 0; i < order.length; i++) {
      var c = collections.filter(function (x) { return x.id === order[i]; })[0];
      var box = c && c.extent && c.extent.spatial && c.extent.spatial.bbox && c.extent.spatial.bbox[0];
      if (box && box.length >= 4 && isFinite(box[0])) {
        return L.latLngBounds([box[1], box[0]], [box[3], box[2]]);
      }
    }
    return null;
  }

  /* Basemap: ?tiles= wins over the basemap_url setting; with neither, the own roads and buildings. */
  var tiles = null;
  function useTiles(url, attribution) {
    tiles = L.tileLayer(url, { maxZoom: 19, attribution: escapeHtml(attribution || t("tiles")) });
    tiles.addTo(map);
  }
  function readConfig() {
    return fetch("/web/config.json", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .catch(function () { return {}; })
      .then(function (config) {
        var basemap = config && config.basemap;
        if (params.get("tiles")) { useTiles(params.get("tiles"), t("tiles")); }
        else if (basemap && basemap.url) { useTiles(basemap.url, basemap.attribution); }
      });
  }
  control.addTo(map);
  legend.addTo(map);

  /* Which collections exist (this needs a key when public_read is off), then draw them. */
  var booted = false;
  function boot() {
    return apiFetch("/ogc/collections?f=json", "collections")
      .then(function (doc) {
        var collections = doc.collections || [];
        collections.forEach(function (c) { available[c.id] = true; itemCounts[c.id] = c.itemCount; });
        /* the view first: the layers load for it as they are added */
        var bounds = extentOf(collections);
        if (bounds) { map.fitBounds(bounds); } else { map.setView([0, 0], 2); }
        LAYERS.forEach(function (def) {
          if (available[def.collection] && !(def.basemap && tiles) && !def.group) { makeLayer(def); }
        });
        booted = true;
        applyLanguage();
        loadDistricts();
      })
      .catch(function (err) {
        if (!map._loaded) { map.setView([0, 0], 2); }
        fetchFailed(err);
      });
  }
  /* A new key (or none): start over where the page stopped. */
  function restart() {
    if (!booted) { boot(); return; }
    loadDistricts();
    reloadAll(true);
  }

  Promise.all([readConfig(), readVocabulary()]).then(boot);
  applyLanguage();
})();
