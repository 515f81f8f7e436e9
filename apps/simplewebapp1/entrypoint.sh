#!/bin/sh
# Answer at / and at the route prefix /simplewebapp1/ with one line naming the node.
set -e
mkdir -p /www/simplewebapp1
echo "simplewebapp1 served by ${MATRIX_NODE:-unknown}" | tee /www/index.html > /www/simplewebapp1/index.html
exec busybox httpd -f -v -p 8080 -h /www
