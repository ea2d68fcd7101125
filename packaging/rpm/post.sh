# hakeeper %post: the worker's empty chroot, then systemd as the systemd_post macro does (presets decide
# whether the service is enabled).
install -d -o root -g root -m 0755 /var/lib/hakeeper /var/lib/hakeeper/empty
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        systemctl --no-reload preset hakeeper.service >/dev/null 2>&1 || :
    fi
    # Let rsyslog pick up /etc/rsyslog.d/49-hakeeper.conf.
    systemctl try-restart rsyslog.service >/dev/null 2>&1 || :
    # An upgrade re-executes the new binary in place (`hakeeper ctl upgrade`): PID, listeners,
    # connections and VIPs are kept. If the new binary refuses the config the previous version
    # keeps serving; a running version that predates binary upgrades is restarted.
    if [ "$1" -ge 2 ] && systemctl is-active --quiet hakeeper.service; then
        CONFIG=/etc/hakeeper/hakeeper.ron
        [ -r /etc/sysconfig/hakeeper ] && . /etc/sysconfig/hakeeper
        if out=$(/usr/sbin/hakeeper ctl -c "$CONFIG" upgrade 2>&1); then
            echo "$out"
        else
            echo "$out" >&2
            case "$out" in
            *"upgrade refused"* | *"upgrade abandoned"*)
                echo "hakeeper: the previous version keeps serving; run 'systemctl restart hakeeper' once the cause is fixed" >&2 ;;
            *) systemctl try-restart hakeeper.service >/dev/null 2>&1 || : ;;
            esac
        fi
    fi
fi
exit 0
