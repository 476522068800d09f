"""Find or register a person by ID number; numbers encrypted, indexed blind, shown masked."""
from __future__ import annotations

from typing import Any

from backend.errors import NotFound
from backend.fieldcrypt import FieldCipher, mask
from backend.ids import parse_uuid
from backend.models.identity import Person
from backend.models.tenant import Tenant
from backend.validation import validate_id_number, validate_mobile, validate_person_name


class PersonNotFound(NotFound):
    code, message = "PERSON_NOT_FOUND", "no such person"


async def upsert_person(tenant: Tenant, name: str, id_number: str, mobile: str | None,
                        cipher: FieldCipher) -> Person:
    """Validate and store; a known ID number updates the name and mobile."""
    name = validate_person_name(name)
    id_number = validate_id_number(id_number).number
    mobile = validate_mobile(mobile) if mobile else None
    index = cipher.blind_index(id_number, "id_number")
    person = await Person.get_or_none(tenant_id=tenant.id, id_number_index=index)
    if person is None:
        person = Person(tenant=tenant, id_number_index=index,
                        id_number_enc=cipher.encrypt(id_number, "person.id_number"),
                        id_number_masked=mask(id_number))
    person.name = name
    if mobile:
        person.mobile_enc = cipher.encrypt(mobile, "person.mobile")
        person.mobile_index = cipher.blind_index(mobile, "mobile")
        person.mobile_masked = mask(mobile, 3, 4)
    await person.save()
    return person


async def get_person(tenant: Tenant, person_id: str) -> Person:
    person = await Person.get_or_none(id=parse_uuid(person_id, PersonNotFound), tenant_id=tenant.id)
    if person is None:
        raise PersonNotFound()
    return person


def present_person(person: Person) -> dict[str, Any]:
    return {"id": str(person.id), "name": person.name, "id_number": person.id_number_masked,
            "mobile": person.mobile_masked, "has_signing_password": bool(person.signing_password_hash)}


async def set_signing_password(tenant: Tenant, person_id: str, password: str) -> dict[str, Any]:
    from tortoise.transactions import in_transaction

    from backend import audit
    from backend.services import passwords

    passwords.check_strength(password)
    async with in_transaction("default"):
        person = await get_person(tenant, person_id)
        person.signing_password_hash = passwords.hash_password(password)
        await person.save(update_fields=["signing_password_hash"])
        await audit.record("person.signing_password.set", f"person:{person.id}")
    return present_person(person)
