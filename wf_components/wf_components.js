/* Watchfloor's own Dash components (wf_components/__init__.py says why). Plain React, no build step:
   Dash loads this file after React and looks the components up in window.wf_components. */
(function () {
  const React = window.React;
  const h = React.createElement;

  /* Data for callbacks; Dash keeps the props, the component shows nothing. */
  function Store() {
    return null;
  }

  /* n_intervals + 1 every `interval` ms while not disabled (a new interval or disabled restarts it). */
  function Interval(props) {
    const count = React.useRef(props.n_intervals || 0);
    count.current = props.n_intervals || 0;
    const setProps = React.useRef(props.setProps);
    setProps.current = props.setProps;
    React.useEffect(() => {
      if (props.disabled) return undefined;
      const timer = window.setInterval(() => setProps.current({ n_intervals: count.current + 1 }), props.interval);
      return () => window.clearInterval(timer);
    }, [props.interval, props.disabled]);
    return null;
  }

  /* The page's pathname: set once mounted, again on back/forward and on dcc.Link's pushState. */
  function Location(props) {
    const current = React.useRef(props.pathname);
    current.current = props.pathname;
    const setProps = React.useRef(props.setProps);
    setProps.current = props.setProps;
    React.useEffect(() => {
      const update = () => {
        const path = window.location.pathname;
        if (path !== current.current) setProps.current({ pathname: path });
      };
      update();
      window.addEventListener("popstate", update);
      window.addEventListener("_dashprivate_pushstate", update);
      return () => {
        window.removeEventListener("popstate", update);
        window.removeEventListener("_dashprivate_pushstate", update);
      };
    }, []);
    return null;
  }

  /* An SVG stretched to its box: one path (bars) and one polyline (a line). */
  function BarsAndLine(props) {
    return h("svg", { id: props.id, className: props.className, viewBox: props.viewBox, preserveAspectRatio: "none" },
      h("path", { d: props.bars, className: props.barClassName }),
      h("polyline", { points: props.line, className: props.lineClassName }));
  }

  window.wf_components = { Store: Store, Interval: Interval, Location: Location, BarsAndLine: BarsAndLine };
})();
