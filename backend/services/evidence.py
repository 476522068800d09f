"""Evidence [数据存证]: per document, an SM3 hash chain of every step that matters to a
regulator (creation, identity checks, intent confirmation, each exemption clause shown and for
how long, acknowledgement, signatures, seal uses, timestamps, downloads, voiding), and a PDF
report of it signed by the platform (SM2 and RSA).

``append`` writes one event in the caller's transaction (or its own): the document row is
locked (``SELECT ... FOR UPDATE``) so the sequence has no gaps or forks. ``verify_chain``
recomputes the chain and names the first broken link (edited, deleted or reordered event).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import io
import json
from typing import Any

from tortoise.transactions import in_transaction

from backend.audit import GENESIS_HASH, chain_hash
from backend.errors import ValidationFailed
from backend.models.document import Document, EvidenceEvent
from backend.services import file_store

#: Kinds the platform and business systems record; ``payload`` carries the details.
EVIDENCE_KINDS = ("created", "uploaded", "identity_check", "intent", "clause_shown", "clause_ack",
                  "signature", "timestamp", "seal_use", "download", "print_copy", "voided",
                  "superseded", "access_granted", "envelope_state", "approval", "material",
                  "void_confirm", "other")
#: Kinds a business system may append through the API (the others are the platform's own).
EXTERNAL_KINDS = ("identity_check", "intent", "clause_shown", "clause_ack", "signature",
                  "timestamp", "other")


class EvidenceReferenceInvalid(ValidationFailed):
    code = "EVIDENCE_REFERENCE_INVALID"


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hashable(event: EvidenceEvent) -> dict[str, Any]:
    return {"document_id": str(event.document_id), "seq": event.seq, "kind": event.kind,
            "actor": event.actor, "ip": event.ip, "device": event.device,
            "payload": event.payload, "occurred_at": _iso(event.occurred_at)}


async def append(document_id: Any, kind: str, *, actor: str, ip: str = "", device: str = "",
                 payload: dict[str, Any] | None = None,
                 occurred_at: dt.datetime | None = None) -> EvidenceEvent:
    """Append one event to the document's chain, in the current transaction (or a new one)."""
    async with in_transaction("default") as conn:
        doc = await Document.filter(id=document_id).select_for_update().using_db(conn).first()
        if doc is None:
            raise LookupError(f"no document {document_id}")
        last = await EvidenceEvent.filter(document_id=document_id).using_db(conn) \
            .order_by("-seq").first()
        event = _linked(document_id, (last.seq + 1) if last else 1,
                        last.hash if last else GENESIS_HASH, kind, actor, ip, device, payload,
                        occurred_at or dt.datetime.now(dt.timezone.utc))
        await event.save(using_db=conn, force_create=True)
        return event


def new_chain(document_id: Any, steps: list[tuple[str, dict[str, Any]]], *, actor: str,
              ip: str = "", device: str = "") -> list[EvidenceEvent]:
    """The linked first events of a document made in the caller's transaction (nobody else
    can append to it yet), unsaved: bulk issuance inserts the chains of many documents at once."""
    events, prev, now = [], GENESIS_HASH, dt.datetime.now(dt.timezone.utc)
    for seq, (kind, payload) in enumerate(steps, start=1):
        events.append(_linked(document_id, seq, prev, kind, actor, ip, device, payload, now))
        prev = events[-1].hash
    return events


def _linked(document_id: Any, seq: int, prev_hash: str, kind: str, actor: str, ip: str,
            device: str, payload: dict[str, Any] | None, occurred_at: dt.datetime) -> EvidenceEvent:
    event = EvidenceEvent(document_id=document_id, seq=seq, kind=kind, actor=actor[:200],
                          ip=(ip or "")[:64], device=(device or "")[:300],
                          occurred_at=occurred_at, prev_hash=prev_hash)
    # round-trip the payload through JSON so the hash covers what is stored
    event.payload = json.loads(json.dumps(payload or {}, ensure_ascii=False, default=str))
    event.hash = chain_hash(prev_hash, hashable(event))
    return event


async def record_external(document: Document, kind: str, *, actor: str, ip: str, device: str,
                          payload: dict[str, Any],
                          occurred_at: dt.datetime | None) -> EvidenceEvent:
    """A signing-flow event reported by the business system. When it names the platform's own
    record (``identity_check_id`` of an identity check, ``intent_id`` of a confirmed intent
    challenge), the facts are taken from that record, not from the caller: the check's kind,
    provider, outcome and request digest; the intent's method, confirmation time, IP and the
    document hash it confirmed (which must be one of this document's contents)."""
    from backend.models.document import DocumentRevision
    from backend.models.identity import IdentityCheck, IntentChallenge

    payload = dict(payload)
    if kind == "identity_check" and payload.get("identity_check_id"):
        check_row = await IdentityCheck.get_or_none(id=_uuid(payload["identity_check_id"]),
                                                    tenant_id=document.tenant_id)
        if check_row is None:
            raise EvidenceReferenceInvalid("no such identity check")
        payload.update(identity_check_id=str(check_row.id), check_kind=check_row.kind,
                       provider=check_row.provider, outcome=check_row.outcome,
                       request_digest=check_row.request_digest,
                       checked_at=_iso(check_row.created_at), from_platform_record=True)
        occurred_at = occurred_at or check_row.created_at
    if kind == "intent" and payload.get("intent_id"):
        intent = await IntentChallenge.get_or_none(id=_uuid(payload["intent_id"]),
                                                   tenant_id=document.tenant_id)
        if intent is None or intent.confirmed_at is None:
            raise EvidenceReferenceInvalid("no such confirmed intent challenge")
        hashes = set(await DocumentRevision.filter(document_id=document.id)
                     .values_list("sha256", flat=True))
        if intent.document_hash not in hashes:
            raise EvidenceReferenceInvalid("the intent confirmed another document",
                                           code="INTENT_DOCUMENT_MISMATCH")
        payload.update(intent_id=str(intent.id), method=intent.method,
                       confirmed_at=_iso(intent.confirmed_at), document_hash=intent.document_hash,
                       from_platform_record=True)
        ip = intent.client_ip or ip
        occurred_at = occurred_at or intent.confirmed_at
    return await append(document.id, kind, actor=actor, ip=ip, device=device, payload=payload,
                        occurred_at=occurred_at)


def _uuid(value: Any):
    import uuid
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise EvidenceReferenceInvalid("not a platform record id") from None


@dataclasses.dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    head: str
    broken_at: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check(events: list[EvidenceEvent]) -> ChainReport:
    prev, expected = GENESIS_HASH, 1
    for event in events:
        problem = ""
        if event.seq != expected:
            problem = f"event {expected} is missing (next is {event.seq}): deleted"
        elif event.prev_hash != prev:
            problem = f"event {event.seq} does not follow event {event.seq - 1}: reordered or replaced"
        elif chain_hash(event.prev_hash, hashable(event)) != event.hash:
            problem = f"event {event.seq} content does not match its hash: edited"
        if problem:
            return ChainReport(False, expected - 1, prev, expected, problem)
        prev, expected = event.hash, expected + 1
    return ChainReport(True, expected - 1, prev)


async def events_of(document_id: Any) -> list[EvidenceEvent]:
    return await EvidenceEvent.filter(document_id=document_id).order_by("seq")


async def verify_chain(document_id: Any) -> ChainReport:
    return check(await events_of(document_id))


def present_event(event: EvidenceEvent) -> dict[str, Any]:
    return {"seq": event.seq, "kind": event.kind, "actor": event.actor, "ip": event.ip,
            "device": event.device, "payload": event.payload,
            "occurred_at": _iso(event.occurred_at), "prev_hash": event.prev_hash,
            "hash": event.hash}


def clause_durations(events: list[EvidenceEvent]) -> list[dict[str, Any]]:
    """How long each exemption clause was on screen (``clause_shown`` payloads:
    ``clause``, ``shown_ms`` or ``shown_from``/``shown_until``)."""
    out = []
    for event in events:
        if event.kind != "clause_shown":
            continue
        p = event.payload or {}
        ms = p.get("shown_ms")
        if ms is None and p.get("shown_from") and p.get("shown_until"):
            try:
                ms = int((dt.datetime.fromisoformat(p["shown_until"])
                          - dt.datetime.fromisoformat(p["shown_from"])).total_seconds() * 1000)
            except (TypeError, ValueError):
                ms = None
        out.append({"seq": event.seq, "clause": p.get("clause", ""), "shown_ms": ms,
                    "signer": p.get("signer", event.actor)})
    return out


async def package(document: Document) -> dict[str, Any]:
    """The evidence package as JSON: document hashes, signers (masked), the chain in order,
    clause display times and the chain check."""
    events = await events_of(document.id)
    report = check(events)
    return {
        "document": {"id": str(document.id), "title": document.title,
                     "doc_type": document.doc_type, "business_no": document.business_no,
                     "policy_no": document.policy_no, "status": document.status,
                     "original": {"sha256": document.original_sha256, "sm3": document.original_sm3,
                                  "size": document.original_size},
                     "current": {"sha256": document.current_sha256, "sm3": document.current_sm3,
                                 "size": document.current_size},
                     "template": {"code": document.template_code,
                                  "version": document.template_version_number},
                     "signers": document.signers},
        "events": [present_event(e) for e in events],
        "clauses": clause_durations(events),
        "chain": report.to_dict(),
    }


# ------------------------------------------------------------------ platform evidence identity
EVIDENCE_SUBJECT = "电子签章平台 数据存证"


def evidence_identities(pki) -> dict[str, dict[str, str]]:
    """The platform's SM2 and RSA evidence certificates and its RSA time-stamping certificate
    (issued once from the PKI's issuing CAs, keys generated inside its key store), kept in
    DATA_DIR/pki/evidence.json."""
    from sign.certs import CompanySubject, TSASubject
    from sign.certs.pem import dump_certificates

    from backend.pki import ORG

    path = pki.directory / "evidence.json"
    with open(pki.directory / ".evidence.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(path.read_text()) if path.exists() else {}
        wanted = (("sm2", "sm2", "sm2", CompanySubject(ORG, common_name=EVIDENCE_SUBJECT)),
                  ("rsa", "rsa", "rsa2048", CompanySubject(ORG, common_name=EVIDENCE_SUBJECT)),
                  ("tsa", "rsa", "rsa2048", TSASubject(f"{ORG} 时间戳服务", ORG)))
        missing = [w for w in wanted if w[0] not in state]
        for name, alg, key_alg, subject in missing:
            key_id = pki.keystore.generate_key(key_alg, f"platform evidence {name}")
            ca = pki.issuing_ca(alg)
            cert = ca.issue(subject, pki.keystore.public_key(key_id),
                            validity=dt.timedelta(days=3650))
            state[name] = {"key_id": key_id, "cert_pem": dump_certificates([cert]).decode(),
                           "chain_pem": dump_certificates([ca.cert, *ca.chain]).decode()}
        if missing:
            path.write_text(json.dumps(state, indent=1))
        return state


def _report_pdf(pkg: dict[str, Any], generated_at: dt.datetime) -> bytes:
    from documents.build import FormSpec, Heading, Paragraph, Title, build_form

    doc = pkg["document"]
    chain = pkg["chain"]
    blocks: list[Any] = [
        Title("电子数据存证报告", subtitle="Evidence report"),
        Heading("一、文件信息"),
        Paragraph(f"文件名称：{doc['title']}"),
        Paragraph(f"文件编号：{doc['id']}　类型：{doc['doc_type'] or '-'}　状态：{doc['status']}"),
        Paragraph(f"业务号：{doc['business_no'] or '-'}　保单号：{doc['policy_no'] or '-'}"),
        Paragraph(f"模版：{doc['template']['code'] or '-'} 第 {doc['template']['version'] or '-'} 版"),
        Paragraph(f"原始文件 SHA-256：{doc['original']['sha256']}", size=8),
        Paragraph(f"原始文件 SM3：{doc['original']['sm3']}", size=8),
        Paragraph(f"当前文件 SHA-256：{doc['current']['sha256']}", size=8),
        Paragraph(f"当前文件 SM3：{doc['current']['sm3']}", size=8),
        Paragraph("签署人：" + ("、".join(f"{s.get('name_masked', '')}（{s.get('role', '')}）"
                                       for s in doc["signers"]) or "-")),
        Heading("二、存证链（按时间顺序）"),
    ]
    for event in pkg["events"]:
        payload = json.dumps(event["payload"], ensure_ascii=False, sort_keys=True)
        if len(payload) > 600:
            payload = payload[:600] + "…"
        blocks.append(Paragraph(
            f"{event['seq']}. {event['occurred_at']}  {event['kind']}  操作人：{event['actor'] or '-'}"
            f"  IP：{event['ip'] or '-'}  设备：{event['device'] or '-'}  内容：{payload}"
            f"  哈希：{event['hash']}", size=7.5))
    if pkg["clauses"]:
        blocks.append(Heading("三、免责条款展示时长"))
        for c in pkg["clauses"]:
            shown = "未记录" if c["shown_ms"] is None else f"{c['shown_ms'] / 1000:.1f} 秒"
            blocks.append(Paragraph(f"第 {c['seq']} 条事件：{c['clause']}，展示 {shown}（{c['signer']}）"))
    blocks.append(Heading("四、存证链校验"))
    blocks.append(Paragraph(
        f"共 {chain['events']} 条事件，校验结果：{'完整，未被篡改' if chain['ok'] else '断裂：' + chain['reason']}。"
        f" 链头哈希（SM3）：{chain['head']}", boxed=True, title="校验结论"))
    blocks.append(Paragraph(f"报告生成时间（UTC）：{_iso(generated_at)}。本报告由平台以 SM2 与 RSA "
                            "数字证书签名，可用任意 PDF 签名验证工具核验。", size=8))
    spec = FormSpec(code="evidence-report", title="电子数据存证报告", blocks=tuple(blocks),
                    issuer="电子签章平台")
    return build_form(spec).pdf


def _sign_report(pdf: bytes, pki) -> tuple[bytes, list[str]]:
    """The report signed (SM2, then RSA time-stamped); also the SHA-256 of each RFC 3161
    token obtained (the metering keys)."""
    from sign.certs.pem import load_certificates
    from sign.keystore_signer import KeyStoreSigner
    from sign.pdf.pipeline import sign_pdf_dual
    from sign.specs import SignatureSpec
    from sign.timestamps import InProcessTimeStamper
    from sign.tsa import TimeStampAuthority

    ids = evidence_identities(pki)

    def signer(alg: str) -> KeyStoreSigner:
        entry = ids[alg]
        return KeyStoreSigner(pki.keystore, entry["key_id"],
                              load_certificates(entry["cert_pem"].encode())[0],
                              load_certificates(entry["chain_pem"].encode()))

    tsa_entry = ids["tsa"]
    tsa = TimeStampAuthority(pki.keystore.signer(tsa_entry["key_id"]),
                             load_certificates(tsa_entry["cert_pem"].encode())[0],
                             load_certificates(tsa_entry["chain_pem"].encode()))
    tokens: list[str] = []

    class Recording(InProcessTimeStamper):
        def timestamp(self, message_imprint_digest: bytes, hash_alg: str = "sha256"):
            token = super().timestamp(message_imprint_digest, hash_alg)
            tokens.append(hashlib.sha256(token.dump()).hexdigest())
            return token

    out = io.BytesIO()
    sign_pdf_dual(pdf, out, signer("sm2"), signer("rsa"),
                  SignatureSpec(reason="电子数据存证报告", name=EVIDENCE_SUBJECT),
                  SignatureSpec(reason="电子数据存证报告", name=EVIDENCE_SUBJECT,
                                timestamper=Recording(tsa)))
    return out.getvalue(), tokens


async def report_pdf(document: Document, runtime) -> tuple[bytes, dict[str, Any]]:
    """The evidence report of ``document`` as a PDF signed by the platform (SM2, then RSA with
    an RFC 3161 time-stamp of the platform's TSA). Each token is metered [计量] as a
    ``timestamp`` of the document's tenant and unit, key ``tsa:<SHA-256 of the token>`` (the
    caller admits the call with ``metering.check_quota(tenant, "timestamp")``)."""
    from backend.services import metering

    pkg = await package(document)
    now = dt.datetime.now(dt.timezone.utc)
    pdf = await file_store.run(_report_pdf, pkg, now)
    signed, tokens = await file_store.run(_sign_report, pdf, runtime.pki())
    async with in_transaction("default"):
        for token in tokens:
            await metering.meter("timestamp", tenant_id=document.tenant_id, key=f"tsa:{token}",
                                 unit_ref=document.unit_ref)
    return signed, {"sha256": hashlib.sha256(signed).hexdigest(), "chain": pkg["chain"],
                    "timestamps": len(tokens)}
