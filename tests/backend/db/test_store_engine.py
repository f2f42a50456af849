"""The store's engine over a network: the libpq settings that make a partitioned store fail in
seconds are on every connection, and a value written in DATABASE_URL wins over them."""

from __future__ import annotations

from sqlalchemy import text

from backend.db.store import NETWORK_DEFAULTS, create_engine
from tests.conftest import USER_PG_ADMIN


async def _parameters(url: str) -> dict[str, str]:
    engine = create_engine(url, 1)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
            raw = await conn.get_raw_connection()
            return dict(raw.driver_connection.info.get_parameters())  # type: ignore[union-attr]
    finally:
        await engine.dispose()


async def test_a_networked_store_gets_timeouts_and_keepalives() -> None:
    used = await _parameters(USER_PG_ADMIN)
    assert {name: used.get(name) for name in NETWORK_DEFAULTS} == NETWORK_DEFAULTS


async def test_a_value_in_the_url_wins() -> None:
    used = await _parameters(USER_PG_ADMIN + "?tcp_user_timeout=5000&connect_timeout=3")
    assert used["tcp_user_timeout"] == "5000" and used["connect_timeout"] == "3"
    assert used["keepalives_idle"] == NETWORK_DEFAULTS["keepalives_idle"]
