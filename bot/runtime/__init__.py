"""The Discord-facing runtime: the bot client, its checks and everything that calls Discord.

Core modules (`bot.core`) stay pure and never import this package; storage (`bot.storage`) holds the SQL.
"""
