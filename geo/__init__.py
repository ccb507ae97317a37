"""Geography of Watchfloor: coordinate systems, administrative regions, point lookup, map layers.

``coords`` converts between WGS-84, GCJ-02 and BD-09; ``boundaries`` loads (or derives) the
province, city and county regions; ``index`` finds the county of a point; ``layers`` serves the
boundaries as compact GeoJSON; ``sample`` places simulated licence points. See docs/geo.md.
"""
