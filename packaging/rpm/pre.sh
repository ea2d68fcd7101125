# hakeeper %pre: the system user the worker and checker run as (kept on erase, as Fedora does).
getent group hakeeper >/dev/null || groupadd -r hakeeper
getent passwd hakeeper >/dev/null || \
    useradd -r -g hakeeper -d /var/lib/hakeeper -M -s /sbin/nologin -c "hakeeper load balancer" hakeeper
exit 0
