"""corpuscope: training-data transparency — search, statistics and data-subject requests."""

__version__ = "0.1.0"

import os as _os

# tldextract (used by Presidio's e-mail recognizer) fetches the public suffix list on first
# use; an empty URL list makes every extractor use the snapshot bundled in the package.
_os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
