"""Province, city and county regions: official boundary files, or approximate demo regions.

With no boundary files configured, the demo regions are derived reproducibly from open data in
``settings.geo.data_dir`` (see docs/geo.md): the county seats are converted from GCJ-02 to WGS-84,
their Voronoi cells are clipped to the province outline, and the cells are dissolved into cities.
They resemble the real layout but are NOT official boundaries; maps must say "approximate demo
regions" (``Regions.credit`` carries the text).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coords import gcj02_to_wgs84

if TYPE_CHECKING:
    from core.settings import Settings

DIVISIONS_CSV: Final = "jiangsu_divisions.csv"
SEATS_CSV: Final = "jiangsu_seats.csv"
PROVINCE_GEOJSON: Final = "jiangsu_province.geojson"
NATION_ADCODE: Final = 100000
COLUMNS: Final = ["adcode", "name", "name_en", "parent_adcode", "pop2020", "seat_lon", "seat_lat", "geometry"]
DERIVED_CREDIT: Final = "Boundaries: DCW-GMT (GMT Team, LGPL-3.0); approximate demo regions"
OFFICIAL_CREDIT: Final = "Boundaries: official boundary files"


@dataclass(frozen=True, eq=False)
class Regions:
    """The administrative regions of one province, all in EPSG:4326 (WGS-84).

    ``province`` has one row; ``cities`` and ``counties`` have the columns adcode, name, name_en,
    parent_adcode, pop2020, seat_lon, seat_lat and geometry (one Polygon or MultiPolygon per row),
    sorted by adcode. ``derived`` is True for the approximate demo regions; ``credit`` is the
    credit line the map must show. Compared and hashed by identity (it holds data frames).
    """

    province: gpd.GeoDataFrame
    cities: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    derived: bool = True
    credit: str = DERIVED_CREDIT

    def names(self) -> dict[int, str]:
        """Map every adcode (province, cities, counties) to its Chinese name."""
        frames = (self.province, self.cities, self.counties)
        return {int(a): str(n) for f in frames for a, n in zip(f["adcode"], f["name"], strict=True)}

    def parent(self, adcode: int) -> int:
        """The parent's adcode: county -> city, city -> province, province -> 100000 (China)."""
        for frame in (self.counties, self.cities, self.province):
            hit = frame.loc[frame["adcode"] == int(adcode), "parent_adcode"]
            if len(hit):
                return int(hit.iloc[0])
        raise KeyError(f"unknown adcode {adcode}")


def load_regions(settings: Settings) -> Regions:
    """Load the regions named by ``settings.geo``: official boundary files if configured, else derive.

    Raises ValueError naming the file and the problem when a boundary file is missing, lacks the
    adcode column, or holds adcodes that are not cities/counties of the province.
    """
    geo = settings.geo
    data_dir = settings.path(geo.data_dir)
    divisions = _read_divisions(data_dir, geo.province_adcode)
    seats = _read_seats(data_dir)
    bounds = geo.boundaries
    if bounds.city and not bounds.county:
        raise ValueError(
            "geo.boundaries.city is set but geo.boundaries.county is not: give both, or county only"
        )
    if bounds.county:
        counties = _read_level(settings.path(bounds.county), bounds.adcode_column, divisions, "county")
        counties = _attach(counties, divisions, seats, snap_seats=True)
        if bounds.city:
            city_path = settings.path(bounds.city)
            cities = _read_level(city_path, bounds.adcode_column, divisions, "city")
            orphans = sorted(set(counties["parent_adcode"]) - set(cities["adcode"]))
            if orphans:
                raise ValueError(f"{city_path}: no polygon for cities {orphans[:10]}, which have counties")
        else:
            cities = _dissolve(counties)
        cities = _attach(cities, divisions, seats, snap_seats=True)
        outline = shapely.union_all(counties.geometry.to_numpy())
        province = _province_frame(data_dir, geo.province_adcode, cities, outline)
        return Regions(province, cities, counties, derived=False, credit=OFFICIAL_CREDIT)
    outline = _read_outline(data_dir, geo.province_adcode)
    counties = _derive_counties(divisions, seats, outline)
    counties = _attach(counties, divisions, seats, snap_seats=False)
    cities = _attach(_dissolve(counties), divisions, seats, snap_seats=True)
    province = _province_frame(data_dir, geo.province_adcode, cities, outline)
    return Regions(province, cities, counties)


def _read_divisions(data_dir: Path, province_adcode: int) -> pd.DataFrame:
    path = data_dir / DIVISIONS_CSV
    if not path.exists():
        raise ValueError(f"{path}: divisions file not found (geo.data_dir = {data_dir})")
    frame = pd.read_csv(path, dtype={"adcode": np.int64, "parent_adcode": np.int64})
    frame = frame[frame["adcode"] // 10000 == province_adcode // 10000]
    if frame.empty:
        raise ValueError(f"{path}: no divisions of province {province_adcode}")
    return frame.rename(columns={"pop2020_census": "pop2020"}).set_index("adcode")


def _read_seats(data_dir: Path) -> pd.DataFrame:
    path = data_dir / SEATS_CSV
    if not path.exists():
        raise ValueError(f"{path}: seats file not found (geo.data_dir = {data_dir})")
    frame = pd.read_csv(path, dtype={"adcode": np.int64})
    lon, lat = gcj02_to_wgs84(frame["lon_gcj02"].to_numpy(), frame["lat_gcj02"].to_numpy())
    return pd.DataFrame({"seat_lon": lon, "seat_lat": lat}, index=frame["adcode"].to_numpy())


def _read_outline(data_dir: Path, province_adcode: int) -> shapely.Geometry:
    path = data_dir / PROVINCE_GEOJSON
    if not path.exists():
        raise ValueError(f"{path}: province outline not found (geo.data_dir = {data_dir})")
    frame = gpd.read_file(path).to_crs(4326)
    rows = frame[frame["adcode"].astype(np.int64) == province_adcode]
    if rows.empty:
        raise ValueError(f"{path}: no outline for province {province_adcode}")
    return shapely.union_all(rows.geometry.to_numpy())


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygon parts of a geometry (clipping can leave stray lines and points)."""
    geom = shapely.make_valid(geom)
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon | shapely.MultiPolygon)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _derive_counties(
    divisions: pd.DataFrame, seats: pd.DataFrame, outline: shapely.Geometry
) -> gpd.GeoDataFrame:
    """Voronoi cells of the county seats, clipped to the province outline, one row per county."""
    codes = np.sort(divisions.index[divisions["level"] == "county"].to_numpy())
    missing = sorted(set(codes) - set(seats.index))
    if missing:
        raise ValueError(f"{SEATS_CSV}: no seat for counties {missing[:10]}")
    lon = seats.loc[codes, "seat_lon"].to_numpy()
    lat = seats.loc[codes, "seat_lat"].to_numpy()
    # Voronoi cells are computed in a plane where one degree of longitude is as long as it is at the
    # province's mean latitude, so the cell edges are (nearly) equidistant in metres, not degrees.
    scale = float(np.cos(np.radians(lat.mean())))
    seats_xy = shapely.points(lon * scale, lat)
    x0, y0, x1, y1 = outline.bounds
    frame = shapely.box(x0 * scale - 1, y0 - 1, x1 * scale + 1, y1 + 1)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seats_xy), extend_to=frame, ordered=True)
    cells = shapely.get_parts(diagram)
    # ``ordered`` promises one cell per input point in input order; check it, as duplicate seats
    # would silently merge two counties into one cell.
    if len(cells) != len(codes) or not shapely.within(seats_xy, cells).all():
        raise ValueError(
            f"{SEATS_CSV}: Voronoi cells do not match the county seats one to one (duplicate seats?)"
        )
    ordered = np.array([_unscale(c, scale) for c in cells], dtype=object)
    shapely.prepare(outline)
    clipped = np.array([_polygonal(g) for g in shapely.intersection(ordered, outline)], dtype=object)
    return gpd.GeoDataFrame({"adcode": codes}, geometry=list(clipped), crs=4326)


def _unscale(geom: shapely.Geometry, scale: float) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: xy / np.array([scale, 1.0]))


def _read_level(path: Path, column: str, divisions: pd.DataFrame, level: str) -> gpd.GeoDataFrame:
    """Read one official boundary file, checking the adcode column and the adcodes it holds."""
    setting = f"geo.boundaries.{level}"
    if not path.exists():
        raise ValueError(f"{path}: boundary file not found ({setting})")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types; the user needs the file and the reason
        raise ValueError(f"{path}: cannot read boundary file ({setting}): {exc}") from None
    if column not in frame.columns:
        columns = ", ".join(c for c in frame.columns if c != "geometry")
        raise ValueError(
            f"{path}: no adcode column {column!r} (geo.boundaries.adcode_column); columns are: {columns}"
        )
    if frame.empty:
        raise ValueError(f"{path}: boundary file has no features ({setting})")
    codes = pd.to_numeric(frame[column], errors="coerce")
    if codes.isna().any() or (codes % 1 != 0).any():
        bad = frame.loc[codes.isna() | (codes % 1 != 0), column].head(5).tolist()
        raise ValueError(f"{path}: column {column!r} holds values that are not adcodes: {bad}")
    if frame.crs is None:
        # A Shapefile without .prj: lon/lat is the only sensible guess for an adcode layer.
        frame = frame.set_crs(4326)
    frame = gpd.GeoDataFrame(
        {"adcode": codes.astype(np.int64).to_numpy()}, geometry=frame.geometry.to_crs(4326)
    )
    known = set(divisions.index[divisions["level"] == level])
    unknown = sorted(set(frame["adcode"]) - known)
    if unknown:
        raise ValueError(
            f"{path}: unknown {level} adcodes {unknown[:10]} (not {level}-level units of the province)"
        )
    # Several features per adcode (a multipart region stored as parts) become one row.
    merged = frame.dissolve(by="adcode", as_index=False).sort_values("adcode", ignore_index=True)
    merged["geometry"] = [_polygonal(g) for g in merged.geometry]
    empty = merged.loc[merged.geometry.is_empty, "adcode"].tolist()
    if empty:
        raise ValueError(f"{path}: adcodes {empty[:10]} have no polygon geometry")
    return merged.set_crs(4326, allow_override=True)


def _dissolve(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    parents = counties["parent_adcode"].to_numpy(dtype=np.int64)
    groups = pd.Series(counties.geometry.to_numpy()).groupby(parents)
    codes = np.array(sorted(groups.groups), dtype=np.int64)
    geoms = [_polygonal(shapely.union_all(groups.get_group(c).to_numpy())) for c in codes]
    return gpd.GeoDataFrame({"adcode": codes}, geometry=geoms, crs=4326)


def _attach(
    frame: gpd.GeoDataFrame, divisions: pd.DataFrame, seats: pd.DataFrame, *, snap_seats: bool
) -> gpd.GeoDataFrame:
    """Join names, parent and population from the divisions table, and the seat point."""
    codes = frame["adcode"].to_numpy(dtype=np.int64)
    info = divisions.loc[codes]
    lon = seats["seat_lon"].reindex(codes).to_numpy(dtype=np.float64, copy=True)
    lat = seats["seat_lat"].reindex(codes).to_numpy(dtype=np.float64, copy=True)
    geoms = frame.geometry.to_numpy()
    if snap_seats:
        # A seat that misses its own region (official boundaries, dissolved cities) would make the
        # sampler's "dense around the seat" useless there; use a point surely inside instead.
        inside = shapely.contains_xy(geoms, np.nan_to_num(lon), np.nan_to_num(lat)) & np.isfinite(lon)
        rep = shapely.point_on_surface(geoms[~inside])
        lon[~inside] = shapely.get_x(rep)
        lat[~inside] = shapely.get_y(rep)
    out = gpd.GeoDataFrame(
        {
            "adcode": codes,
            "name": info["name"].to_numpy(dtype=object),
            "name_en": info["name_en"].to_numpy(dtype=object),
            "parent_adcode": info["parent_adcode"].to_numpy(dtype=np.int64),
            "pop2020": info["pop2020"].to_numpy(dtype=np.int64),
            "seat_lon": lon.astype(np.float64),
            "seat_lat": lat.astype(np.float64),
        },
        geometry=list(geoms),
        crs=4326,
    )
    return out.sort_values("adcode", ignore_index=True)[COLUMNS]


def _province_frame(
    data_dir: Path, province_adcode: int, cities: gpd.GeoDataFrame, outline: shapely.Geometry
) -> gpd.GeoDataFrame:
    """The one-row province frame; its seat is that of its first city (xx01, the capital by convention)."""
    path = data_dir / PROVINCE_GEOJSON
    props = gpd.read_file(path, columns=["adcode", "name", "name_en"]) if path.exists() else None
    if props is not None:
        props = props[props["adcode"].astype(np.int64) == province_adcode]
    found = props is not None and len(props) > 0
    name = str(props["name"].iloc[0]) if found else str(province_adcode)
    name_en = str(props["name_en"].iloc[0]) if found else str(province_adcode)
    first = cities.iloc[0]
    return gpd.GeoDataFrame(
        {
            "adcode": np.array([province_adcode], dtype=np.int64),
            "name": [name],
            "name_en": [name_en],
            "parent_adcode": np.array([NATION_ADCODE], dtype=np.int64),
            "pop2020": np.array([int(cities["pop2020"].sum())], dtype=np.int64),
            "seat_lon": [float(first["seat_lon"])],
            "seat_lat": [float(first["seat_lat"])],
        },
        geometry=[_polygonal(outline)],
        crs=4326,
    )
