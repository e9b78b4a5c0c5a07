/* Cegah risk map: a sortable, filterable table of areas and a Leaflet choropleth of the
   same areas. No library besides Leaflet (vendored); nothing is fetched from elsewhere
   unless a basemap tile server is configured. */
(function () {
  "use strict";

  var HATCH = "url(#rk-hatch)";
  var lang = document.documentElement.lang || "id";

  function text(value) { return value === null || value === undefined ? "" : String(value); }

  /* ------------------------------------------------------------------ the table */

  function initTable(table) {
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var collator = new Intl.Collator(lang, { sensitivity: "base", numeric: true });
    var filter = document.getElementById("risk-filter");
    var tierFilter = document.getElementById("risk-tier-filter");
    var count = document.getElementById("risk-count");
    var countTemplate = table.getAttribute("data-count-template") || "";

    function value(row, col) {
      var cell = row.cells[col];
      return cell ? text(cell.getAttribute("data-v")) : "";
    }

    function compare(a, b) {  // empty values last, numbers as numbers
      if (a === "" || b === "") { return (a === "") - (b === ""); }
      var x = Number(a), y = Number(b);
      if (!isNaN(x) && !isNaN(y)) { return x - y; }
      return collator.compare(a, b);
    }

    heads.forEach(function (th) {
      var button = th.querySelector("button[data-col]");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var col = Number(button.getAttribute("data-col"));
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var sign = dir === "ascending" ? 1 : -1;
        var sorted = rows.slice().sort(function (r1, r2) {
          var a = value(r1, col), b = value(r2, col);
          if (a === "" || b === "") { return compare(a, b); }
          return sign * compare(a, b) || compare(value(r1, 0), value(r2, 0));
        });
        sorted.forEach(function (row) { tbody.appendChild(row); });
      });
    });

    function applyFilter() {
      var q = filter ? filter.value.trim().toLowerCase() : "";
      var tier = tierFilter ? tierFilter.value : "";
      var shown = 0;
      rows.forEach(function (row) {
        var ok = (!q || row.getAttribute("data-name").indexOf(q) !== -1 ||
                  row.getAttribute("data-code").indexOf(q) === 0) &&
                 (!tier || row.getAttribute("data-tier") === tier);
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      if (count && countTemplate) {
        count.textContent = countTemplate.replace("%(shown)s", shown)
                                         .replace("%(total)s", rows.length);
      }
    }
    if (filter) { filter.addEventListener("input", applyFilter); }
    if (tierFilter) { tierFilter.addEventListener("change", applyFilter); }
  }

  /* ------------------------------------------------------------------ the map */

  function initMap(el, cfg) {
    var layerName = cfg.layer;
    var geo = null;
    var map = L.map(el, { zoomSnap: 0.25, attributionControl: !!cfg.tiles.url });
    map.setView([-2.5, 118], 4);  // Indonesia, until the areas are loaded
    if (cfg.tiles.url) {
      L.tileLayer(cfg.tiles.url, { attribution: cfg.tiles.attribution, maxZoom: 18 }).addTo(map);
    }
    var legend = document.getElementById("risk-legend");
    if (legend) {
      var Legend = L.Control.extend({
        onAdd: function () {
          legend.classList.add("in-map");
          L.DomEvent.disableClickPropagation(legend);
          L.DomEvent.disableScrollPropagation(legend);
          return legend;
        }
      });
      new Legend({ position: "bottomright" }).addTo(map);
    }

    function number(value) {
      var digits = layerName === "score" ? 2 : 1;
      return new Intl.NumberFormat(lang, { maximumFractionDigits: digits,
                                           minimumFractionDigits: digits }).format(value);
    }

    function countLabel(label) {  // "1234" -> "1.234" (id); "<5" and "x" stay
      return /^\d+$/.test(label) ? new Intl.NumberFormat(lang).format(Number(label)) : label;
    }

    function fill(p) {
      if (layerName === "tier") { return cfg.tierColours[p.tier] && p.tier !== "unknown" ? cfg.tierColours[p.tier] : HATCH; }
      if (layerName === "coverage") {  // activity counts: shared with everyone
        var c = cfg.layers.coverage, k = 0, n = p.activities || 0;
        while (k < c.breaks.length && n >= c.breaks[k]) { k += 1; }
        return c.colours[k];
      }
      if (!p.entitled) { return cfg.notAvailable; }
      var v = p[layerName];
      if (v === null || v === undefined) { return HATCH; }
      var spec = cfg.layers[layerName];
      if (layerName === "underreporting") { return v ? spec.colours[1] : spec.colours[0]; }
      var i = 0;
      while (i < spec.breaks.length && v >= spec.breaks[i]) { i += 1; }
      return spec.colours[i];
    }

    function style(feature) {
      var focus = feature.properties.code === cfg.focus;
      return { fillColor: fill(feature.properties), fillOpacity: 0.85, color: focus ? "#111" : "#fff",
               weight: focus ? 3 : 1, opacity: 1 };
    }

    function valueText(p) {
      if (layerName === "tier") { return ""; }
      if (layerName === "coverage") {
        var fmt = new Intl.NumberFormat(lang);
        return cfg.labels.activities + ": " + fmt.format(p.activities || 0) +
          (p.activities ? " (" + fmt.format(p.reached || 0) + " " + cfg.labels.reached + ")" : "");
      }
      var label = cfg.labels.layers[layerName] + ": ";
      if (!p.entitled) { return label + cfg.labels.notAvailable; }
      var v = p[layerName];
      if (v === null || v === undefined) { return label + cfg.labels.noData; }
      if (layerName === "underreporting") { return v ? cfg.labels.yes : cfg.labels.no; }
      return label + number(v);
    }

    function tooltip(layer) {
      var p = layer.feature.properties;
      var box = document.createElement("div");
      box.className = "rk-tooltip";
      var name = document.createElement("strong");
      name.textContent = p.name;
      box.appendChild(name);
      [cfg.labels.tiers[p.tier] || p.tier, valueText(p),
       p.cases_label ? cfg.labels.cases + ": " + countLabel(p.cases_label) : ""].forEach(function (line) {
        if (!line) { return; }
        var div = document.createElement("div");
        div.textContent = line;
        box.appendChild(div);
      });
      return box;
    }

    function target(p) {
      var url = p.url;
      if (p.has_children && layerName !== "tier" && url.indexOf(cfg.mapUrl) === 0) {
        url += (url.indexOf("?") === -1 ? "?" : "&") + "layer=" + encodeURIComponent(layerName);
      }
      return url;
    }

    function onEachFeature(feature, layer) {
      layer.bindTooltip(tooltip, { sticky: true, direction: "top", opacity: 0.95 });
      layer.on("click", function () { window.location.href = target(feature.properties); });
      layer.on("mouseover", function () { layer.setStyle({ weight: 3, color: "#111" }); });
      layer.on("mouseout", function () { if (geo) { geo.resetStyle(layer); } });
      if (layer.getElement && layer.getElement()) {
        layer.getElement().setAttribute("data-code", feature.properties.code);
      }
    }

    fetch(cfg.dataUrl, { credentials: "same-origin", headers: { "Accept": "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) {
        geo = L.geoJSON(data, { style: style, onEachFeature: onEachFeature }).addTo(map);
        geo.eachLayer(function (layer) {
          var path = layer.getElement && layer.getElement();
          if (path) { path.setAttribute("data-code", layer.feature.properties.code); }
        });
        if (geo.getLayers().length) {
          map.fitBounds(geo.getBounds(), { padding: [8, 8] });
        }
        el.setAttribute("data-features", String(geo.getLayers().length));
      })
      .catch(function () {
        var note = document.createElement("p");
        note.className = "rk-map-failed";
        note.textContent = cfg.labels.failed;
        el.parentNode.insertBefore(note, el);
        el.setAttribute("data-features", "0");
      });

    var select = document.getElementById("risk-layer");
    if (select) {
      select.addEventListener("change", function () {
        layerName = select.value;
        if (geo) { geo.setStyle(style); }
        document.querySelectorAll(".rk-legend-layer").forEach(function (box) {
          box.hidden = box.getAttribute("data-layer") !== layerName;
        });
        if (window.history && window.URL) {
          var url = new URL(window.location.href);
          if (layerName === "tier") { url.searchParams.delete("layer"); } else { url.searchParams.set("layer", layerName); }
          window.history.replaceState(null, "", url.toString());
        }
      });
    }
  }

  function init() {
    var table = document.getElementById("risk-table");
    if (table) { initTable(table); }
    var el = document.getElementById("risk-map");
    var cfgNode = document.getElementById("risk-config");
    if (el && cfgNode && window.L) {
      initMap(el, JSON.parse(cfgNode.textContent));
    }
    var focus = document.querySelector(".rk-focus");
    if (focus && !el) { focus.scrollIntoView({ block: "center" }); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
