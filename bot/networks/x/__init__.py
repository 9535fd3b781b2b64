"""X: its counting (twitter-text), its API client (tweepy and the v2 media upload), its rules."""
