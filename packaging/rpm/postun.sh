# hakeeper %postun: no restart after an upgrade (%systemd_postun, not _with_restart: %post
# re-executed the new binary in place); after erase remove the directories the package does not
# own (left only if something is still in them). The hakeeper user stays, as Fedora's guidelines ask.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 0 ]; then
    rmdir /var/lib/hakeeper/empty /var/lib/hakeeper /etc/hakeeper \
        /usr/share/doc/hakeeper/examples /usr/share/doc/hakeeper 2>/dev/null || :
fi
exit 0
