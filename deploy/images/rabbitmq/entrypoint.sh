#!/bin/sh
# The default user from RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS (reachable from other
# containers), then the broker in the foreground.
set -eu
mkdir -p /etc/rabbitmq
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
loopback_users = none
listeners.tcp.default = 5672
CONF
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
exec su rabbitmq -s /bin/sh -c 'exec /usr/lib/rabbitmq/bin/rabbitmq-server'
