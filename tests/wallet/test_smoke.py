from tests.wallet.conftest import ticket_payload


def test_smoke(wallet):
    assert wallet.inject(ticket_payload("T1", "ana@example.com"))[0]["result"] == "INJECTED"
    r = wallet.as_spectator("ana@example.com", "GET", "/spectator/tickets")
    assert r.status_code == 200, r.text
    r = wallet.transfer("ana@example.com", "T1", "bea@example.com")
    assert r.status_code == 201, r.text
    tid = r.json()["transferId"]
    wallet.profile("bea@example.com")
    r = wallet.act("bea@example.com", tid, "accept")
    assert r.status_code == 200, r.text
    recs = wallet.all_records()
    assert [x["status"] for x in recs] == ["INJECTED", "DOWNLOADED", "PENDING_TRANSFER", "TRANSFERRED"], recs
    print(recs[-1])
