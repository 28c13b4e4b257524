"""Spatial computations: the grid tiles its region, validation finds overlaps and gaps, points get a cell."""

import numpy as np
import shapely

from govgrid.citymap import spatial

REGION = shapely.Polygon([(113.60, 37.85), (113.612, 37.85), (113.615, 37.858), (113.60, 37.86)])


def test_square_grid_tiles_the_region_without_overlap_or_gap():
    cells = spatial.square_grid(REGION, 100)
    areas = [spatial.Projector.around(REGION).to_metres(c).area for c in cells]
    assert 120 < len(cells) < 170  # ~1.4 km2 in 1 ha cells, edge cells clipped
    assert max(areas) < 10_050 and max(areas) > 9_950  # full cells are 100 m x 100 m
    checked = spatial.validate_grid(cells, REGION)
    assert checked.ok, (checked.overlaps[:3], checked.gap_area_m2)


def test_validation_reports_overlap_gap_and_outside():
    cells = spatial.square_grid(REGION, 200)
    grown = cells[0].buffer(0.0005)  # swells into neighbours and out of the region
    checked = spatial.validate_grid([grown, *cells[1:20], *cells[21:]], REGION)  # cells[20] removed: a gap
    assert checked.overlaps and all(i == 0 for i, _, _ in checked.overlaps)
    assert checked.gap_area_m2 > 1_000
    assert checked.outside and checked.outside[0][0] == 0
    assert not checked.ok


def test_point_on_shared_edge_goes_to_the_smaller_code():
    a = shapely.box(0, 0, 1, 1)
    b = shapely.box(1, 0, 2, 1)
    index = spatial.CellIndex(["B002", "A001"], [b, a])
    assert index.assign_codes([1.0, 0.5, 1.5, 5.0], [0.5, 0.5, 0.5, 5.0]) == ["A001", "A001", "B002", None]


def test_vectorised_assignment_matches_the_naive_loop():
    cells = spatial.square_grid(REGION, 100)
    codes = [f"C{i:04d}" for i in range(len(cells))]
    rng = np.random.default_rng(1)
    lons = rng.uniform(113.598, 113.616, 500)
    lats = rng.uniform(37.849, 37.861, 500)
    assert spatial.CellIndex(codes, cells).assign_codes(lons, lats) == spatial.naive_assign(
        codes, cells, lons, lats
    )


def test_nearest_units_respect_skills_and_distance():
    index = spatial.UnitIndex(
        [10, 11, 12],
        [113.60, 113.61, 113.70],
        [37.85, 37.85, 37.85],
        [["sanitation"], ["enforcement"], ["enforcement"]],
    )
    ids, dist = index.nearest([113.601, 113.601], [37.85, 37.85], ["enforcement", "repair"], k=2)
    assert list(ids[0]) == [11, 12] and dist[0][0] < dist[0][1]
    assert list(ids[1]) == [-1, -1] and np.isinf(dist[1]).all()  # nobody can repair


def test_batch_optimum_is_never_longer_than_greedy():
    rng = np.random.default_rng(3)
    cl, ca = rng.uniform(113.6, 113.7, 40), rng.uniform(37.8, 37.9, 40)
    ul, ua = rng.uniform(113.6, 113.7, 50), rng.uniform(37.8, 37.9, 50)
    skills = ["sanitation" if i % 2 else "enforcement" for i in range(40)]
    uskills = [["sanitation"] if i % 2 else ["enforcement", "sanitation"] for i in range(50)]
    best = spatial.batch_assign(cl, ca, skills, ul, ua, uskills)
    greedy = spatial.greedy_assign(cl, ca, skills, ul, ua, uskills)
    assert len(best) == 40 and len({c for _, c, _ in best}) == 40  # one unit per case
    assert all(skills[r] in uskills[c] for r, c, _ in best)
    assert len(greedy) <= len(best)
    if len(greedy) == len(best):
        assert sum(d for *_, d in best) <= sum(d for *_, d in greedy) + 1e-6
