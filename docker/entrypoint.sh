#!/bin/sh
# Serve every scenario file mounted at /scenarios (*.yaml, *.yml, merged in name order), or the default
# scenario when none is. Extra arguments (`docker run IMAGE --clock manual`) are passed on to `serve`.
set -eu
for file in /scenarios/*.yaml /scenarios/*.yml; do
    if [ -f "$file" ]; then
        set -- "$@" --scenario "$file"
    fi
done
# 0.0.0.0 only inside the container: the port is reachable from outside only as `docker run -p` publishes it.
exec graph-presence-emulator serve --host 0.0.0.0 --port "${PORT:-8000}" "$@"
