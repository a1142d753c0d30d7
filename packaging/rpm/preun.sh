# netobs %preun: what %systemd_preun does (stop and disable on removal).
if [ "$1" -eq 0 ] && [ -x /usr/bin/systemctl ]; then
  systemctl --no-reload disable --now netobs.service >/dev/null 2>&1 || :
fi
