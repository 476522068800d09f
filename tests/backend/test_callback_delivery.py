"""Status callbacks: HMAC-signed POSTs, retried with backoff, every attempt logged,
at-least-once with an event id, never re-sent once delivered."""
from __future__ import annotations


from backend.models.callback_delivery import CallbackDelivery


def register(api, receiver, events=("seal.used",)) -> dict:
    created = api.post("/api/v1/callbacks", {"url": receiver.url, "events": list(events)}).json()
    receiver.secret = created["secret"]
    return created


async def test_a_test_event_is_signed_and_delivered_once(api, receiver, run_jobs):
    endpoint = register(api, receiver)
    sent = api.post(f"/api/v1/callbacks/{endpoint['id']}/test")
    assert sent.status_code == 202
    await run_jobs()
    await run_jobs()  # a second worker pass does not re-send a delivered event
    (got,) = receiver.received
    assert got["signature_valid"] and got["event_id"] == sent.json()["event_id"]
    assert got["body"]["type"] == "callback.test" and got["body"]["event_id"] == got["event_id"]
    log = api.get(f"/api/v1/callbacks/{endpoint['id']}/deliveries").json()["items"]
    assert [(d["status"], d["attempts"]) for d in log] == [("delivered", 1)]


async def test_a_failing_receiver_is_retried_until_it_accepts(api, receiver, run_jobs):
    endpoint = register(api, receiver)
    receiver.fail_next(3, status=503)
    api.post(f"/api/v1/callbacks/{endpoint['id']}/test")
    await run_jobs()
    assert [r["status"] for r in receiver.received] == [503, 503, 503, 200]
    assert len({r["event_id"] for r in receiver.received}) == 1  # same id: the receiver dedupes
    (delivery,) = api.get(f"/api/v1/callbacks/{endpoint['id']}/deliveries").json()["items"]
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 503, 503, 200]


async def test_an_unreachable_receiver_fails_after_the_last_attempt(api, receiver, run_jobs,
                                                                  test_settings):
    created = api.post("/api/v1/callbacks", {"url": "http://127.0.0.1:9/closed",
                                             "events": ["seal.used"]}).json()
    api.post(f"/api/v1/callbacks/{created['id']}/test")
    await run_jobs()
    delivery = await CallbackDelivery.get(endpoint_id=created["id"])
    assert delivery.status == "failed"
    assert delivery.attempts == test_settings.callback_max_attempts
    assert "ConnectError" in delivery.last_error


async def test_other_tenants_cannot_read_the_delivery_log(api, receiver, server, other_tenant):
    from backend.client import ApiClient

    endpoint = register(api, receiver)
    with ApiClient(server, other_tenant.app_key, other_tenant.app_secret) as other:
        assert other.get(f"/api/v1/callbacks/{endpoint['id']}/deliveries").status_code == 404
        assert other.post(f"/api/v1/callbacks/{endpoint['id']}/test").status_code == 404


async def test_failed_deliveries_get_another_round_after_a_long_outage(api, receiver, run_jobs,
                                                                       test_settings):
    endpoint = register(api, receiver)
    receiver.fail_next(test_settings.callback_max_attempts, status=503)
    sent = api.post(f"/api/v1/callbacks/{endpoint['id']}/test").json()
    failed = await settled(api, endpoint, run_jobs)
    assert failed["status"] == "failed"
    assert failed["attempts"] == test_settings.callback_max_attempts
    again = api.post(f"/api/v1/callbacks/{endpoint['id']}/redeliver")
    assert again.status_code == 202 and again.json() == {"requeued": 1}
    done = await settled(api, endpoint, run_jobs)
    assert done["status"] == "delivered"
    assert done["attempts"] == test_settings.callback_max_attempts + 1
    assert receiver.received[-1]["event_id"] == sent["event_id"]  # same id: de-duplicated
    assert api.post(f"/api/v1/callbacks/{endpoint['id']}/redeliver").json() == {"requeued": 0}


async def settled(api, endpoint: dict, run_jobs) -> dict:
    """Run the job worker until the endpoint's only delivery is no longer pending (a burst
    worker may stop between two quick retries on a busy machine)."""
    for _ in range(10):
        await run_jobs()
        (delivery,) = api.get(f"/api/v1/callbacks/{endpoint['id']}/deliveries").json()["items"]
        if delivery["status"] != "pending":
            return delivery
    raise AssertionError(f"delivery still pending: {delivery}")
