from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_seals_org_admin')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Template',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=64)),
                ('title', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('doc_type', fields.CharField(default='', max_length=32)),
                ('status', fields.CharField(default='draft', max_length=16)),
                ('shared', fields.BooleanField(default=True)),
                ('unit_ref', fields.CharField(default='hq', max_length=64)),
                ('current_version', fields.IntField(default=1)),
                ('created_by', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'template', 'app': 'models', 'unique_together': (('tenant', 'code'),), 'pk_attr': 'id', 'table_description': 'A fillable template of a tenant, owned by a unit and optionally shared with all units.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TemplateEdit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('template', fields.ForeignKeyField('models.Template', source_field='template_id', db_constraint=True, to_field='id', related_name='edits', on_delete=OnDelete.CASCADE)),
                ('version', fields.IntField(null=True)),
                ('actor', fields.CharField(max_length=200)),
                ('action', fields.CharField(max_length=32)),
                ('summary', fields.CharField(default='', max_length=500)),
                ('diff', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'template_edit', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Who changed what in a template, and when (the edit trail).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TemplateVersion',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('template', fields.ForeignKeyField('models.Template', source_field='template_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('pdf_sha256', fields.CharField(max_length=64)),
                ('pdf_sm3', fields.CharField(default='', max_length=64)),
                ('pdf_size', fields.IntField(default=0)),
                ('definition', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('source', fields.CharField(default='upload', max_length=16)),
                ('created_by', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'template_version', 'app': 'models', 'unique_together': (('template', 'number'),), 'pk_attr': 'id', 'table_description': 'One immutable version: the base PDF (a blob in the file store) and its definition.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Document',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=200)),
                ('doc_type', fields.CharField(default='', db_index=True, max_length=32)),
                ('business_no', fields.CharField(default='', db_index=True, max_length=64)),
                ('policy_no', fields.CharField(default='', db_index=True, max_length=64)),
                ('unit_ref', fields.CharField(default='hq', db_index=True, max_length=64)),
                ('template_version', fields.ForeignKeyField('models.TemplateVersion', source_field='template_version_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('template_code', fields.CharField(default='', max_length=64)),
                ('template_version_number', fields.IntField(null=True)),
                ('status', fields.CharField(default='draft', db_index=True, max_length=16)),
                ('current_sha256', fields.CharField(max_length=64)),
                ('current_sm3', fields.CharField(default='', max_length=64)),
                ('current_size', fields.IntField(default=0)),
                ('original_sha256', fields.CharField(max_length=64)),
                ('original_sm3', fields.CharField(default='', max_length=64)),
                ('original_size', fields.IntField(default=0)),
                ('signers', fields.JSONField(default=list, description='[{"role", "ref", "name_masked"}] - names are stored masked only.', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('short_code', fields.CharField(unique=True, max_length=16)),
                ('retention_until', fields.DateField(null=True)),
                ('created_by', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('voided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('void_reason', fields.CharField(default='', max_length=300)),
                ('superseded_by', fields.UUIDField(null=True)),
            ],
            options={'table': 'document', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A file of a tenant: generated from a template version or uploaded.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DocumentAccess',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.ForeignKeyField('models.Document', source_field='document_id', db_constraint=True, to_field='id', related_name='grants', on_delete=OnDelete.CASCADE)),
                ('grantee_type', fields.CharField(max_length=8)),
                ('grantee_ref', fields.CharField(max_length=64)),
                ('granted_by', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'document_access', 'app': 'models', 'unique_together': (('document', 'grantee_type', 'grantee_ref'),), 'pk_attr': 'id', 'table_description': 'A grant to see a document: to a user, a role or a unit.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DocumentRevision',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.ForeignKeyField('models.Document', source_field='document_id', db_constraint=True, to_field='id', related_name='revisions', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('kind', fields.CharField(max_length=16)),
                ('sha256', fields.CharField(max_length=64)),
                ('sm3', fields.CharField(default='', max_length=64)),
                ('size', fields.IntField(default=0)),
                ('actor', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'document_revision', 'app': 'models', 'unique_together': (('document', 'number'),), 'pk_attr': 'id', 'table_description': 'Every content a document had (generated, uploaded, signed ...), in order.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EvidenceEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.ForeignKeyField('models.Document', source_field='document_id', db_constraint=True, to_field='id', related_name='evidence', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('kind', fields.CharField(max_length=32)),
                ('actor', fields.CharField(default='', max_length=200)),
                ('ip', fields.CharField(default='', max_length=64)),
                ('device', fields.CharField(default='', max_length=300)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('prev_hash', fields.CharField(max_length=64)),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'evidence_event', 'app': 'models', 'unique_together': (('document', 'seq'),), 'pk_attr': 'id', 'table_description': "One step in a document's evidence chain, hash = SM3(prev_hash || canonical event)."},
            bases=['Model'],
        ),
    ]
