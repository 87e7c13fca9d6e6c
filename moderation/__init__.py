"""Questions, screen, polls, chat moderation."""
