from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.db.fields import UtcDatetimeField
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuthThrottle',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('failures', fields.IntField(default=0)),
                ('blocked_until', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'auth_throttle', 'app': 'models', 'pk_attr': 'key', 'table_description': 'Failed attempts against one key (an account, a source, a device), with the backoff they earned.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ConsoleSession',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sid_hash', fields.CharField(unique=True, max_length=64)),
                ('officer', fields.ForeignKeyField('models.Officer', source_field='officer_id', db_constraint=True, to_field='id', related_name='console_sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', UtcDatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'console_session', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A logged-in console session, kept on the server: logout or a password change ends it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OneTimeToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('purpose', fields.CharField(max_length=32)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('officer', fields.ForeignKeyField('models.Officer', source_field='officer_id', null=True, db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('subject', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'one_time_token', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A single-use token (a chat link, later payment references and one-time links).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateBucket',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('tokens', fields.FloatField()),
                ('at', fields.FloatField()),
                ('allowed', fields.BooleanField(default=True)),
            ],
            options={'table': 'rate_bucket', 'app': 'models', 'pk_attr': 'key', 'table_description': 'A token bucket shared by every worker: ``tokens`` left at ``at`` (epoch seconds).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebchatSession',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('previous_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('rotated_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('user_key', fields.CharField(unique=True, max_length=64)),
                ('kiosk', fields.BooleanField(default=False)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', UtcDatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ended_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webchat_session', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A web chat session, issued by the server only (never an id the client chose).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Attachment',
            name='purged_at',
            field=UtcDatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Officer',
            name='demo',
            field=fields.BooleanField(default=False),
        ),
        ops.AlterModelOptions(
            name='OfficerChannelLink',
            options={'table': 'officer_channel_link', 'app': 'models', 'unique_together': (('channel', 'external_id'),), 'pk_attr': 'id', 'table_description': 'The chat account of an officer, linked with a one-time token from the console.'},
        ),
        ops.AddField(
            model_name='OfficerChannelLink',
            name='confirmed_at',
            field=UtcDatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OfficerChannelLink',
            name='label',
            field=fields.CharField(default='', max_length=120),
        ),
        ops.DeleteModel(name='LinkCode'),
    ]
