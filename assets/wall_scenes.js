/* Watchfloor wall: the rotating scenes (inspection heat, coverage gap, flow arcs, warning pins),
   the KPI texts and the scene layer URLs. Loaded after wall.js (assets load in name order).
   Upstream text only ever reaches the DOM through textNode (text, never HTML). */
(function () {
  const NO = () => window.dash_clientside.no_update;
  const HEAT = ["#3b1d4a", "#6b21a8", "#a21caf", "#db2777", "#f43f5e", "#fb923c", "#fde047"];
  const LEVEL = { 0: "#38bdf8", 1: "#ef4444", 2: "#f97316", 3: "#facc15", 4: "#3b82f6" };
  const PIN = { red: "#ef4444", orange: "#f97316", yellow: "#facc15", blue: "#3b82f6" };
  const fmt = (n, lang) => window.wf.fmt(n, lang);
  const pct = (x) => (x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%");
  // line widths and pin sizes follow the screen height, as the text does
  const px = () => Math.max(1, Math.min(window.innerHeight / 1080, window.innerWidth / 1080));
  const cfg = () => (window.wf.config || {});
  function tip(layer, s) { layer.bindTooltip(window.wf.textNode(s)); }
  function fill(template, values) {
    return Object.keys(values).reduce((t, k) => t.split("{" + k + "}").join(values[k]), template);
  }

  Object.assign(window.wf.map, {
    heatStyle: function (feature) {
      const k = Math.min(HEAT.length - 1, feature.properties.k || 0);
      return { color: HEAT[k], weight: 0.6, fillColor: HEAT[k], fillOpacity: 0.78 };
    },
    heatTip: function (feature, layer) {
      const t = cfg().text || {};
      tip(layer, fill(t["wall.tip.heat"] || "{n}", { n: feature.properties.n }));
    },
    gapStyle: function (feature) {
      return { color: "#22d3ee", weight: 1.6 * px(), dashArray: (4 * px()) + " " + (3 * px()), fill: false, opacity: 0.95 };
    },
    gapTip: function (feature, layer) {
      const p = feature.properties, t = cfg().text || {};
      tip(layer, fill(t["wall.tip.gap"] || "{g}/{v}", { g: p.g, v: p.v }));
    },
    flowStyle: function (feature) {
      const p = feature.properties;
      return { color: LEVEL[p.lv] || LEVEL[0], weight: (1 + 2.2 * p.w) * px(), opacity: p.lv ? 0.95 : 0.7, lineCap: "round" };
    },
    flowTip: function (feature, layer) {
      const p = feature.properties, c = cfg(), t = c.text || {}, names = c.names || {};
      tip(layer, fill(t["wall.tip.flow"] || "{from} {to} {n}", { from: names[p.from] || p.from, to: names[p.to] || p.to, n: fmt(p.n, c.lang) }));
    },
    pinToLayer: function (feature, latlng) {
      const p = feature.properties;
      const colour = PIN[p.c] || PIN.blue;
      const r = (p.lv === 1 ? 16 : p.lv === 2 ? 13 : p.lv === 3 ? 11 : 9) * px();
      return L.circleMarker(latlng, { pane: "scene-warnings", className: "wf-pin wf-pin-" + (PIN[p.c] ? p.c : "blue"),
        radius: r, color: "#ffffff", weight: 2 * px(), fillColor: colour, fillOpacity: 0.95 });
    },
    pinTip: function (feature, layer) {
      const p = feature.properties, c = cfg(), t = c.text || {}, names = c.names || {};
      const type = t["wall.type." + p.ty] || String(p.ty);
      const time = window.wf.hhmm(p.at, c.timeZone);
      tip(layer, time + " " + type + " " + (names[p.rg] || p.rg));
    },
  });

  /* The legend of a scene, as Dash components (text from the catalogue, as text): a title, a colour
     ramp where the scene colours by count, and items whose swatch is their ::before (assets/wall.css). */
  const div = (className, children) => ({ type: "Div", namespace: "dash_html_components", props: { className: className, children: children } });
  const item = (swatch, text) => ({ type: "Span", namespace: "dash_html_components", props: { className: "wall-legend-item wall-swatch-" + swatch, children: text } });
  const COLOURS = ["red", "orange", "yellow", "blue"];
  function legend(scene, t) {
    const levels = COLOURS.map((c, i) => item(c, t["wall.colour." + c] + t["wall.level." + (i + 1)]));
    const parts = {
      licences: [t["wall.legend.cells"], "wall-legend-ramp", ["valid", "suspended", "revoked", "expired"].map((s) => item(s, t["wall.legend." + s]))],
      inspections: [t["wall.legend.heat"], "wall-legend-ramp wall-legend-ramp-heat", [item("gap", t["wall.legend.gap"])]],
      flows: [t["wall.legend.flow"], null, levels.concat([item("flow", t["wall.legend.flow.none"])])],
      warnings: [t["wall.scene.warnings.sub"], null, levels],
    }[scene];
    if (!parts) return [];
    const out = [div("wall-legend-title", parts[0])];
    if (parts[1]) out.push(div(parts[1], null));
    out.push(div("wall-legend-status", parts[2]));
    return out;
  }

  let warnPushes = 0, lastScene = null;
  const urls = {};
  function changed(key, url) {
    if (urls[key] === url) return NO();
    urls[key] = url;
    return url;
  }

  Object.assign(window.dash_clientside.wall, {
    /* The scene shown now: the same on every wall (from the clock), one class on #wall-root. */
    scene: function (n, config) {
      window.wf.config = config;
      const scenes = config.scenes;
      const name = scenes[Math.floor(Date.now() / config.sceneMs) % scenes.length];
      if (name === lastScene) return [NO(), NO(), NO(), NO()];
      lastScene = name;
      const t = config.text;
      const sub = fill(t["wall.scene." + name + ".sub"], config.subs[name] || {});
      return ["wall wall-scene-" + name, t["wall.scene." + name], sub, legend(name, t)];
    },

    /* URLs of the scene layers: each refetched on its own period, the pins also on every warning push.
       At page load only the scene on screen gets its layers; the hidden scenes' follow on the first tick
       (1 s later, long before they show), so they do not compete with the map's first paint. */
    sceneUrls: function (n, warned, config) {
      window.wf.config = config;
      const trig = (window.dash_clientside.callback_context.triggered || []).map((x) => x.prop_id);
      if (trig.includes("wall-socket.data-warnings")) warnPushes += 1;
      const now = Date.now();
      const shown = config.scenes[Math.floor(now / config.sceneMs) % config.scenes.length];
      const nowOrLater = (scene, key, url) => (n || scene === shown ? changed(key, url) : NO());
      return [
        nowOrLater("inspections", "heat", "/api/v1/wall/heat?v=" + Math.floor(now / 60000)),
        nowOrLater("inspections", "gap", "/api/v1/wall/gap?v=" + Math.floor(now / 60000)),
        nowOrLater("flows", "flows", "/api/v1/wall/flows?v=" + Math.floor(now / 30000)),
        nowOrLater("warnings", "pins", "/api/v1/wall/warnings?v=" + Math.floor(now / 15000) + "-" + warnPushes),
      ];
    },

    /* KPI values and their comparison lines from the panel figures and the density (per 1,000). */
    kpis: function (panels, per1000, config) {
      const t = config.text, lang = config.lang;
      const k = (panels && panels.kpi) || {};
      const get = (key) => k[key] || {};
      const signed = (v) => (v > 0 ? "+" : v < 0 ? "−" : "±") + fmt(Math.abs(v || 0), lang);
      const prev = (f) => (f.prev ? fill(t["wall.delta.prev"], { n: fmt(f.prev, lang), p: pct(f.progress) }) : t["wall.delta.prev.none"]);
      const active = get("active"), insp = get("inspections"), cov = get("coverage"), warn = get("warnings");
      const density = per1000 !== null && per1000 !== undefined
        ? " · " + Number(per1000).toFixed(2) + " " + t["wall.kpi.density.unit"] : "";
      return [
        panels ? fmt(insp.value, lang) : "—",
        panels ? pct(cov.value) : "—",
        panels ? fmt(warn.value, lang) : "—",
        panels ? fmt(get("cases").value, lang) : "—",
        panels ? fmt(get("cross").value, lang) : "—",
        panels ? fill(t["wall.delta.net"], { n: signed(active.delta) }) + density : "",
        panels ? prev(insp) + " · " + fill(t["wall.delta.rate"], { p: pct(insp.rate) }) : "",
        panels ? fill(t["wall.delta.target"], { p: pct(cov.target) }) : "",
        panels ? fill(t["wall.delta.raised"], { n: fmt(warn.delta, lang), o: fmt(warn.overdue, lang) }) : "",
        panels ? prev(get("cases")) : "",
        panels ? prev(get("cross")) : "",
      ];
    },
  });
})();
