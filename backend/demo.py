"""Demo data for ./scripts/run.sh: one demo tenant, its secret printed once."""
from __future__ import annotations

import asyncio
import json

from backend.fieldcrypt import FieldCipher
from backend.models.tenant import Tenant
from backend.services.create_tenant import create_tenant

DEMO_TENANT_NAME = "演示保险公司 Demo Insurance"


async def ensure_demo_tenant(cipher: FieldCipher) -> None:
    existing = await Tenant.get_or_none(name=DEMO_TENANT_NAME)
    if existing:
        print(f"[demo] demo tenant exists: app_key={existing.app_key} "
              "(its secret was printed when it was created)", flush=True)
        return
    created = await create_tenant(DEMO_TENANT_NAME, cipher)
    print("[demo] demo tenant created; keep this secret, it is shown once:", flush=True)
    print(json.dumps(created.to_dict()), flush=True)


# -- a person's signing link for the H5 page --------------------------------------------------
DEMO_BUSINESS_PREFIX = "DEMO-H5-"
DRAIN_SECONDS = 10
DEMO_CLAUSES = (
    {"id": "c1", "title": "责任免除第一条",
     "text": "因投保人、被保险人的故意行为，或被保险人醉酒、无有效驾驶证驾驶造成的损失，"
             "保险人不负赔偿责任。"},
    {"id": "c2", "title": "责任免除第二条",
     "text": "战争、军事冲突、暴乱或核辐射造成的损失，保险人不负赔偿责任。"})
DEMO_CHANGES = ({"field": "sum_insured", "label": "保险金额", "old": "300,000.00",
                 "new": "500,000.00"},)


def demo_id_number(body: str) -> str:
    """A valid GB 11643 number (check digit computed) for the demo policyholder."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]


async def ensure_demo_envelope(runtime) -> str:
    """An application form (投保单) for a demo policyholder: identity by the local (DEMO)
    three-factor provider, two exemption clauses, an old → new change, intent by SMS code (the
    local channel's messages are at /demo/messages). Reused while it waits for its signer; once
    signed or ended the next one is made. Returns the fresh /s/<token> link (older ones revoked)."""
    from tortoise.transactions import in_transaction

    from backend.models.envelope import Envelope, EnvelopeSigner
    from backend.services import signing_links
    from backend.services.documents_query import Caller
    from backend.services.envelopes import create, flow
    from backend.services.envelopes.spec import EnvelopeSpec
    from backend.services.templates_catalog import example_sample, import_examples

    tenant = await Tenant.get(name=DEMO_TENANT_NAME)
    caller = Caller(user_ref="demo", unit_ref="hq")
    await import_examples(tenant, runtime, actor=caller.actor, codes=["application"])
    latest = await Envelope.filter(tenant_id=tenant.id, doc_type="application",
                                   business_no__startswith=DEMO_BUSINESS_PREFIX) \
        .order_by("-created_at").first()
    signer = await EnvelopeSigner.get_or_none(envelope_id=latest.id, kind="person",
                                              status="ready") if latest else None
    if latest is None or signer is None or latest.status not in ("sent", "signing"):
        number = 1 + await Envelope.filter(tenant_id=tenant.id, doc_type="application",
                                           business_no__startswith=DEMO_BUSINESS_PREFIX).count()
        params = example_sample("application")
        params["holder_id_no"] = demo_id_number(params["holder_id_no"][:17])
        spec = EnvelopeSpec.from_dict({
            "title": "", "template": "application", "params": params, "doc_type": "application",
            "business_no": f"{DEMO_BUSINESS_PREFIX}{number:04d}", "business_line": "health",
            "clauses": DEMO_CLAUSES, "changes": DEMO_CHANGES,
            "signers": [{"kind": "person", "role": "policyholder", "name": params["holder_name"],
                         "id_number": params["holder_id_no"], "mobile": params["holder_phone"],
                         "ref": "demo-policyholder", "identity": ["three_factor"],
                         "intent": "sms"}]})
        issued = await create.create_envelope(tenant, runtime, spec, caller=caller)
        latest = issued.envelope
        if latest.status == "draft":
            await flow.send(tenant, runtime, str(latest.id), actor=caller.actor)
        signer = await EnvelopeSigner.get(envelope_id=latest.id, kind="person")
    async with in_transaction("default"):
        link = await signing_links.issue_link(
            tenant, str(latest.id), str(signer.id), signer.name_masked,
            runtime.settings.signing_link_ttl_hours)
    return link.to_dict(runtime.settings.base_url)["url"]


async def prepare_demo(settings) -> None:
    """At start with DEMO_DATA: the demo tenant and a signing link to open on a phone."""
    from backend.runtime import Runtime

    runtime = Runtime.from_settings(settings)
    try:
        await ensure_demo_tenant(runtime.cipher)
        try:
            url = await ensure_demo_envelope(runtime)
        except Exception as exc:  # noqa: BLE001 - the demo link is a convenience; serve anyway
            print(f"[demo] no demo signing link: {exc!r}", flush=True)
            return
        base = settings.base_url
        print(f"[demo] H5 signing link (open it on a phone-sized screen): {url}", flush=True)
        print(f"[demo] SMS codes and links the demo 'sends' appear at {base}/demo/messages",
              flush=True)
    finally:
        drain = getattr(runtime.jobs, "drain", None)
        if drain is not None:  # in-process jobs (the demo's SMS) finish before the database
            try:               # closes, but a job retrying with backoff must not hold the start
                await asyncio.wait_for(drain(), DRAIN_SECONDS)
            except asyncio.TimeoutError:
                print("[demo] a demo message is still being retried; serving anyway", flush=True)
        await runtime.close()
