/* Watchfloor: when a session ends (idle limit, signed out elsewhere), the page's next request to this
   server answers 401; go to the sign-in page then, and come back here afterwards. Loaded by every Dash
   page (Dash includes all of assets/); nothing here runs in open mode, where no request answers 401. */
(function () {
  const originalFetch = window.fetch;
  let leaving = false;
  window.fetch = function () {
    return originalFetch.apply(this, arguments).then(function (resp) {
      if (resp.status === 401 && !leaving && new URL(resp.url, location.href).origin === location.origin) {
        leaving = true;
        const here = location.pathname + location.search;
        location.assign("/login?expired=1&next=" + encodeURIComponent(here));
      }
      return resp;
    });
  };
})();
