from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebchatMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.CharField(max_length=64)),
                ('seq', fields.IntField()),
                ('item', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('file_id', fields.CharField(null=True, max_length=32)),
                ('file_path', fields.CharField(default='', max_length=255)),
                ('mime_type', fields.CharField(default='', max_length=64)),
                ('filename', fields.CharField(default='', max_length=120)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webchat_message', 'app': 'models', 'unique_together': (('session', 'seq'),), 'pk_attr': 'id', 'table_description': 'A message the bot sent to a web chat session, kept until read (survives restarts).'},
            bases=['Model'],
        ),
    ]
