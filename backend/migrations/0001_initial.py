from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seq', fields.BigIntField(unique=True, description='Gap-free position in the chain (not the row id): a missing number is a deleted entry.')),
                ('tenant_id', fields.UUIDField(null=True, db_index=True)),
                ('actor', fields.CharField(max_length=200)),
                ('action', fields.CharField(db_index=True, max_length=100)),
                ('target', fields.CharField(default='', max_length=200)),
                ('result', fields.CharField(default='ok', max_length=32)),
                ('ip', fields.CharField(default='', max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=300)),
                ('request_id', fields.CharField(default='', max_length=64)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('prev_hash', fields.CharField(max_length=64)),
                ('hash', fields.CharField(unique=True, max_length=64)),
            ],
            options={'table': 'audit_entry', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tenant',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('app_key', fields.CharField(unique=True, max_length=64)),
                ('app_secret_enc', fields.TextField(description='HMAC secret of the business API, SM4-encrypted (context "tenant.app_secret").', unique=False)),
                ('disabled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tenant', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CallbackEndpoint',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='callback_endpoints', on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=500)),
                ('events', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('description', fields.CharField(default='', max_length=200)),
                ('secret_enc', fields.TextField(description='HMAC key for the bodies we send, SM4-encrypted (context "callback.secret").', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('disabled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'callback_endpoint', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=128)),
                ('fingerprint', fields.CharField(description='SHA-256 of method, path and body: the same key with another request is refused.', max_length=64)),
                ('status_code', fields.SmallIntField(default=0)),
                ('response_body', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'idempotency_record', 'app': 'models', 'unique_together': (('tenant', 'key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboundMessage',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(max_length=16)),
                ('template', fields.CharField(max_length=64)),
                ('recipient_masked', fields.CharField(max_length=100)),
                ('recipient_enc', fields.TextField(description='SM4-encrypted recipient (context "message.recipient") and its blind index.', unique=False)),
                ('recipient_index', fields.CharField(db_index=True, max_length=64)),
                ('params_enc', fields.TextField(description='SM4-encrypted JSON template parameters (they may contain names and links).', unique=False)),
                ('attachments', fields.JSONField(default=list, description='Files to attach (e.g. the signed PDF), by storage reference.', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('idempotency_key', fields.CharField(max_length=128)),
                ('status', fields.CharField(default='queued', max_length=16)),
                ('provider_message_id', fields.CharField(null=True, db_index=True, max_length=128)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbound_message', 'app': 'models', 'unique_together': (('tenant', 'idempotency_key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeliveryAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('models.OutboundMessage', source_field='message_id', db_constraint=True, to_field='id', related_name='attempt_log', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharField(max_length=16)),
                ('error_code', fields.CharField(default='', max_length=64)),
                ('error_message', fields.CharField(default='', max_length=500)),
                ('provider_message_id', fields.CharField(null=True, max_length=128)),
            ],
            options={'table': 'delivery_attempt', 'app': 'models', 'unique_together': (('message', 'number'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SigningLink',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, description='SHA-256 of the token: the token itself is never stored.', max_length=64)),
                ('envelope_ref', fields.CharField(max_length=64)),
                ('signer_ref', fields.CharField(max_length=64)),
                ('signer_name_masked', fields.CharField(default='', description='Shown masked on the landing page so that the person knows the link is theirs.', max_length=100)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_opened_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('open_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'signing_link', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'envelope_ref', 'signer_ref'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
