from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_stat_counter_unit_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EnvelopeBatch',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(default='create', description='create | sign', max_length=16)),
                ('template_code', fields.CharField(default='', max_length=64)),
                ('spec', fields.JSONField(default=dict, description='The envelope definition shared by every item (signers, doc_type, send ...).', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='running', description='running | completed | terminated', max_length=16)),
                ('total', fields.IntField(default=0)),
                ('created_by', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('terminated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('terminate_reason', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'envelope_batch', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Thousands of envelopes from one template and a list, processed by a resumable job.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Envelope',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('doc_type', fields.CharField(default='', max_length=32)),
                ('business_no', fields.CharField(null=True, max_length=64)),
                ('title', fields.CharField(max_length=200)),
                ('document', fields.ForeignKeyField('models.Document', source_field='document_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharField(default='draft', db_index=True, max_length=16)),
                ('unit_ref', fields.CharField(default='hq', max_length=64)),
                ('business_line', fields.CharField(default='', max_length=64)),
                ('batch', fields.ForeignKeyField('models.EnvelopeBatch', source_field='batch_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('clauses', fields.JSONField(default=list, description='Exemption clauses shown and acknowledged one by one [保险法第十七条].', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('changes', fields.JSONField(default=list, description='What an endorsement changes: [{"field", "label", "old", "new"}].', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('deadline_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DateField(null=True, description="end of an agreement's validity")),
                ('reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('rejected_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expired_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('voided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('end_reason', fields.CharField(default='', max_length=300)),
                ('void_request', fields.JSONField(null=True, description='Voiding [解约]: who asked and who confirmed ({"requested_by", "reason", "confirmed": [...]}).', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('void_statement_id', fields.UUIDField(null=True)),
            ],
            options={'table': 'envelope', 'app': 'models', 'unique_together': (('tenant', 'doc_type', 'business_no'),), 'indexes': [Index(fields=['tenant_id', 'status', 'deadline_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EnvelopeBatchItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('batch', fields.ForeignKeyField('models.EnvelopeBatch', source_field='batch_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('business_no', fields.CharField(default='', max_length=64)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('signers', fields.JSONField(default=list, description='Signers of this row when they differ per row (an agent per agreement), else empty.', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='pending', description='pending | done | failed | terminated', max_length=16)),
                ('envelope_id', fields.UUIDField(null=True)),
                ('error_code', fields.CharField(default='', max_length=64)),
                ('error', fields.CharField(default='', max_length=300)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'envelope_batch_item', 'app': 'models', 'unique_together': (('batch', 'number'),), 'indexes': [Index(fields=['batch_id', 'status'])], 'pk_attr': 'id', 'table_description': 'One row of a batch: its parameters and what became of it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EnvelopeSigner',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('envelope', fields.ForeignKeyField('models.Envelope', source_field='envelope_id', db_constraint=True, to_field='id', related_name='signers', on_delete=OnDelete.CASCADE)),
                ('stage', fields.IntField(default=1)),
                ('kind', fields.CharField(description='person | company | approver', max_length=16)),
                ('role', fields.CharField(max_length=32)),
                ('ref', fields.CharField(default='', db_index=True, description="The business system's own reference of the person (agent number, user id ...).", max_length=64)),
                ('name_masked', fields.CharField(default='', max_length=100)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('company_name', fields.CharField(default='', max_length=200)),
                ('seal_id', fields.CharField(default='', max_length=64)),
                ('user_ref', fields.CharField(default='', description='The user the seal grant is checked for (company signers, pre-seal approvers).', max_length=64)),
                ('identity_methods', fields.JSONField(default=list, description='two_factor, three_factor, face', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('intent_method', fields.CharField(default='sms', max_length=16)),
                ('position', fields.JSONField(default=dict, description='{"role": template position} or {"page", "rect"} or {"keyword"}.', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('materials_required', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('materials', fields.JSONField(default=dict, description='kind -> {sha256, size, ...}', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='waiting', max_length=16)),
                ('identity_check_id', fields.UUIDField(null=True)),
                ('identity_checked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('clauses_acked', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('intent_id', fields.UUIDField(null=True)),
                ('signed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('signed_sha256', fields.CharField(default='', max_length=64)),
                ('rejected_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('comment', fields.CharField(default='', max_length=300)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'envelope_signer', 'app': 'models', 'indexes': [Index(fields=['envelope_id', 'stage'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
