"""The networks the bot publishes to, one folder each (issue 11): everything a network's rules,
library and credentials are lives in its folder, behind one small interface the core calls."""
