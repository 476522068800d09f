from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_billing')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='StatCounter',
            index=Index(fields=['tenant_id', 'grain', 'unit_ref', 'span', 'day']),
        ),
    ]
