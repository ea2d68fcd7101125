# hakeeper %preun: on erase (not upgrade) stop and disable the service (as the systemd_preun macro).
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now hakeeper.service >/dev/null 2>&1 || :
fi
exit 0
