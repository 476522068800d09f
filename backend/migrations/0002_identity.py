from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Enterprise',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('uscc', fields.CharField(max_length=18)),
                ('legal_rep_name', fields.CharField(max_length=50)),
                ('verified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'enterprise', 'app': 'models', 'unique_together': (('tenant', 'uscc'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=50)),
                ('id_number_enc', fields.TextField(unique=False)),
                ('id_number_index', fields.CharField(max_length=64)),
                ('id_number_masked', fields.CharField(max_length=32)),
                ('mobile_enc', fields.TextField(null=True, unique=False)),
                ('mobile_index', fields.CharField(null=True, db_index=True, max_length=64)),
                ('mobile_masked', fields.CharField(default='', max_length=32)),
                ('signing_password_hash', fields.CharField(default='', description='scrypt hash of the signing password (意愿认证 by password), never the password.', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'person', 'app': 'models', 'unique_together': (('tenant', 'id_number_index'),), 'pk_attr': 'id', 'table_description': 'A natural person known to a tenant. Numbers are SM4-encrypted, searched by blind index.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdentityCheck',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', null=True, db_constraint=True, to_field='id', related_name='checks', on_delete=OnDelete.CASCADE)),
                ('enterprise', fields.ForeignKeyField('models.Enterprise', source_field='enterprise_id', null=True, db_constraint=True, to_field='id', related_name='checks', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=24)),
                ('provider', fields.CharField(max_length=32)),
                ('outcome', fields.CharField(max_length=16)),
                ('from_cache', fields.BooleanField(default=False)),
                ('provider_request_id', fields.CharField(default='', max_length=128)),
                ('raw_code', fields.CharField(default='', max_length=64)),
                ('message', fields.CharField(default='', max_length=300)),
                ('request_digest', fields.CharField(description='SM3 of the canonical request (name, numbers): proves what was asked without storing it.', max_length=64)),
                ('scores', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'identity_check', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One check and its answer, as evidence: what was asked (digest), who answered, what.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IntentChallenge',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='intents', on_delete=OnDelete.CASCADE)),
                ('method', fields.CharField(max_length=16)),
                ('document_hash', fields.CharField(description='SHA-256 (hex) of the document the person was shown and confirms.', max_length=64)),
                ('purpose', fields.CharField(default='', max_length=200)),
                ('code_hash', fields.CharField(default='', max_length=64)),
                ('attempts', fields.IntField(default=0)),
                ('max_attempts', fields.IntField(default=5)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('locked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('client_ip', fields.CharField(default='', max_length=64)),
                ('evidence', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'intent_challenge', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Intent confirmation before a personal signature: SMS code, face or signing password.'},
            bases=['Model'],
        ),
    ]
