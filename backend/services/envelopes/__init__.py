"""Signing flows [签署中心]: envelopes, signers in stages, person and silent company signing,
approvals and pre-seal nodes, batches, voiding, reminders and expiry.

One use case per module; every state change writes, in one transaction, the new state, the
document's evidence event, the operation-log entry, the status callback (outbox) and, where
billable, the usage event.
"""
