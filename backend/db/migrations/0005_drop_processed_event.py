from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('models', '0004_webchat_delivery')]

    initial = False

    operations = [
        ops.DeleteModel(name='ProcessedEvent'),
    ]
