#!/bin/sh
# Answer at / and at the route prefix /simplewebapp2/ with one line naming the node.
set -e
mkdir -p /www/simplewebapp2
echo "simplewebapp2 served by ${MATRIX_NODE:-unknown}" | tee /www/index.html > /www/simplewebapp2/index.html
exec busybox httpd -f -v -p 8080 -h /www
