"""Personal data in sampled values: tag the columns and fields that hold it, and mask their
samples before anything is embedded, stored in pgvector or put in a prompt.

A column is tagged when its name says what it holds (``email``, ``phone``, ``first_name``,
``iban``...) or when at least half of its sampled values look like personal data (email
addresses, phone numbers, card numbers that pass Luhn, IBANs that pass mod 97). Masking
replaces the sample values and value lists of tagged columns with ``<tag>``; the rows a
query returns are never touched.
"""

from __future__ import annotations

import re

from backend.components.chunker import identifier_words
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot

# Tag -> the word sets (after splitting snake_case and camelCase) that name such a column.
NAME_RULES: dict[str, tuple[str, ...]] = {
    "email": ("email", "mail", "e mail"),
    "phone": ("phone", "mobile", "telephone", "fax"),
    "national_id": ("ssn", "passport", "national id", "social security", "tax id"),
    "card_number": ("card number", "credit card", "cc number"),
    "iban": ("iban",),
    "address": ("address", "street", "address1", "address2"),
    "person_name": (
        "first name", "last name", "full name", "surname", "given name", "family name", "contact name",
        "customer name", "employee name", "firstname", "lastname", "fullname",
    ),
    "birth_date": ("birthdate", "birth date", "dob", "birthday"),
    "secret": ("password", "passwd", "secret", "token"),
}  # fmt: skip
# Words that, next to a matching one, mean the column is not about a person
# ("email_verified", "phone_count", "address_id"...).
NOT_PERSONAL = frozenset({"id", "ids", "count", "verified", "type", "kind", "flag", "enabled", "at", "status"})

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
DIGITS = re.compile(r"\D")
DATE_OR_NUMBER = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}|-?\d+([.,]\d+)?)([ T].*)?$")


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    text = value.replace(" ", "").upper()
    if not IBAN.match(text):
        return False
    rearranged = text[4:] + text[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def value_tag(value: str) -> str | None:
    """The kind of personal data one value looks like, if any."""
    text = value.strip().strip('"')
    if EMAIL.search(text):
        return "email"
    compact = text.replace(" ", "")
    if iban_ok(compact):
        return "iban"
    digits = DIGITS.sub("", text)
    if 13 <= len(digits) <= 19 and re.fullmatch(r"[\d\s-]+", text) and luhn_ok(digits):
        return "card_number"
    if (
        PHONE.match(text)
        and 7 <= len(digits) <= 15
        and re.search(r"[\s().+-]", text)
        and not DATE_OR_NUMBER.match(text)
    ):
        return "phone"
    return None


def name_tag(column: str) -> str | None:
    words = set(identifier_words(column.rsplit(".", 1)[-1]))
    if words & NOT_PERSONAL:
        return None
    for tag, rules in NAME_RULES.items():
        if any(set(rule.split()) <= words for rule in rules):
            return tag
    return None


def _tag_columns(obj: ObjectInfo) -> dict[str, str]:
    tags: dict[str, str] = {}
    for column in obj.columns:
        tag = name_tag(column.name)
        if tag is None:
            values = [str(s[column.name]) for s in obj.samples if s.get(column.name) is not None]
            values += column.values or []
            found = [t for t in (value_tag(v) for v in values) if t]
            if values and len(found) * 2 >= len(values):
                tag = max(set(found), key=found.count)
        if tag:
            tags[column.name] = tag
    return tags


def tag_and_mask(snapshot: SchemaSnapshot, mask: bool) -> int:
    """Tag personal columns of every object (``ColumnInfo.pii``) and, when ``mask``, replace their
    sample values and value lists. Returns how many columns were tagged."""
    tagged = 0
    for obj in snapshot.objects:
        tags = _tag_columns(obj)
        tagged += len(tags)
        for column in obj.columns:
            column.pii = tags.get(column.name)
            if column.pii and mask:
                column.values = None
        if not (tags and mask):
            continue
        # MongoDB samples are keyed by top-level field; a tagged nested path masks its top-level field.
        top_level = {name.split(".")[0]: tag for name, tag in tags.items()}
        for sample in obj.samples:
            for key in sample:
                tag = tags.get(key) or top_level.get(key)
                if tag and sample[key] is not None:
                    sample[key] = f"<{tag}>"
    return tagged
