from __future__ import annotations

from backend.components.prompt_budget import fit_to_budget, focus_columns
from backend.engines.postgres.prompt import table_ddl
from backend.schemas.schema_snapshot import ColumnInfo, ObjectInfo
from tests.backend.components.schema_builders import table


def _wide() -> ObjectInfo:
    obj = table("s.measurements", ["station_id", *(f"reading_{i}" for i in range(300))], {"station_id": "s.station"})
    obj.columns.insert(150, ColumnInfo(name="wind_speed", type="real", comment="gusts in km/h"))
    obj.samples = [{c.name: "1" for c in obj.columns}]
    return obj


def test_a_wide_table_shows_its_keys_and_the_question_columns_first() -> None:
    focused = focus_columns(_wide(), "average wind speed per station", limit=10)
    names = [c.name for c in focused.columns]
    assert len(names) == 10 and focused.omitted_columns == 293
    assert {"id", "station_id", "wind_speed"} <= set(names)
    assert set(focused.samples[0]) == set(names)
    assert "293 more columns" in table_ddl(focused, 1)
    # Narrow tables are left alone.
    narrow = table("s.station", ["name"])
    assert focus_columns(narrow, "wind", limit=10) is narrow


def test_the_budget_keeps_order_narrows_then_drops() -> None:
    small = [table(f"s.t{i}", ["name", "value"]) for i in range(5)]

    def render(obj: ObjectInfo) -> str:
        return table_ddl(obj, 0)

    each = len(render(small[0]))
    kept = fit_to_budget(small, render, each * 3, "q")
    assert [o.name for o in kept] == ["t0", "t1", "t2"]
    # A wide first object is narrowed to fit rather than sent whole or dropped.
    wide = _wide()
    kept = fit_to_budget([wide, *small], render, 2_000, "wind speed per station")
    assert kept[0].name == "measurements" and kept[0].omitted_columns > 0
    assert "wind_speed" in [c.name for c in kept[0].columns]
    assert sum(len(render(o)) for o in kept) <= 2_000
    # Even a budget too small for anything keeps the first object.
    assert len(fit_to_budget(small, render, 10, "q")) == 1
