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
        className: "meeting-region" + (p.sel ? " meeting-region-selected" : ""),
        color: p.sel ? "#fde047" : "#9cc9ff",
        weight: p.sel ? 3 : 1.2,
        fillColor: p.fill || "#334155",
        fillOpacity: 0.62,
      };
    },
    regionTooltip: function (feature, layer) {
      const p = feature.properties || {};
      layer.bindTooltip(textNode((p.name || "") + "  " + (p.v || "")), { sticky: true });
    },
    shopPoint: function (feature, latlng) {
      const c = STATUS_COLOUR[feature.properties.s] || STATUS_COLOUR.v;
      return L.circleMarker(latlng, {
        className: "meeting-shop meeting-shop-" + feature.properties.s,
        radius: 5, color: "#0b1220", weight: 1, fillColor: c, fillOpacity: 0.95,
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
    /* Fit the selected region once the map has loaded, and again whenever the selection changes. */
    fit: function (b, nLoads) {
      if (!b || !nLoads) return window.dash_clientside.no_update;
      const trig = (window.dash_clientside.callback_context.triggered || []).map((t) => t.prop_id);
      if (b.key === lastKey && !trig.includes("meeting-map.n_loads")) return window.dash_clientside.no_update;
      lastKey = b.key;
      return { bounds: b.bounds, transition: "fitBounds", options: { padding: [16, 16], animate: false } };
    },
  };
})();
