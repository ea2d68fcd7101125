# hakeeper %postun: restart after an upgrade (%systemd_postun_with_restart); after erase remove the
# directories the package does not own (left only if something is still in them). The hakeeper
# user stays, as Fedora's guidelines ask.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart hakeeper.service >/dev/null 2>&1 || :
    fi
fi
if [ "$1" -eq 0 ]; then
    rmdir /var/lib/hakeeper/empty /var/lib/hakeeper /etc/hakeeper \
        /usr/share/doc/hakeeper/examples /usr/share/doc/hakeeper 2>/dev/null || :
fi
exit 0
