"""Cache a MySQL application's hot read queries in Readyset, through ProxySQL."""

__version__ = "0.7.0"
