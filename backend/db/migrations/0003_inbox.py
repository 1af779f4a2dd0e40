from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.db.fields import UtcDatetimeField
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_security')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('result', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'idempotency_record', 'app': 'models', 'pk_attr': 'key', 'table_description': 'The first result of a use case run for one chat event: a retried turn reuses it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboundUpdate',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.CharField(max_length=16)),
                ('event_id', fields.CharField(max_length=128)),
                ('user_id', fields.CharField(max_length=128)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('received_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('handled_at', UtcDatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbound_update', 'app': 'models', 'unique_together': (('channel', 'event_id'),), 'pk_attr': 'id', 'table_description': 'An update a channel received (the inbox), stored before the channel is answered.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Dossier',
            name='submission_key',
            field=fields.CharField(null=True, unique=True, max_length=160),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='channel',
            field=fields.CharField(default='', max_length=16),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='chat_user',
            field=fields.CharField(default='', max_length=128),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='dedupe_key',
            field=fields.CharField(null=True, unique=True, max_length=200),
        ),
    ]
