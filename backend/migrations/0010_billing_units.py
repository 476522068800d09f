from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_envelopes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='QuotaHold',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('month', fields.CharField(max_length=7)),
                ('kind', fields.CharField(max_length=32)),
                ('quantity', fields.IntField(default=1)),
                ('ref', fields.CharField(null=True, unique=True, description='the usage event key it becomes, when known', max_length=128)),
                ('expires_at', fields.DatetimeField(null=True, description='null = until released', auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'quota_hold', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'month', 'kind'])], 'pk_attr': 'id', 'table_description': 'Units of a hard quota reserved for an action in progress (admitted, not metered yet).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UsageCounter',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('month', fields.CharField(max_length=7)),
                ('kind', fields.CharField(max_length=32)),
                ('used', fields.BigIntField(default=0)),
            ],
            options={'table': 'usage_counter', 'app': 'models', 'unique_together': (('tenant_id', 'month', 'kind'),), 'pk_attr': 'id', 'table_description': "The month's metered quantity per tenant and kind (the sum of its usage events), bumped by"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='IdentityCheck',
            name='business_line',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='IdentityCheck',
            name='unit_ref',
            field=fields.CharField(default='', description='Billing attribution (business unit and line of the flow that asked), may be empty.', max_length=64),
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='business_line',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='unit_ref',
            field=fields.CharField(default='', description='Billing attribution of the SMS (business unit and line of the flow that sent it).', max_length=64),
        ),
        ops.AlterModelOptions(
            name='Statement',
            options={'table': 'billing_statement', 'app': 'models', 'unique_together': (('tenant_id', 'month', 'unit_ref'),), 'pk_attr': 'id', 'table_description': 'A monthly statement of a tenant (unit_ref *) or of one of its units: a draft (recomputed'},
        ),
        ops.AddField(
            model_name='Statement',
            name='body',
            field=fields.JSONField(null=True, description='the frozen statement, as issued', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Statement',
            name='closed_at',
            field=fields.DatetimeField(null=True, description='set when the month was closed', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Statement',
            name='csv_sha256',
            field=fields.CharField(default='', description='SHA-256 of its CSV', max_length=64),
        ),
        # the counters start from the usage metered before this migration
        ops.RunSQL(
            "INSERT INTO usage_counter (tenant_id, month, kind, used) "
            "SELECT tenant_id, month, kind, SUM(quantity) FROM usage_event "
            "GROUP BY tenant_id, month, kind",
            reverse_sql=ops.RunSQL.noop,
        ),
    ]
