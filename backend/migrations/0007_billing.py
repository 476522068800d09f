from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_stat_counters')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PricePlan',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField(unique=True)),
                ('name', fields.CharField(max_length=100)),
                ('currency', fields.CharField(default='CNY', max_length=3)),
                ('items', fields.JSONField(default=dict, description='kind -> pricing, amounts in fen', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('provider_costs', fields.JSONField(default=dict, description='provider -> kind -> cost in fen (clearing)', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'price_plan', 'app': 'models', 'pk_attr': 'id', 'table_description': "A tenant's price plan: per kind a unit price, tiers or a monthly package, and a quota."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Statement',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('month', fields.CharField(max_length=7)),
                ('unit_ref', fields.CharField(default='*', description='* = the whole tenant, empty = no unit given', max_length=64)),
                ('lines', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('total', fields.BigIntField(default=0, description='fen, the exact sum of the lines')),
                ('generated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sha256', fields.CharField(description='SHA-256 of the canonical statement JSON', max_length=64)),
            ],
            options={'table': 'billing_statement', 'app': 'models', 'unique_together': (('tenant_id', 'month', 'unit_ref'),), 'pk_attr': 'id', 'table_description': 'A generated monthly statement of a tenant (unit_ref *) or of one of its units.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UsageEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField(db_index=True)),
                ('kind', fields.CharField(description='e.g. signature.sm2, sms.sent, timestamp', max_length=32)),
                ('key', fields.CharField(unique=True, description='idempotency key, e.g. sms:<message id>', max_length=128)),
                ('unit_ref', fields.CharField(default='', description='business unit, may be empty', max_length=64)),
                ('business_line', fields.CharField(default='', description='business line (e.g. the flow), may be empty', max_length=64)),
                ('provider', fields.CharField(default='', description='outside provider to clear with, empty = platform', max_length=32)),
                ('quantity', fields.IntField(default=1)),
                ('month', fields.CharField(description='YYYY-MM in Beijing time', max_length=7)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'usage_event', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'month', 'kind'])], 'pk_attr': 'id', 'table_description': 'One billable event of a tenant, metered exactly once (unique key).'},
            bases=['Model'],
        ),
    ]
