# hakeeper %postun: no restart after an upgrade (the systemd_postun macro, not its _with_restart
# form: %post re-executed the new binary in place). After erase rpm removes the directories the
# package owns (kept only if something is still in them). The hakeeper user stays, as Fedora's
# guidelines ask.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
