from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_templates_files')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CallbackEvent',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('type', fields.CharField(db_index=True, max_length=64)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'callback_event', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A state change the business system hears about, with a stable id for de-duplication.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CallbackDelivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('models.CallbackEvent', source_field='event_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.ForeignKeyField('models.CallbackEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'callback_delivery', 'app': 'models', 'unique_together': (('event', 'endpoint'),), 'pk_attr': 'id', 'table_description': 'One event to one endpoint: at-least-once, retried with backoff, every attempt logged.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CallbackAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('delivery', fields.ForeignKeyField('models.CallbackDelivery', source_field='delivery_id', db_constraint=True, to_field='id', related_name='attempt_log', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('status_code', fields.IntField(null=True)),
                ('error', fields.CharField(default='', max_length=300)),
                ('duration_ms', fields.IntField(default=0)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'callback_attempt', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
