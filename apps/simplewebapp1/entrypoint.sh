#!/bin/sh
# Answer at / and at the route prefix /<app>/ with one line naming the app and the node (and the
# version when one was built in). The app name comes from matrix (MATRIX_APP), so one build can
# serve under several names.
set -e
app="${MATRIX_APP:-simplewebapp1}"
line="$app served by ${MATRIX_NODE:-unknown}"
[ -n "$MATRIX_VERSION" ] && line="$line ($MATRIX_VERSION)"
mkdir -p "/www/$app"
echo "$line" | tee /www/index.html > "/www/$app/index.html"
# /<app>/slow: a response that trickles for about 3 s (longer than several probe intervals).
head -c 12288 /dev/zero > "/www/$app/slow"
if [ "$MATRIX_HEALTHY" = no ]; then
    body='return 503 "broken build\n";'
else
    # POST answers like GET (the router's handling of non-idempotent requests is measured with it).
    body="if (\$request_method = POST) { return 200 \"$line (post)\\n\"; } try_files \$uri \$uri/index.html =404;"
fi
cat > /etc/nginx/matrix-site.conf <<CONF
server {
    listen 8080;
    root /www;
    location / { $body }
    location = /$app/slow { limit_rate 4k; }
}
CONF
# One line to the container's log (no access log: the router probes every second).
echo "$line: listening on :8080" >&2
exec nginx -g 'daemon off;'
