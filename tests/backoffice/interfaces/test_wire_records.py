"""The feed's records decoded by msgspec (interfaces/tixngo/records.py), then read by the domain.

One decode path: a page's bytes and a JSON value (a parked record, a support file's) give the same
structs; any JSON value decodes (the domain, not the decoder, refuses a malformed record, with its
own message); a record kept from its struct gives back the keys it came with. Profiles already
checked are taken again by value, never for a profile whose consent only *equals* a boolean.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from tixtrace.backoffice.domain.records import Profiles, RecordError, parse_record
from tixtrace.backoffice.interfaces.tixngo.records import PAGE_DECODER, from_json_value, from_json_values, stored


def profile(email: str, **extra: Any) -> dict[str, Any]:
    return {"email": email, "title": None, "firstName": "Ana", "lastName": "Lima", "dateOfBirth": "1990-02-01",
            "nationality": None, "idCardNumber": None, "phoneNumber": None, "residenceCountry": "PT",
            "language": "pt", "organizerSpectatorPreference": {"allowPromoEmail": True, "allowThirdPartyEmail": False},
            **extra}


def record(record_id: int, **extra: Any) -> dict[str, Any]:
    return {"recordId": record_id, "ticketId": "T1", "status": "DOWNLOADED", "occurredAt": "2026-06-11T18:00:00Z",
            "transferLevel": 0, "walletOwner": profile("ana@example.com"), "ticketHolder": {"firstName": "Ana"},
            "transfer": None, **extra}


def test_a_page_and_json_values_decode_to_the_same_structs() -> None:
    records = [record(1), "not a record", 7, None, [1], {"recordId": "x"}, record(2, walletOwner="ana")]
    body = orjson.dumps({"records": records, "paginationKey": "k", "hasMore": False})
    page = PAGE_DECODER.decode(body)
    assert page.records == from_json_values(records)
    assert [stored(r) for r in page.records] == records  # kept as they came: same keys, same values


def test_a_key_not_sent_stays_absent_when_kept() -> None:
    sent = {"recordId": 3, "ticketId": "T1", "status": "DOWNLOADED"}
    assert stored(from_json_value(sent)) == sent
    with pytest.raises(RecordError, match="occurredAt is missing or not a time"):
        parse_record(from_json_value(sent))


def test_a_page_of_another_shape_is_refused_by_the_decoder() -> None:
    with pytest.raises(msgspec.DecodeError):
        PAGE_DECODER.decode(b'{"records": {}, "paginationKey": "k", "hasMore": false}')


def test_the_domain_reads_the_structs_as_it_read_the_json() -> None:
    parsed = parse_record(from_json_value(record(1)))
    assert parsed.wallet_owner is not None and parsed.wallet_owner.raw == profile("ana@example.com")
    assert parsed.wallet_owner.email_key == "ana@example.com" and parsed.wallet_owner.complete
    assert parsed.wallet_owner.fields["allow_promo_email"] is True and parsed.ticket_holder == {"firstName": "Ana"}


@pytest.mark.parametrize("answer", [1, 1.0, 0, "yes"])
def test_a_profile_equal_to_a_checked_one_but_for_a_consent_type_is_still_refused(answer: Any) -> None:
    profiles = Profiles()
    parse_record(from_json_value(record(1)), profiles)
    preference = {"allowPromoEmail": answer, "allowThirdPartyEmail": False}
    bad = record(2, walletOwner=profile("ana@example.com", organizerSpectatorPreference=preference))
    with pytest.raises(RecordError, match="organizerSpectatorPreference.allowPromoEmail must be true or false"):
        parse_record(from_json_value(bad), profiles)


def test_a_profile_seen_again_is_the_same_person_and_errors_name_their_field() -> None:
    profiles = Profiles()
    first = parse_record(from_json_value(record(1)), profiles)
    again = parse_record(from_json_value(record(2)), profiles)
    assert again.wallet_owner is first.wallet_owner
    sender = {"transferId": "t1", "direction": "FORWARD", "recipient": profile("bob@example.com", firstName=42)}
    with pytest.raises(RecordError, match="transfer.recipient: profile field firstName must be text"):
        parse_record(from_json_value(record(3, status="PENDING_TRANSFER", transfer=sender)), profiles)
