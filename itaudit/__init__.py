"""itaudit: level-1 security compliance and IT-asset auditing."""

__version__ = "0.1.0"
