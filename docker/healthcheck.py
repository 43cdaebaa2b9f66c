"""Container health: the emulator answers GET /_emulator/health, over http or (after `serve --tls`) https."""

import os
import ssl
import sys
import urllib.request

port = os.environ.get("PORT", "8000")
# The check runs inside the container against its own loopback, so the certificate need not be verified.
insecure = ssl._create_unverified_context()
for url, context in ((f"http://127.0.0.1:{port}", None), (f"https://127.0.0.1:{port}", insecure)):
    try:
        with urllib.request.urlopen(f"{url}/_emulator/health", timeout=2, context=context) as response:
            sys.exit(0 if response.status == 200 else 1)
    except OSError:
        continue
sys.exit(1)
