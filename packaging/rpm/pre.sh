# netobs %pre: the service user and group, created once and kept on removal.
getent group netobs >/dev/null || groupadd -r netobs
getent passwd netobs >/dev/null ||
  useradd -r -g netobs -d /var/lib/netobs -s /sbin/nologin -c "netobs exporter" netobs
exit 0
