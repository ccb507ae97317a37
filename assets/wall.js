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
  function shopStyle(feature) {
    const c = STATUS_COLOUR[feature.properties.s] || STATUS_COLOUR.v;
    return { className: "wf-shop wf-shop-" + feature.properties.s, pane: "scene-licences", radius: 6, color: "#0b1220", weight: 1, fillColor: c, fillOpacity: 0.95 };
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
      // Leaflet applies style() to point markers too: a shop keeps its status colours
      if (feature.geometry && feature.geometry.type === "Point") return shopStyle(feature);
      const n = feature.properties.n || 0;
      const k = Math.min(RAMP.length - 1, feature.properties.k || 0); // log-scaled class from the server
      return { className: "wf-cell", color: RAMP[k], weight: 0.5, fillColor: RAMP[k], fillOpacity: n > 0 ? 0.72 : 0.15 };
    },
    pointToLayer: function (feature, latlng) {
      return L.circleMarker(latlng, shopStyle(feature));
    },
    /* A licence cell's or shop's tooltip text: "licence no. name" or "licences / total" (null: none). */
    licenceTip: function (p) {
      if (p.no) return p.no + " " + (p.name || "");
      if (p.t !== undefined) return p.n + " / " + p.t;
      return null;
    },
  };

  /* One tooltip for a whole layer, filled with the hovered feature's text: a tooltip bound to each of
     the ~600 cells of a view cost as much as drawing them (docs/performance.md, "First paint").
     Returns the function that closes it. */
  function hoverTip(layer, map, text) {
    const tip = L.tooltip();
    const close = () => map.closeTooltip(tip);
    layer.on("mouseover", (e) => {
      const t = e.layer.feature && text(e.layer.feature.properties);
      if (t === null || t === undefined) return;
      map.openTooltip(tip.setLatLng(e.latlng).setContent(textNode(t)));
    });
    layer.on("mouseout", close);
    return close;
  }

  /* Text and class of one source's freshness badge: age, "stale since HH:MM" or "no data yet". */
  function hhmm(ms, timeZone) {
    return new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: timeZone });
  }
  function badge(text, source, lastMs, skewMs, staleMs, now, timeZone) {
    if (!lastMs) return [text["wall.badge.none"].replace("{source}", source), "wall-badge wall-badge-none"];
    const age = Math.max(0, now.getTime() - skewMs - lastMs);
    if (age > staleMs) {
      const since = hhmm(lastMs + skewMs, timeZone);
      return [text["wall.badge.stale"].replace("{source}", source).replace("{time}", since), "wall-badge wall-badge-stale"];
    }
    const sec = Math.round(age / 1000);
    const ageText = sec < 60 ? text["unit.seconds"].replace("{n}", sec)
      : sec < 3600 ? text["unit.minutes"].replace("{n}", Math.round(sec / 60))
      : text["unit.hours"].replace("{n}", Math.round(sec / 3600));
    return [text["wall.badge.fresh"].replace("{source}", source).replace("{age}", ageText), "wall-badge wall-badge-fresh"];
  }
  window.wf.fmt = fmt;
  window.wf.hhmm = hhmm;
  window.wf.textNode = textNode;

  /* The city ranking's rows shrink so all 13 fit its panel (short on 16:9 walls): the list's height goes
     into --rank-h whenever it changes size. Not a CSS container query: a font size in cqh units made
     every layout of the page re-style the rows (+3-4 ms on each push; docs/performance.md). */
  function fitRanking(list) {
    if (!list) return;
    new ResizeObserver((entries) => {
      list.style.setProperty("--rank-h", entries[entries.length - 1].contentRect.height + "px");
    }).observe(list);
  }

  /* The licence layer: plain Leaflet on dash-leaflet's map, fed by URL (docs/wall.md, "First paint").
     Its first view is fetched as the page loads (the page preloads it and names it in a <meta>) and
     drawn the moment the map exists, not after React has mounted a GeoJSON component and asked for it.
     A newer view replaces an older one, never the other way round; a failed fetch is retried. */
  window.wf.licences = (function () {
    // failing: the latest fetch asked for failed (layerUrl asks again on the next tick, unthrottled)
    let map = null, layer = null, closeTip = null, asked = 0, drawn = 0, latest = null, failing = false;
    function draw() {
      if (!layer || !latest) return;
      closeTip(); // once, not per removed cell: a redraw removes the hovered cell without a mouseout
      layer.clearLayers();
      layer.addData(latest);
    }
    function show(url) {
      const mine = ++asked;
      failing = false;
      fetch(url, { credentials: "same-origin" })
        .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then((data) => {
          if (mine < drawn) return; // a newer view is on screen already
          drawn = mine; latest = data; draw();
        })
        .catch(() => { if (mine === asked) failing = true; }); // an older view's failure does not matter
    }
    function attach(m) {
      map = m;
      const pane = map.getPane("scene-licences") || map.createPane("scene-licences");
      pane.style.zIndex = 410; // above the overlay pane (400), under the boundaries (450+)
      const fn = window.wf.map;
      layer = L.geoJSON(null, { pane: "scene-licences", style: fn.cellStyle, pointToLayer: fn.pointToLayer }).addTo(map);
      closeTip = hoverTip(layer, map, fn.licenceTip);
      draw();
    }
    // every Leaflet map runs this when created: the wall's takes the layer (and the ranking, rendered
    // in the same commit, starts following its height)
    if (window.L && L.Map) {
      L.Map.addInitHook(function () {
        if (this.getContainer().id !== "wall-map") return;
        attach(this);
        fitRanking(document.getElementById("wall-ranking"));
      });
    }
    // once the parser has passed the page's <link rel=preload> of that URL: this fetch then reuses the
    // preloaded response (asked for before that element is parsed, the browser fetches it twice)
    function start() {
      const first = document.querySelector('meta[name="wf-licence-layer"]');
      if (first && !asked) show(first.content);
    }
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
    return { show: show, failing: () => failing, map: () => map };
  })();

  let lastUrl = null, lastUrlAt = 0, lastView = null;

  // Dash looks clientside callbacks up in window.dash_clientside[namespace][name].
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.wall = {
    /* Merge the server snapshot and the pushes into one state, the active-licence text, and the
       density (per 1,000 people) only when it changed: a licence push (up to 20 a second) then runs
       this callback alone; the KPI tiles listen to the density, the layer reads the state each tick. */
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
      const density = s.per1000 === (state || {}).per1000 && state ? NO() : s.per1000;
      return [s, fmt(s.active, config.lang), density];
    },

    /* Every second: the clock, one freshness badge per upstream source and the connection line. */
    tick: function (n, connected, state, panels, config) {
      const text = config.text;
      const now = new Date();
      const clock = now.toLocaleString(config.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false, timeZone: config.timeZone });
      const texts = [], classes = [];
      const sources = (panels && panels.sources) || {};
      const panelSkew = panels ? now.getTime() - panels.serverMs : 0;
      for (const src of config.sources) {
        let last = sources[src], skew = panelSkew;
        if (src === "licence" && state && state.lastIngestMs && (!last || state.lastIngestMs >= last)) {
          last = state.lastIngestMs; skew = state.skewMs || 0; // pushes keep the licence badge live
        }
        const b = badge(text, text["wall.source." + src], last, skew, config.sourceStaleMs[src], now, config.timeZone);
        texts.push(b[0]); classes.push(b[1]);
      }
      const conn = connected === false ? text["wall.connection.lost"] : "";
      return [clock, ...texts, ...classes, conn];
    },

    /* Fit the whole province to the screen once the map has loaded (any wall size or aspect). */
    fit: function (nLoads, config) {
      return { bounds: config.bounds, transition: "fitBounds", options: { padding: [12, 12], animate: false } };
    },

    /* The licence layer for the current view (wf.licences fetches it; the store keeps the URL asked
       for); new data reloads it at most every refreshMs, a failed fetch on the next tick. */
    layerUrl: function (bounds, zoom, n, state, config) {
      if (!bounds) return NO();
      // bounds are [[south, west], [north, east]]; zoom is only known after the first move
      const b = [bounds[0][1], bounds[0][0], bounds[1][1], bounds[1][0]].map((v) => v.toFixed(4));
      const z = zoom === undefined || zoom === null ? "" : Number(zoom).toFixed(2);
      const view = b.join(",") + "|" + z;
      const version = (state && state.version) || 0;
      const url = "/api/v1/map/licences?bbox=" + b.join(",") + "&zoom=" + z + "&v=" + version;
      const retry = window.wf.licences.failing();
      if (url === lastUrl && !retry) return NO();
      const now = Date.now();
      if (view === lastView && now - lastUrlAt < config.refreshMs && !retry) return NO();
      lastUrl = url; lastUrlAt = now; lastView = view;
      window.wf.licences.show(url);
      return url;
    },
  };
})();
