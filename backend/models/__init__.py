"""Tortoise models, one module per aggregate. ``MODEL_MODULES`` feeds the ORM config."""
MODEL_MODULES = [
    "backend.models.tenant",
    "backend.models.idempotency",
    "backend.models.audit",
    "backend.models.callback",
    "backend.models.signing_link",
    "backend.models.message",
    "backend.models.identity",
    "backend.models.seal",
    "backend.models.org",
    "backend.models.admin",
]
MODEL_MODULES += ["backend.models.template", "backend.models.document"]  # templates, file centre
MODEL_MODULES += ["backend.models.callback_delivery"]  # status-callback outbox
MODEL_MODULES += ["backend.models.stats"]  # pre-aggregated statistics counters
MODEL_MODULES += ["backend.models.billing"]  # usage metering and billing
MODEL_MODULES += ["backend.models.envelope"]  # signing envelopes, signers, batches
