# netobs %postun: what %systemd_postun_with_restart does (restart on upgrade).
if [ -x /usr/bin/systemctl ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
  if [ "$1" -ge 1 ]; then
    systemctl try-restart netobs.service >/dev/null 2>&1 || :
  fi
fi
