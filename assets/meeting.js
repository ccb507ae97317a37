/* Watchfloor /meeting: map styles, tooltips and clientside callbacks. No network access except this
   server. Region and shop names go into the DOM as text nodes, never as HTML. */
window.wf = window.wf || {};

(function () {
  const STATUS_COLOUR = { v: "#34d399", s: "#fbbf24", r: "#f87171", e: "#94a3b8" };

  function textNode(s) {
    const el = document.createElement("span");
    el.textContent = s;
    return el;
  }

  window.wf.meeting = {
    contextStyle: function () {
      return { color: "#2b4a6f", weight: 0.6, fill: false, opacity: 0.7 };
    },
    regionStyle: function (feature) {
      const p = feature.properties || {};
      return {
        className: "meeting-region meeting-region-" + p.adcode + (p.sel ? " meeting-region-selected" : ""),
        color: p.sel ? "#fde047" : "#9cc9ff",
        weight: p.sel ? 3 : 1.2,
        fillColor: p.fill || "#334155",
        fillOpacity: p.dim ? 0.18 : 0.62,
      };
    },
    /* A permanent label on each region: its name and value, as text nodes. */
    regionTooltip: function (feature, layer) {
      const p = feature.properties || {};
      const label = document.createElement("div");
      const name = textNode(p.name || "");
      name.className = "meeting-label-name";
      const value = textNode(p.v || "");
      value.className = "meeting-label-value";
      label.append(name, value);
      layer.bindTooltip(label, { permanent: true, direction: "center", className: "meeting-label", interactive: false });
    },
    shopPoint: function (feature, latlng) {
      const p = feature.properties, c = STATUS_COLOUR[p.s] || STATUS_COLOUR.v;
      return L.circleMarker(latlng, {
        className: "meeting-shop meeting-shop-" + p.s + (p.sel ? " meeting-shop-selected" : ""),
        radius: p.sel ? 11 : 6, color: p.sel ? "#fde047" : "#0b1220", weight: p.sel ? 3 : 1,
        fillColor: c, fillOpacity: 0.95,
      });
    },
    shopTooltip: function (feature, layer) {
      const p = feature.properties || {};
      layer.bindTooltip(textNode((p.no || "") + " " + (p.name || "")));
    },
  };

  let lastKey = null;
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.meeting = {
    /* The screen height, for chart font sizes that scale like the vh-sized rest of the page. */
    screen: function () {
      return window.innerHeight;
    },
    /* Fit the selected region whenever the selection changes (and again should the map reload). The
       map's load event may come before Dash listens, so bounds alone are enough to fit. */
    fit: function (b, nLoads) {
      const NO = window.dash_clientside.no_update;
      if (!b) return [NO, NO];
      const trig = (window.dash_clientside.callback_context.triggered || []).map((t) => t.prop_id);
      if (b.key === lastKey && !trig.includes("meeting-map.n_loads")) return [NO, NO];
      lastKey = b.key;
      // Leaflet caches the container size; the grid may have settled since, so re-measure first
      // (dash-leaflet applies invalidateSize before the viewport in the same render)
      const view = { bounds: b.bounds, transition: "fitBounds", options: { padding: [16, 16], animate: false } };
      return [Date.now(), view];
    },
  };
})();
