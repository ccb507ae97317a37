/* Watchfloor: keep Dash's undo history short on screens left on for weeks.

   Dash's renderer appends every prop change a component makes itself (each Socket.IO push, each
   dcc.Interval tick) to its undo history, store.history.past, and never trims it (plotly/dash#727).
   That history only serves the undo/redo buttons, which Dash hides by default, and a one-step revert
   after a failed callback. The soak measured ~18 entries a second on /wall at 400 events/s: ~1.5
   million a day, held forever by a wall that never reloads. So every few seconds the oldest are
   dropped, keeping the last KEEP. The array is trimmed in place: the reducer builds the next history
   from it, and nothing renders from it. Loaded by every page (the wall page keeps it: web/wall_page.py). */
(function () {
  const KEEP = 10;
  const EVERY_MS = 5000;
  window.setInterval(function () {
    (window.dash_stores || []).forEach(function (store) {
      const history = store.getState().history;
      const past = history && history.past;
      if (Array.isArray(past) && past.length > KEEP) {
        past.splice(0, past.length - KEEP);
      }
    });
  }, EVERY_MS);
})();
