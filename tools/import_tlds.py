"""Regenerate bot/data/tlds.txt from twitter-text's conformance/tld_lib.yml.

Usage: python tools/import_tlds.py PATH/TO/tld_lib.yml > bot/data/tlds.txt

The order of each list is kept: X's URL pattern tries the TLDs in this order, and for the few
TLDs that are prefixes of others (भारत, भारतम्) the order decides which one matches.
"""

import sys
from pathlib import Path

import yaml

HEADER = """\
# Top-level domains recognised by X's URL extraction (twitter-text 3.1.0).
# Source: https://github.com/twitter/twitter-text conformance/tld_lib.yml,
#   commit 30e2430d90cff3b46393ea54caf511441983c260 (data last changed in 65e7e00, 2020-03-31).
# Licence: Apache License 2.0, Copyright 2011 Twitter, Inc.; full text in LICENSE-twitter-text.
# Regenerate with tools/import_tlds.py; the order of each list matters (see that script).
"""


def main(path: str) -> None:
    with Path(path).open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    out = [HEADER]
    for section in ("country", "generic"):
        out.append(f"[{section}]\n")
        out.extend(f"{tld}\n" for tld in data[section])
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
