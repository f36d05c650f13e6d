# shellcheck shell=bash
#
# Throwaway test services for Rampart: two PostgreSQL 15 clusters and a Redis.
#
# Used by `.ci/run` (CI), and by hand for local testing:
#
#     source .ci/services.sh && rampart_services_start
#     cargo test                  # or `bash .ci/test`
#     rampart_services_stop
#
# rampart_services_start exports
#
#     RAMPART_PG_URL      postgres://rampart@127.0.0.1:PORT/rampart   (cluster 1)
#     RAMPART_PG_URL_2    postgres://rampart@127.0.0.1:PORT/rampart   (cluster 2)
#     RAMPART_REDIS_URL   redis://127.0.0.1:PORT/
#
# Each cluster: `rampart` is a superuser and owns database `rampart`; trust
# authentication on loopback only (also for replication); wal_level = logical;
# durability off (fsync, synchronous_commit, full_page_writes) for speed;
# UTF8 with the C.UTF-8 locale, timezone UTC. Everything lives in one
# `mktemp -d` directory that rampart_services_stop deletes: under /dev/shm when
# that has room (much faster initdb), else $TMPDIR or /tmp; set
# RAMPART_SERVICES_TMPDIR to choose. Ports are the first free ones from 54329
# (PostgreSQL) and 63790 (Redis) upwards.
#
# Missing binaries (PostgreSQL, redis-server, redis-cli) are installed with
# apt-get when running as root; otherwise you are told what to install. As
# root, PostgreSQL (which refuses to run as root) runs as the `postgres` user,
# or as a `rampart-ci` system user created for the purpose; as anyone else it
# runs as you. Set RAMPART_PG_BINDIR to use a particular PostgreSQL build.
#
# This file only defines functions: sourcing it changes no shell options and
# starts nothing. The functions never `exit`, so they are safe in an
# interactive shell.

_RAMPART_PG_FIRST_PORT=54329
_RAMPART_REDIS_FIRST_PORT=63790

_rampart_say() { printf '%s\n' "$*"; }
_rampart_err() { printf 'error: %s\n' "$*" >&2; }

# Seconds since the epoch with fractions, for timing.
_rampart_now() { date +%s.%N; }
# Seconds elapsed since $1 (a _rampart_now), one decimal.
_rampart_since() { awk -v a="$1" -v b="$(_rampart_now)" 'BEGIN { printf "%.1f", b - a }'; }

# True when something accepts TCP connections on 127.0.0.1:$1.
_rampart_port_in_use() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Prints the first port >= $1 that nothing listens on.
_rampart_free_port() {
    local port=$1
    while _rampart_port_in_use "$port"; do
        port=$((port + 1))
        if ((port > 65535)); then
            _rampart_err "no free TCP port found"
            return 1
        fi
    done
    printf '%s\n' "$port"
}

# Prints the directory holding initdb/pg_ctl/postgres, preferring version 15.
_rampart_pg_bindir() {
    local d
    if [[ -n ${RAMPART_PG_BINDIR:-} ]]; then
        if [[ ! -x $RAMPART_PG_BINDIR/initdb ]]; then
            _rampart_err "RAMPART_PG_BINDIR=$RAMPART_PG_BINDIR has no initdb"
            return 1
        fi
        printf '%s\n' "$RAMPART_PG_BINDIR"
        return 0
    fi
    if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
        printf '%s\n' /usr/lib/postgresql/15/bin
        return 0
    fi
    # Any other Debian-packaged version, the newest.
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -t/ -k5,5rn | head -n 1)
    if [[ -x $d ]]; then
        printf '%s\n' "${d%/initdb}"
        return 0
    fi
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null) || d=
        if [[ -n $d && -x $d/initdb ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    fi
    if command -v initdb >/dev/null 2>&1; then
        d=$(command -v initdb)
        printf '%s\n' "${d%/*}"
        return 0
    fi
    return 1
}

# Installs whatever is missing (as root, with apt-get), quietly; the apt
# output is shown only when it fails.
rampart_services_install() {
    local -a pkgs=()
    if [[ -z ${RAMPART_PG_BINDIR:-} ]] && ! _rampart_pg_bindir >/dev/null; then
        pkgs+=(postgresql)
    fi
    command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
    command -v redis-cli >/dev/null 2>&1 || pkgs+=(redis-tools)
    ((${#pkgs[@]} == 0)) && return 0

    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        _rampart_err "missing: ${pkgs[*]} — install them (e.g. apt-get install ${pkgs[*]}), or set RAMPART_PG_BINDIR"
        return 1
    fi

    local log rc=0 made_policy=
    log=$(mktemp -t rampart-apt.XXXXXX.log) || return 1
    _rampart_say "installing ${pkgs[*]} with apt-get …"
    local t0
    t0=$(_rampart_now)
    # Keep the packages' own services (the `main` cluster on 5432, redis on
    # 6379) from being started by the install: we run our own.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1
    fi
    {
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq -o DPkg::Lock::Timeout=300 &&
            apt-get install -y -qq --no-install-recommends \
                -o DPkg::Lock::Timeout=300 "${pkgs[@]}"
    } >"$log" 2>&1 || rc=$?
    [[ -n $made_policy ]] && rm -f /usr/sbin/policy-rc.d
    if ((rc != 0)); then
        _rampart_err "apt-get failed (exit $rc); its output:"
        cat "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
    _rampart_say "installed in $(_rampart_since "$t0")s"
    _rampart_pg_bindir >/dev/null || {
        _rampart_err "PostgreSQL still not found after installing"
        return 1
    }
}

# Where the temporary directory goes: $RAMPART_SERVICES_TMPDIR if set, else
# /dev/shm when it is a tmpfs with at least 1 GiB free (initdb there takes a
# second rather than several on a slow disk; mind Docker's 64 MiB default),
# else $TMPDIR or /tmp.
_rampart_tmp_parent() {
    local avail
    if [[ -n ${RAMPART_SERVICES_TMPDIR:-} ]]; then
        printf '%s\n' "$RAMPART_SERVICES_TMPDIR"
        return 0
    fi
    if [[ -d /dev/shm && -w /dev/shm ]]; then
        avail=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
        if [[ -n $avail ]] && ((avail >= 1048576)); then
            printf '%s\n' /dev/shm
            return 0
        fi
    fi
    printf '%s\n' "${TMPDIR:-/tmp}"
}

# Runs a command as the PostgreSQL OS user (root cannot run PostgreSQL), from
# a directory that user can read.
_rampart_as_pg() {
    if [[ -n ${_RAMPART_PG_OSUSER:-} ]]; then
        (cd "$_RAMPART_SVC_DIR" && runuser -u "$_RAMPART_PG_OSUSER" -- "$@")
    else
        "$@"
    fi
}

# Chooses the OS user that runs PostgreSQL: empty when not root.
_rampart_pick_pg_osuser() {
    _RAMPART_PG_OSUSER=
    [[ $(id -u) -ne 0 ]] && return 0
    if id -u postgres >/dev/null 2>&1; then
        _RAMPART_PG_OSUSER=postgres
    else
        if ! id -u rampart-ci >/dev/null 2>&1; then
            useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin rampart-ci || {
                _rampart_err "could not create user rampart-ci"
                return 1
            }
        fi
        _RAMPART_PG_OSUSER=rampart-ci
    fi
}

# _rampart_pg_init NAME: initdb a cluster in $_RAMPART_SVC_DIR/NAME/data and
# write its access rules (the settings come with the port, at start).
_rampart_pg_init() {
    local name=$1
    local dir=$_RAMPART_SVC_DIR/$name
    local bin=$_RAMPART_PG_BINDIR

    mkdir -p "$dir" || return 1
    chmod 700 "$dir" || return 1
    if [[ -n $_RAMPART_PG_OSUSER ]]; then
        chown "$_RAMPART_PG_OSUSER": "$dir" || return 1
    fi

    if ! _rampart_as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust \
        -E UTF8 --locale=C.UTF-8 -N >"$dir/initdb.log" 2>&1; then
        _rampart_err "initdb failed for $name; its output:"
        cat "$dir/initdb.log" >&2
        return 1
    fi

    # Loopback only, trust, replication included (logical replication
    # subscriptions connect through the ordinary database lines).
    cat >"$dir/data/pg_hba.conf" <<EOF
local   all          all                  trust
local   replication  all                  trust
host    all          all   127.0.0.1/32   trust
host    replication  all   127.0.0.1/32   trust
EOF
    printf "\ninclude = 'rampart.conf'\n" >>"$dir/data/postgresql.conf"
}

# _rampart_pg_start NAME VAR: start the cluster made by _rampart_pg_init NAME
# on a free port, create role and database `rampart`, export VAR=postgres://…
_rampart_pg_start() {
    local name=$1 var=$2
    local dir=$_RAMPART_SVC_DIR/$name
    local bin=$_RAMPART_PG_BINDIR
    local port attempt

    port=$_RAMPART_PG_FIRST_PORT
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        port=$(_rampart_free_port "$port") || return 1
        cat >"$dir/data/rampart.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
wal_level = logical
max_wal_senders = 20
max_replication_slots = 20
# Subscription workers start at most this often (default 5s): tenant
# migration tests create and drop many subscriptions.
wal_retrieve_retry_interval = 200ms
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
EOF
        [[ -n $_RAMPART_PG_OSUSER ]] && chown "$_RAMPART_PG_OSUSER": "$dir/data/rampart.conf"
        _rampart_say "starting PostgreSQL ($name) on 127.0.0.1:$port …"
        # Start each attempt with an empty log (keeping the file's owner).
        if [[ -f $dir/server.log ]]; then : >"$dir/server.log"; fi
        if _rampart_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
            -w -t 60 start >"$dir/pg_ctl.log" 2>&1; then
            break
        fi
        # Lost a race for the port: try the next one.
        if grep -q 'could not bind\|could not create any TCP/IP sockets' "$dir/server.log" 2>/dev/null &&
            ((attempt < 10)); then
            _rampart_say "port $port was taken, trying another"
            port=$((port + 1))
            continue
        fi
        _rampart_err "PostgreSQL ($name) did not start; its log:"
        cat "$dir/pg_ctl.log" "$dir/server.log" 2>/dev/null >&2 || true
        return 1
    done

    if ! "$bin/psql" -X -q -v ON_ERROR_STOP=1 \
        "postgres://postgres@127.0.0.1:$port/postgres" >"$dir/setup.log" 2>&1 <<'EOF'; then
CREATE ROLE rampart SUPERUSER LOGIN;
CREATE DATABASE rampart OWNER rampart;
EOF
        _rampart_err "could not create role/database rampart in $name:"
        cat "$dir/setup.log" >&2
        return 1
    fi

    local version
    version=$("$bin/psql" -X -qAt "postgres://rampart@127.0.0.1:$port/rampart" \
        -c 'show server_version_num' 2>/dev/null) || version=
    if [[ ${version:0:2} != 15 ]]; then
        _rampart_say "warning: PostgreSQL ($name) is version ${version:-unknown}, not 15"
    fi

    printf -v "$var" 'postgres://rampart@127.0.0.1:%s/rampart' "$port"
    export "${var?}"
}

# True while process $1 exists and is not a zombie (a daemon's exit status
# is collected by init, which in some containers takes a second or two).
_rampart_alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    [[ -r /proc/$1/stat ]] || return 0
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) } # the state follows the command name in parentheses
    [[ ${stat:0:1} != Z ]]
}

# Answers PING on 127.0.0.1:$1 with +PONG (no redis-cli needed).
_rampart_redis_ping() {
    # shellcheck disable=SC2016
    timeout 2 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "PING\r\n" >&3
        IFS= read -r reply <&3
        [[ $reply == +PONG* ]]' _ "$1" 2>/dev/null
}

_rampart_redis_start() {
    local dir=$_RAMPART_SVC_DIR/redis
    local port attempt pid
    mkdir -p "$dir" || return 1

    port=$_RAMPART_REDIS_FIRST_PORT
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        port=$(_rampart_free_port "$port") || return 1
        _rampart_say "starting Redis on 127.0.0.1:$port …"
        : >"$dir/redis.log"
        rm -f "$dir/redis.pid"
        # Errors before it daemonises go to stdout, later ones to the log.
        # shellcheck disable=SC2094
        if ! redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
            --daemonize yes --pidfile "$dir/redis.pid" --dir "$dir" \
            --logfile "$dir/redis.log" </dev/null >>"$dir/redis.log" 2>&1; then
            _rampart_err "redis-server failed; its log:"
            cat "$dir/redis.log" >&2
            return 1
        fi
        for _ in {1..100}; do
            if _rampart_redis_ping "$port"; then
                export RAMPART_REDIS_URL="redis://127.0.0.1:$port/"
                return 0
            fi
            if grep -q 'Address already in use\|Could not create server TCP' "$dir/redis.log"; then
                break
            fi
            sleep 0.1
        done
        # Whatever was started for this attempt must not linger.
        pid=$(cat "$dir/redis.pid" 2>/dev/null) && { kill -KILL "$pid" 2>/dev/null || true; }
        if grep -q 'Address already in use\|Could not create server TCP' "$dir/redis.log" &&
            ((attempt < 10)); then
            _rampart_say "port $port was taken, trying another"
            port=$((port + 1))
            continue
        fi
        _rampart_err "Redis did not come up; its log:"
        cat "$dir/redis.log" >&2
        return 1
    done
}

# Starts everything and exports the RAMPART_* URLs. On failure, stops what was
# started and returns non-zero.
rampart_services_start() {
    if [[ -n ${_RAMPART_SVC_DIR:-} && -d ${_RAMPART_SVC_DIR:-} ]]; then
        _rampart_say "services already running (in $_RAMPART_SVC_DIR); rampart_services_stop first"
        return 0
    fi
    local t0
    t0=$(_rampart_now)

    rampart_services_install || return 1
    _RAMPART_PG_BINDIR=$(_rampart_pg_bindir) || {
        _rampart_err "PostgreSQL not found"
        return 1
    }
    _rampart_pick_pg_osuser || return 1

    _RAMPART_SVC_DIR=$(mktemp -d -p "$(_rampart_tmp_parent)" rampart-services.XXXXXX) || return 1
    # The PostgreSQL user must be able to reach its subdirectory.
    chmod 711 "$_RAMPART_SVC_DIR"

    # initdb is the slow part: do both clusters at once (in a subshell, so
    # that an interactive shell prints no job notices).
    _rampart_say "initialising two PostgreSQL clusters in $_RAMPART_SVC_DIR …"
    if ! (
        _rampart_pg_init pg1 &
        init1=$!
        ok=1
        _rampart_pg_init pg2 || ok=
        wait "$init1" || ok=
        [[ -n $ok ]]
    ) || ! { _rampart_pg_start pg1 RAMPART_PG_URL &&
        _rampart_pg_start pg2 RAMPART_PG_URL_2 &&
        _rampart_redis_start; }; then
        rampart_services_stop
        return 1
    fi

    _rampart_say "services up in $(_rampart_since "$t0")s:"
    _rampart_say "  RAMPART_PG_URL=$RAMPART_PG_URL"
    _rampart_say "  RAMPART_PG_URL_2=$RAMPART_PG_URL_2"
    _rampart_say "  RAMPART_REDIS_URL=$RAMPART_REDIS_URL"
}

# Stops both clusters and Redis and removes the temporary directory. Safe to
# call more than once, and after a partial start.
rampart_services_stop() {
    local dir=${_RAMPART_SVC_DIR:-}
    local name pid
    if [[ -z $dir || ! -d $dir ]]; then
        unset _RAMPART_SVC_DIR
        return 0
    fi
    _rampart_say "stopping services …"

    for name in pg1 pg2; do
        [[ -f $dir/$name/data/postmaster.pid ]] || continue
        _rampart_as_pg "$_RAMPART_PG_BINDIR/pg_ctl" -D "$dir/$name/data" \
            -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        # Should pg_ctl not have managed, do it by hand.
        if [[ -f $dir/$name/data/postmaster.pid ]]; then
            pid=$(head -n 1 "$dir/$name/data/postmaster.pid" 2>/dev/null) || pid=
            if [[ -n $pid ]]; then
                kill -QUIT "$pid" 2>/dev/null || true
                for _ in {1..50}; do
                    _rampart_alive "$pid" || break
                    sleep 0.1
                done
                if _rampart_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
            fi
        fi
    done

    if [[ -f $dir/redis/redis.pid ]]; then
        pid=$(cat "$dir/redis/redis.pid" 2>/dev/null) || pid=
        if [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; then
            for _ in {1..50}; do
                _rampart_alive "$pid" || break
                sleep 0.1
            done
            if _rampart_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
        fi
    fi

    rm -rf "$dir"
    unset _RAMPART_SVC_DIR RAMPART_PG_URL RAMPART_PG_URL_2 RAMPART_REDIS_URL
    return 0
}
