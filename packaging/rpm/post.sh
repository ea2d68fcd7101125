# hakeeper %post: the worker's empty chroot, then systemd as %systemd_post does (presets decide
# whether the service is enabled).
install -d -o root -g root -m 0755 /var/lib/hakeeper /var/lib/hakeeper/empty
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        systemctl --no-reload preset hakeeper.service >/dev/null 2>&1 || :
    fi
    # Let rsyslog pick up /etc/rsyslog.d/49-hakeeper.conf.
    systemctl try-restart rsyslog.service >/dev/null 2>&1 || :
fi
exit 0
