"""interlink-bot: publishes an organisation's approved posts to X on a schedule, exactly once."""

__version__ = "0.3.0"
