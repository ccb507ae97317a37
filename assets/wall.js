/* Watchfloor wall: clientside callbacks and map styling. No network access except this server.
   Upstream text (shop names) is only ever put into the DOM as text nodes, never as HTML. */
window.wf = window.wf || {};

(function () {
  const NO = () => window.dash_clientside.no_update;
  const STATUS_COLOUR = { v: "#34d399", s: "#fbbf24", r: "#f87171", e: "#94a3b8" };
  // Sequential ramp for cell counts (dark blue → cyan → yellow), readable on a dark wall.
  const RAMP = ["#1e3a8a", "#1d4ed8", "#0891b2", "#14b8a6", "#84cc16", "#facc15", "#fb923c"];

  function fmt(n, lang) {
    if (n === null || n === undefined) return "—";
    return Number(n).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB");
  }
  function textNode(s) {
    const el = document.createElement("span");
    el.textContent = s;
    return el;
  }

  window.wf.map = {
    boundaryStyle: function (feature, context) {
      const h = context.hideout || {};
      return { color: h.color, weight: h.weight, fill: false, opacity: 0.9 };
    },
    cellStyle: function (feature, context) {
      const n = feature.properties.n || 0;
      const k = Math.min(RAMP.length - 1, feature.properties.k || 0); // log-scaled class from the server
      return { className: "wf-cell", color: RAMP[k], weight: 0.5, fillColor: RAMP[k], fillOpacity: n > 0 ? 0.72 : 0.15 };
    },
    pointToLayer: function (feature, latlng) {
      const c = STATUS_COLOUR[feature.properties.s] || STATUS_COLOUR.v;
      return L.circleMarker(latlng, { className: "wf-shop wf-shop-" + feature.properties.s, radius: 6, color: "#0b1220", weight: 1, fillColor: c, fillOpacity: 0.95 });
    },
    onEachFeature: function (feature, layer) {
      const p = feature.properties;
      if (p.no) {
        layer.bindTooltip(textNode(p.no + " " + (p.name || "")));
      } else if (p.t !== undefined) {
        layer.bindTooltip(textNode(p.n + " / " + p.t));
      }
    },
  };

  let lastUrl = null, lastUrlAt = 0, lastView = null;

  // Dash looks clientside callbacks up in window.dash_clientside[namespace][name].
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.wall = {
    /* Merge the server snapshot and the pushes into one state and the KPI texts. */
    merge: function (snapshot, licence, indicators, state, config) {
      const trig = (window.dash_clientside.callback_context.triggered || []).map((t) => t.prop_id);
      const s = Object.assign({}, state || {});
      if (trig.includes("wall-snapshot.data") && snapshot) {
        s.adcode = snapshot.adcode;
        s.active = snapshot.active;
        s.per1000 = snapshot.per_1000;
        s.lastIngestMs = snapshot.lastIngestMs;
        s.version = snapshot.version;
        s.skewMs = Date.now() - snapshot.serverMs;
      }
      if (trig.includes("wall-socket.data-licence") && licence && licence.adcode === s.adcode) {
        s.active = licence.active;
        s.version = Math.max(s.version || 0, licence.version || 0);
        s.lastIngestMs = licence.last_ingest_ms;
      }
      if (trig.includes("wall-socket.data-indicators") && indicators && indicators.adcode === s.adcode) {
        s.per1000 = indicators.per_1000;
      }
      const lang = config.lang;
      const density = s.per1000 === null || s.per1000 === undefined ? "—" : Number(s.per1000).toFixed(2);
      return [s, fmt(s.active, lang), density];
    },

    /* Every second: the clock, the freshness badge and the connection line. */
    tick: function (n, connected, state, config) {
      const text = config.text;
      const now = new Date();
      const clock = now.toLocaleString(config.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
      let badge = text["wall.nodata"], cls = "wall-badge wall-badge-none";
      if (state && state.lastIngestMs) {
        const serverNow = now.getTime() - (state.skewMs || 0);
        const age = Math.max(0, serverNow - state.lastIngestMs);
        if (age > config.staleAfterMs) {
          const since = new Date(state.lastIngestMs + (state.skewMs || 0));
          const hhmm = since.toTimeString().slice(0, 5);
          badge = text["wall.stale"].replace("{time}", hhmm);
          cls = "wall-badge wall-badge-stale";
        } else {
          const sec = Math.round(age / 1000);
          const ageText = sec < 60 ? text["unit.seconds"].replace("{n}", sec)
            : text["unit.minutes"].replace("{n}", Math.round(sec / 60));
          badge = text["wall.fresh"].replace("{age}", ageText);
          cls = "wall-badge wall-badge-fresh";
        }
      }
      const conn = connected === false ? text["wall.connection.lost"] : "";
      return [clock, badge, cls, conn];
    },

    /* Fit the whole province to the screen once the map has loaded (any wall size or aspect). */
    fit: function (nLoads, config) {
      return { bounds: config.bounds, transition: "fitBounds", options: { padding: [12, 12], animate: false } };
    },

    /* The licence layer URL for the current view; new data reloads it at most every refreshMs. */
    layerUrl: function (bounds, zoom, state, n, config) {
      if (!bounds) return NO();
      // bounds are [[south, west], [north, east]]; zoom is only known after the first move
      const b = [bounds[0][1], bounds[0][0], bounds[1][1], bounds[1][0]].map((v) => v.toFixed(4));
      const z = zoom === undefined || zoom === null ? "" : Number(zoom).toFixed(2);
      const view = b.join(",") + "|" + z;
      const version = (state && state.version) || 0;
      const url = "/api/v1/map/licences?bbox=" + b.join(",") + "&zoom=" + z + "&v=" + version;
      if (url === lastUrl) return NO();
      const now = Date.now();
      if (view === lastView && now - lastUrlAt < config.refreshMs) return NO();
      lastUrl = url; lastUrlAt = now; lastView = view;
      return url;
    },
  };
})();
