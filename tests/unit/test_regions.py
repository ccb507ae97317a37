"""geo.boundaries, geo.index and geo.layers: derived demo regions, official files, point lookup."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from core.settings import Settings
from geo.boundaries import Regions, load_regions
from geo.coords import gcj02_to_wgs84
from geo.index import RegionIndex
from geo.layers import boundary_geojson

CENSUS_TOTAL = 84_748_016


def settings_with(**boundaries: str) -> Settings:
    return Settings.model_validate({"geo": {"boundaries": boundaries}})


@pytest.fixture(scope="module")
def regions() -> Regions:
    return load_regions(Settings())


@pytest.fixture(scope="module")
def index(regions: Regions) -> RegionIndex:
    return RegionIndex(regions)


def test_levels_and_columns(regions: Regions) -> None:
    assert len(regions.province) == 1
    assert len(regions.cities) == 13
    assert len(regions.counties) == 95
    assert regions.derived and "approximate demo regions" in regions.credit
    for frame in (regions.province, regions.cities, regions.counties):
        assert list(frame.columns) == [
            "adcode",
            "name",
            "name_en",
            "parent_adcode",
            "pop2020",
            "seat_lon",
            "seat_lat",
            "geometry",
        ]
        assert frame.crs.to_epsg() == 4326
        for column in ("adcode", "parent_adcode", "pop2020"):
            assert frame[column].dtype == np.int64, column
        assert frame["seat_lon"].dtype == np.float64 and frame["seat_lat"].dtype == np.float64
        assert set(frame.geom_type) <= {"Polygon", "MultiPolygon"}
        assert frame.is_valid.all() and not frame.is_empty.any()
    row = regions.province.iloc[0]
    assert (row["adcode"], row["name"], row["parent_adcode"]) == (320000, "江苏省", 100000)
    assert regions.cities["pop2020"].sum() == CENSUS_TOTAL == row["pop2020"]


def test_each_seat_lies_in_its_own_county(regions: Regions) -> None:
    c = regions.counties
    inside = shapely.contains_xy(c.geometry.to_numpy(), c["seat_lon"], c["seat_lat"])
    assert inside.all(), c.loc[~inside, ["adcode", "name"]].to_dict("records")


def test_seats_are_converted_to_wgs84(regions: Regions) -> None:
    # 玄武区's seat is published as GCJ-02 (118.797757, 32.048498); in WGS-84 it sits some 500 m
    # further west and north (around Nanjing GCJ-02 shifts points east-south-east).
    row = regions.counties.set_index("adcode").loc[320102]
    assert (row["seat_lon"], row["seat_lat"]) == pytest.approx(
        gcj02_to_wgs84(118.797757, 32.048498), abs=1e-12
    )
    assert row["seat_lon"] < 118.797757 - 0.004 and row["seat_lat"] > 32.048498 + 0.001


def test_cities_are_parents_of_counties(regions: Regions) -> None:
    counties, cities = regions.counties, regions.cities
    assert set(counties["parent_adcode"]) == set(cities["adcode"])
    assert (counties["adcode"] // 100 * 100 == counties["parent_adcode"]).all()
    assert (cities["parent_adcode"] == 320000).all()
    # Each city is exactly the union of its counties.
    for city in cities.itertuples():
        parts = counties.loc[counties["parent_adcode"] == city.adcode].geometry.to_numpy()
        assert shapely.union_all(parts).symmetric_difference(city.geometry).area < 1e-9, city.name


def test_counties_tile_the_province(regions: Regions) -> None:
    province = regions.province.geometry.iloc[0]
    union = shapely.union_all(regions.counties.geometry.to_numpy())
    assert union.area == pytest.approx(province.area, rel=1e-9)
    # No overlaps: the areas add up to the area of the union.
    assert shapely.area(regions.counties.geometry.to_numpy()).sum() == pytest.approx(union.area, rel=1e-9)
    assert shapely.area(regions.cities.geometry.to_numpy()).sum() == pytest.approx(province.area, rel=1e-9)


def test_derivation_is_deterministic(regions: Regions) -> None:
    again = load_regions(Settings())
    assert again.counties.drop(columns="geometry").equals(regions.counties.drop(columns="geometry"))
    assert shapely.equals_exact(
        again.counties.geometry.to_numpy(), regions.counties.geometry.to_numpy()
    ).all()
    assert boundary_geojson(again, "county") == boundary_geojson(regions, "county")


def test_names_and_parent(regions: Regions) -> None:
    names = regions.names()
    assert len(names) == 1 + 13 + 95
    assert names[320000] == "江苏省" and names[320100] == "南京市" and names[320102] == "玄武区"
    for child, parent in [(320102, 320100), (321324, 321300), (320100, 320000), (320000, 100000)]:
        assert regions.parent(child) == parent
    with pytest.raises(KeyError, match="310000"):
        regions.parent(310000)


# ---------------------------------------------------------------- index


def test_each_seat_looks_up_to_its_county(regions: Regions, index: RegionIndex) -> None:
    c = regions.counties
    assert (index.lookup(c["seat_lon"], c["seat_lat"]) == c["adcode"].to_numpy()).all()


@pytest.mark.parametrize(
    ("lon", "lat", "what"),
    [
        (123.0, 33.0, "Yellow Sea"),
        (121.4737, 31.2304, "Shanghai, People's Square"),
        (120.15, 30.28, "Hangzhou"),
        (116.397, 39.909, "Beijing"),
        (0.0, 0.0, "null island"),
        (-74.0, 40.7, "New York"),
        (float("nan"), 32.0, "not a number"),
    ],
)
def test_points_outside_give_zero(index: RegionIndex, lon: float, lat: float, what: str) -> None:
    assert index.lookup_one(lon, lat) == 0, what


@pytest.mark.parametrize(
    ("lon", "lat", "county"),
    [
        (118.7969, 32.0603, 320102),  # near Xinjiekou, Nanjing (a derived-region answer: the nearest seat)
        (120.5853, 31.2990, 320508),  # Suzhou old town
        (117.1848, 34.2610, 320302),  # Xuzhou centre
    ],
)
def test_known_points(index: RegionIndex, lon: float, lat: float, county: int) -> None:
    assert index.lookup_one(lon, lat) == county


def test_vectorised_equals_per_point(index: RegionIndex) -> None:
    rng = np.random.default_rng(11)
    lon = rng.uniform(116.0, 122.5, 3000)
    lat = rng.uniform(30.5, 35.5, 3000)
    vector = index.lookup(lon, lat)
    assert vector.dtype == np.int64 and vector.shape == (3000,)
    assert (vector > 0).any() and (vector == 0).any()
    assert vector.tolist() == [index.lookup_one(x, y) for x, y in zip(lon, lat, strict=True)]
    assert index.lookup(lon.reshape(50, 60), lat.reshape(50, 60)).shape == (50, 60)


def test_shared_edges_resolve_to_lowest_adcode(regions: Regions, index: RegionIndex) -> None:
    # Polygon vertices lie exactly on the shared boundaries of two or three counties.
    geoms = regions.counties.geometry.to_numpy()
    xy = shapely.get_coordinates(geoms)
    found = index.lookup(xy[:, 0], xy[:, 1])
    touching = [regions.counties["adcode"].to_numpy()[shapely.intersects_xy(geoms, x, y)] for x, y in xy]
    assert found.tolist() == [int(t.min()) for t in touching]
    assert any(len(t) > 1 for t in touching)
    # contains() follows the same rule as lookup(), vertices and random points alike.
    for code in index.adcodes[::7]:
        assert (index.contains(xy[:, 0], xy[:, 1], code) == (found == code)).all()
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(116.3, 122.0, 20000), rng.uniform(30.7, 35.2, 20000)
    claimed = rng.choice(index.adcodes, 20000)
    assert (index.contains(lon, lat, claimed) == (index.lookup(lon, lat) == claimed)).all()


def test_chain(index: RegionIndex) -> None:
    assert index.chain(320102) == (320102, 320100, 320000)
    assert index.chain(321324) == (321324, 321300, 320000)
    assert index.chain(0) == (0, 0, 0)
    assert index.cities_of(np.array([320102, 0, 320583])).tolist() == [320100, 0, 320500]
    with pytest.raises(KeyError, match="320199"):
        index.chain(320199)


# ---------------------------------------------------------------- layers


@pytest.mark.parametrize(("level", "count"), [("province", 1), ("city", 13), ("county", 95)])
def test_boundary_geojson(regions: Regions, level: str, count: int) -> None:
    data = boundary_geojson(regions, level)
    assert boundary_geojson(regions, level) is data  # cached
    collection = json.loads(data)
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == count
    for feature in collection["features"]:
        assert set(feature["properties"]) == {"adcode", "name", "name_en", "level"}
        assert feature["properties"]["level"] == level
        assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    coords = shapely.get_coordinates(gpd.GeoDataFrame.from_features(collection["features"]).geometry)
    assert np.allclose(coords, np.round(coords, 4), rtol=0, atol=1e-12)
    assert len(data) < 120_000


def test_boundary_geojson_unknown_level(regions: Regions) -> None:
    with pytest.raises(ValueError, match="'town'"):
        boundary_geojson(regions, "town")


# ---------------------------------------------------------------- official boundary files


def _write_official(regions: Regions, tmp_path, fmt: str) -> dict[str, str]:
    """Write the derived regions as if they were official files; returns the boundaries settings."""
    paths = {}
    for level, frame in (("county", regions.counties), ("city", regions.cities)):
        if fmt == "gpkg":
            # adcode as text, as many official layers store it; a multipart region split in rows.
            out = gpd.GeoDataFrame(
                {"adcode": frame["adcode"].astype(str), "label": frame["name_en"]}, geometry=frame.geometry
            ).explode(ignore_index=True)
            path = tmp_path / f"{level}.gpkg"
            out.to_file(path, layer=level, driver="GPKG")
        else:
            # A projected CRS (UTM 50N) and a different column name: reprojection and adcode_column.
            out = gpd.GeoDataFrame({"CODE": frame["adcode"]}, geometry=frame.geometry).to_crs(32650)
            path = tmp_path / f"{level}.shp"
            out.to_file(path, driver="ESRI Shapefile")
        paths[level] = str(path)
    if fmt == "shp":
        paths["adcode_column"] = "CODE"
    return paths


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_official_files_round_trip(regions: Regions, tmp_path, fmt: str) -> None:
    loaded = load_regions(settings_with(**_write_official(regions, tmp_path, fmt)))
    assert not loaded.derived
    for mine, theirs in ((loaded.counties, regions.counties), (loaded.cities, regions.cities)):
        assert mine["adcode"].tolist() == theirs["adcode"].tolist()
        assert mine["name"].tolist() == theirs["name"].tolist()
        assert mine["pop2020"].tolist() == theirs["pop2020"].tolist()
        assert mine.crs.to_epsg() == 4326
        diff = shapely.symmetric_difference(mine.geometry.to_numpy(), theirs.geometry.to_numpy())
        assert (shapely.area(diff) < 1e-6 * shapely.area(theirs.geometry.to_numpy()) + 1e-9).all()
    # The province outline becomes the union of the counties.
    assert loaded.province["adcode"].iloc[0] == 320000 and loaded.province["name"].iloc[0] == "江苏省"
    assert loaded.province.geometry.iloc[0].area == pytest.approx(
        regions.province.geometry.iloc[0].area, rel=1e-5
    )
    index = RegionIndex(loaded)
    c = loaded.counties
    assert (index.lookup(c["seat_lon"], c["seat_lat"]) == c["adcode"].to_numpy()).all()


def test_county_file_alone_dissolves_cities(regions: Regions, tmp_path) -> None:
    paths = _write_official(regions, tmp_path, "gpkg")
    loaded = load_regions(settings_with(county=paths["county"]))
    assert loaded.cities["adcode"].tolist() == regions.cities["adcode"].tolist()


def test_missing_adcode_column_is_named(regions: Regions, tmp_path) -> None:
    path = tmp_path / "county.gpkg"
    gpd.GeoDataFrame({"code": regions.counties["adcode"]}, geometry=regions.counties.geometry).to_file(path)
    with pytest.raises(ValueError) as info:
        load_regions(settings_with(county=str(path)))
    assert str(path) in str(info.value) and "'adcode'" in str(info.value) and "code" in str(info.value)


def test_bad_official_files(regions: Regions, tmp_path) -> None:
    missing = tmp_path / "nope.geojson"
    with pytest.raises(ValueError, match="nope.geojson.*not found"):
        load_regions(settings_with(county=str(missing)))
    shanghai = tmp_path / "shanghai.geojson"
    frame = gpd.GeoDataFrame({"adcode": [310101]}, geometry=[shapely.box(121.4, 31.2, 121.5, 31.3)], crs=4326)
    frame.to_file(shanghai)
    with pytest.raises(ValueError, match=r"shanghai\.geojson.*unknown county adcodes \[310101\]"):
        load_regions(settings_with(county=str(shanghai)))
    with pytest.raises(ValueError, match="geo.boundaries.county"):
        load_regions(settings_with(city=str(shanghai)))
    # A city file lacking a city that has counties.
    paths = _write_official(regions, tmp_path, "gpkg")
    few = tmp_path / "few_cities.gpkg"
    gpd.read_file(paths["city"]).query("adcode != '321300'").to_file(few)
    with pytest.raises(ValueError, match=r"few_cities\.gpkg.*\[321300\]"):
        load_regions(settings_with(county=paths["county"], city=str(few)))
