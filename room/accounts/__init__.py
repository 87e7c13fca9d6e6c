"""Accounts: their plans and limits, API keys, dashboard users and their logins."""
