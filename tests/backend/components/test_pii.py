from __future__ import annotations

from backend.components.pii import iban_ok, luhn_ok, name_tag, tag_and_mask, value_tag
from backend.schemas.schema_snapshot import ColumnInfo, ObjectInfo, SchemaSnapshot


def test_names_that_say_personal() -> None:
    assert name_tag("email") == "email" and name_tag("contactEmail") == "email"
    assert name_tag("phone") == "phone" and name_tag("mobile_number") == "phone"
    assert name_tag("first_name") == "person_name" and name_tag("LastName") == "person_name"
    assert name_tag("iban") == "iban" and name_tag("ssn") == "national_id"
    assert name_tag("address") == "address" and name_tag("password") == "secret"
    for neutral in ("address_id", "email_verified", "name", "category_name", "phone_count", "film_id"):
        assert name_tag(neutral) is None, neutral


def test_values_that_look_personal() -> None:
    assert value_tag("ada@example.com") == "email"
    assert value_tag("+44 20 7946 0958") == "phone" and value_tag("(555) 123-4567") == "phone"
    assert value_tag("4111 1111 1111 1111") == "card_number" and luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112") and value_tag("4111 1111 1111 1112") != "card_number"
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and value_tag("DE89370400440532013000") == "iban"
    assert not iban_ok("GB00WEST12345698765432")
    for plain in ("hello", "2024-01-01", "12", "1000", "ACADEMY DINOSAUR"):
        assert value_tag(plain) is None, plain


def _snapshot() -> SchemaSnapshot:
    obj = ObjectInfo(
        schema_name="public",
        name="people",
        kind="table",
        columns=[
            ColumnInfo(name="id", type="integer"),
            ColumnInfo(name="contact", type="text"),
            ColumnInfo(name="email", type="text", values=["a@x.io", "b@x.io"]),
            ColumnInfo(name="city", type="text", values=["Paris", "Rome"]),
        ],
        samples=[
            {"id": "1", "contact": "+33 1 23 45 67 89", "email": "a@x.io", "city": "Paris"},
            {"id": "2", "contact": "+39 06 1234 5678", "email": "b@x.io", "city": "Rome"},
        ],
    )
    return SchemaSnapshot(kind="postgres", objects=[obj])


def test_tagged_columns_are_masked_and_others_kept() -> None:
    snapshot = _snapshot()
    assert tag_and_mask(snapshot, mask=True) == 2
    obj = snapshot.objects[0]
    tags = {c.name: c.pii for c in obj.columns}
    assert tags == {"id": None, "contact": "phone", "email": "email", "city": None}
    assert obj.samples[0] == {"id": "1", "contact": "<phone>", "email": "<email>", "city": "Paris"}
    assert obj.columns[2].values is None and obj.columns[3].values == ["Paris", "Rome"]


def test_masking_can_be_turned_off_and_tags_stay() -> None:
    snapshot = _snapshot()
    tag_and_mask(snapshot, mask=False)
    obj = snapshot.objects[0]
    assert obj.samples[0]["email"] == "a@x.io" and obj.columns[2].pii == "email"
