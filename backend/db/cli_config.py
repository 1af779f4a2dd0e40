"""Configuration for Tortoise's own CLI (``motcua makemigrations``)."""

import os

from backend.db import tortoise_config

TORTOISE_ORM = tortoise_config(os.environ.get("MOTCUA_MIGRATION_DB", "sqlite://var/motcua.sqlite3"))
