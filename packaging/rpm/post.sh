# netobs %post: what %systemd_post does (apply the preset on first install).
if [ "$1" -eq 1 ] && [ -x /usr/bin/systemctl ]; then
  systemctl --no-reload preset netobs.service >/dev/null 2>&1 || :
fi
