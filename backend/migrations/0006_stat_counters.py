from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_callback_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StatCounter',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant_id', fields.UUIDField()),
                ('grain', fields.CharField(description='all | unit | seal | template | unit_template', max_length=16)),
                ('span', fields.CharField(default='d', description='d = the day, m = the month starting on day', max_length=1)),
                ('day', fields.DateField(description='Beijing-time day (or first day of the month)')),
                ('metric', fields.CharField(description='the audited action, e.g. seal.use', max_length=100)),
                ('result', fields.CharField(default='ok', max_length=32)),
                ('variant', fields.CharField(default='', description='sub-kind of the metric, e.g. a message channel', max_length=32)),
                ('unit_ref', fields.CharField(default='*', description='unit id or business id, * = all, empty = unknown', max_length=64)),
                ('seal_ref', fields.CharField(default='*', description='seal id, * = all', max_length=64)),
                ('template_ref', fields.CharField(default='*', description='template code, * = all', max_length=64)),
                ('count', fields.BigIntField(default=0)),
                ('duration_count', fields.BigIntField(default=0, description='entries that carried a duration')),
                ('duration_sum', fields.FloatField(default=0, description='sum of their durations in seconds')),
            ],
            options={'table': 'stat_counter', 'app': 'models', 'unique_together': (('tenant_id', 'grain', 'span', 'day', 'metric', 'result', 'variant', 'unit_ref', 'seal_ref', 'template_ref'),), 'pk_attr': 'id', 'table_description': 'Count and duration sum of audited actions per Beijing day and dimension roll-up.'},
            bases=['Model'],
        ),
    ]
