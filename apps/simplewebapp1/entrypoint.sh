#!/bin/sh
# Answer at / and at the route prefix /<app>/ with one line naming the app and the node.
# The app name comes from matrix (MATRIX_APP), so one build can serve under several names.
set -e
app="${MATRIX_APP:-simplewebapp1}"
mkdir -p "/www/$app"
echo "$app served by ${MATRIX_NODE:-unknown}" | tee /www/index.html > "/www/$app/index.html"
exec busybox httpd -f -v -p 8080 -h /www
