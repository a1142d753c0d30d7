# netobs %post: the event output directory (systemd's StateDirectory= makes it
# too), then what %systemd_post does (apply the preset on first install).
if [ ! -d /var/lib/netobs ]; then
  install -d -o netobs -g netobs -m 0750 /var/lib/netobs
fi
if [ "$1" -eq 1 ] && [ -x /usr/bin/systemctl ]; then
  systemctl --no-reload preset netobs.service >/dev/null 2>&1 || :
fi
