# shellcheck shell=bash
# Throwaway PostgreSQL 15 + RabbitMQ 3.10 servers on loopback, for tests.
#
#   source scripts/stack.sh
#   stack_install            # apt-get only what is missing (needs root or sudo)
#   stack_up                 # start both; exports the variables below
#   trap stack_down EXIT     # stop both, remove STACK_DIR (safe to call twice)
#
# STACK_RABBIT_NODES=3 stack_up starts a RabbitMQ cluster of that many nodes on
# loopback (distinct node names, AMQP and distribution ports, one cookie) instead
# of one node. Faults for scripts/chaos, from this shell or (scripts/stack-ctl)
# another: stack_pg_restart [immediate|fast], stack_rabbit_stop I,
# stack_rabbit_start I, stack_rabbit_restart_all; stack_load DIR takes over a
# stack another shell started.
#
# Exports after stack_up:
#   ERASURE_TEST_DATABASE_URL  postgres://postgres@127.0.0.1:PORT/postgres  (trust auth)
#   ERASURE_TEST_AMQP_URL      amqp://guest:guest@127.0.0.1:PORT/%2f  (node 0)
#   ERASURE_TEST_AMQP_URLS     every node's URL, space-separated
#   STACK_DIR STACK_PG_PORT STACK_AMQP_PORT STACK_RABBIT_NODE STACK_RABBIT_DIST_PORT
#   STACK_EPMD_PORT STACK_PG_PID STACK_RABBIT_PID (beam.smp) STACK_RABBIT_WRAPPER_PID
#   STACK_EPMD_PID STACK_RABBIT_NODES; node I > 0 of a cluster has the same
#   variables suffixed _I (STACK_AMQP_PORT_1, STACK_RABBIT_PID_1, ...)
# and `stack_rabbitmqctl ARGS...` runs rabbitmqctl against node 0,
# `stack_rabbitmqctl_node I ARGS...` against node I.
#   ERASURE_TEST_TLS_CA        $STACK_DIR/tls/ca.pem: the throwaway CA that signed both
#                              servers' certificate (for localhost and 127.0.0.1)
#   ERASURE_TEST_AMQPS_URL     amqps://guest:guest@localhost:PORT/%2f  (node 0's TLS listener)
#   STACK_AMQPS_PORT
# TLS: PostgreSQL runs with ssl = on (plain connections keep working; a client
# asking for TLS gets it; members of the role erasure_tls_only, which stack_up
# creates, are refused unless they use TLS), RabbitMQ node 0 keeps its plain listener and adds a TLS
# one on 127.0.0.1:STACK_AMQPS_PORT (no client certificates).
#
# Every stack has its own temp dir, ports, node name, Erlang cookie and its own
# epmd (on a private port), so several stacks can run side by side and
# stack_down leaves nothing behind; it only signals processes that carry this
# stack's marker in their environment. Logs: $STACK_DIR/pg/postgres.log,
# $STACK_DIR/rabbit/log/{rabbit,stdout}.log. stack_up also removes stacks whose
# shell died without stack_down (kill -9). Safe to source under `set -euo pipefail`.
# Tunables: STACK_PG_SYNCHRONOUS_COMMIT (default off, for speed: a PostgreSQL
# crash then loses the last commits; scripts/chaos, which crashes it, sets on, as
# in production; fsync stays off: the OS keeps what was written), STACK_PG_DURABLE=1
# (production durability, for scripts/bench: fsync, synchronous_commit and
# full_page_writes on), STACK_PG_STAT_STATEMENTS=1 (pg_stat_statements preloaded,
# track = all, the extension created in the database `postgres`), STACK_START_TIMEOUT
# (seconds, default 60), STACK_TMPDIR (where the
# stack dirs go; default /tmp when root, since the postgres and rabbitmq users
# must reach them, else $TMPDIR or /tmp), STACK_PG_BIN, STACK_RABBIT_BIN.

STACK_PG_BIN=${STACK_PG_BIN:-/usr/lib/postgresql/15/bin}
STACK_RABBIT_BIN=${STACK_RABBIT_BIN:-/usr/lib/rabbitmq/bin}

# --- helpers ----------------------------------------------------------------

_stack_log() { printf 'stack: %s\n' "$*" >&2; }

_stack_base() {
    if [[ -n ${STACK_TMPDIR:-} ]]; then echo "$STACK_TMPDIR"
    elif [[ $EUID -eq 0 ]]; then echo /tmp
    else echo "${TMPDIR:-/tmp}"
    fi
}

# _stack_cmd USER [VAR=value...] COMMAND ARGS...
# Sets the array _STACK_CMD to a command line that runs COMMAND as USER (when
# we are root; as ourselves otherwise) in a minimal environment: none of the
# caller's RABBITMQ_*, ERL_*, PG* variables leak in. Every process we launch
# carries the marker _ERASURE_STACK_OWNER=$STACK_DIR (children inherit it), which
# stack_down uses to find exactly what this stack started. Callers run it with
# "${_STACK_CMD[@]}" or, in a subshell, exec "${_STACK_CMD[@]}" (keeps the pid).
_stack_cmd() {
    local user=$1; shift
    _STACK_CMD=()
    if [[ $EUID -eq 0 ]]; then
        _STACK_CMD=(setpriv --reuid="$user" --regid="$user" --init-groups --)
    fi
    _STACK_CMD+=(env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
                 LANG=C.UTF-8 LC_ALL=C.UTF-8 _ERASURE_STACK_OWNER="$STACK_DIR" "$@")
}

# Node I of the RabbitMQ cluster (0 unless STACK_RABBIT_NODES > 1) keeps its
# settings in STACK_<NAME> for node 0 and STACK_<NAME>_I for the others.
# _stack_nv NAME I prints that variable's name; _stack_nget NAME I its value.
_stack_nv() { if (($2 == 0)); then echo "STACK_$1"; else echo "STACK_$1_$2"; fi; }
_stack_nget() { local v; v=$(_stack_nv "$1" "$2"); printf '%s' "${!v:-}"; }
_stack_rabbit_dir() { if (($1 == 0)); then echo "$STACK_DIR/rabbit"; else echo "$STACK_DIR/rabbit-$1"; fi; }

# _stack_rabbit_cmd COMMAND ARGS...: like _stack_cmd, as rabbitmq, with this
# stack's RabbitMQ/Erlang environment (node name, ports, cookie via HOME, epmd).
# _stack_rabbit_node_cmd I COMMAND ARGS...: the same for node I.
_stack_rabbit_cmd() { _stack_rabbit_node_cmd 0 "$@"; }
_stack_rabbit_node_cmd() {
    local i=$1; shift
    local r; r=$(_stack_rabbit_dir "$i")
    _stack_cmd rabbitmq HOME="$r/home" \
        ERL_EPMD_PORT="$STACK_EPMD_PORT" \
        ERL_CRASH_DUMP="$r/log/erl_crash.dump" \
        ERL_INETRC="$r/inetrc" \
        RABBITMQ_NODENAME="$(_stack_nget RABBIT_NODE "$i")" \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$(_stack_nget AMQP_PORT "$i")" \
        RABBITMQ_DIST_PORT="$(_stack_nget RABBIT_DIST_PORT "$i")" \
        RABBITMQ_CONF_ENV_FILE="$r/rabbitmq-env.conf" \
        RABBITMQ_CONFIG_FILE="$r/rabbitmq.conf" \
        RABBITMQ_ADVANCED_CONFIG_FILE="$r/advanced.config" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$r/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$r/mnesia" \
        RABBITMQ_LOG_BASE="$r/log" \
        RABBITMQ_LOGS="$r/log/rabbit.log" \
        RABBITMQ_PID_FILE="$r/rabbit.pid" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
        "$@"
}

# _stack_spawn CWD LOG VAR: start _STACK_CMD in the background in its own
# session (so a terminal's Ctrl-C or hang-up does not reach it), store its pid in
# VAR. It stays a child of this shell, so the shell reaps it when it exits (some
# sandboxes' init never reaps orphans, which would leave zombies); +m keeps it
# in our process group so setsid needs no extra fork (the pid stays exact),
# disown keeps it out of the job table (`wait` ignores it, no "Done" message),
# and the 2>/dev/null around it hides an interactive shell's "[1] PID" line.
_stack_spawn() {
    local -; set +m
    local cwd=$1 log=$2
    { (cd "$cwd" && exec setsid "${_STACK_CMD[@]}" </dev/null >"$log" 2>&1) & } 2>/dev/null
    printf -v "$3" %s "$!"
    disown "$!" 2>/dev/null || true
}

_stack_chown() {
    if [[ $EUID -eq 0 ]]; then chown -R "$@"; fi
}

# Alive and not a zombie.
_stack_alive() {
    local pid=${1:-} line
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    { read -r line </proc/"$pid"/stat; } 2>/dev/null || return 1
    line=${line##*) }
    [[ ${line%% *} != Z ]]
}

# True if PID was started by this stack: every process we launch carries the
# marker _ERASURE_STACK_OWNER=$STACK_DIR in its environment (children inherit it).
_stack_owned() {
    local pid=${1:-} dir=${2:-${STACK_DIR:-}}
    [[ -n $dir ]] && _stack_alive "$pid" &&
        grep -qzxF "_ERASURE_STACK_OWNER=$dir" /proc/"$pid"/environ 2>/dev/null
}

# Wait up to $2 seconds (default 30) for pid $1 to go away.
_stack_wait_gone() {
    local pid=$1 i n=$(( ${2:-30} * 10 ))
    for ((i = 0; i < n; i++)); do
        _stack_alive "$pid" || return 0
        sleep 0.1
    done
    ! _stack_alive "$pid"
}

# Print N distinct free TCP ports on 127.0.0.1, below the kernel's ephemeral range
# (so no client connection can take one while its server restarts: a RabbitMQ node
# that cannot bind its distribution port again does not start), avoiding the
# well-known RabbitMQ/epmd/PostgreSQL ports and the rabbitmqctl range 35672-35682.
_stack_free_ports() {
    python3 -c '
import random, socket, sys
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
avoid = {4369, 5432, 5672, 15672, 25672, *range(35672, 35683)}
candidates = [p for p in range(10000, low) if p not in avoid]
random.shuffle(candidates)
ports = []
for p in candidates:
    if len(ports) == int(sys.argv[1]):
        break
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
    ports.append(p)
if len(ports) < int(sys.argv[1]):
    sys.exit("no free ports below the ephemeral range")
print(*ports)' "$1"
}

_stack_tail() {
    local f
    for f in "$@"; do
        [[ -s $f ]] || continue
        printf -- '--- tail of %s ---\n' "$f" >&2
        tail -n 40 "$f" >&2
    done
}

# Record this stack's variables in $STACK_DIR/stack.env (NAME=value lines), for
# _stack_reap_stale and for anyone debugging a running stack.
_stack_save() {
    local v i vars=(STACK_DIR STACK_OWNER_PID STACK_OWNER_START STACK_PG_PORT STACK_AMQP_PORT
             STACK_RABBIT_DIST_PORT STACK_EPMD_PORT STACK_RABBIT_NODE STACK_PG_PID
             STACK_RABBIT_PID STACK_RABBIT_WRAPPER_PID STACK_EPMD_PID STACK_RABBIT_NODES STACK_AMQPS_PORT)
    for ((i = 1; i < ${STACK_RABBIT_NODES:-1}; i++)); do
        vars+=("STACK_AMQP_PORT_$i" "STACK_RABBIT_DIST_PORT_$i" "STACK_RABBIT_NODE_$i"
               "STACK_RABBIT_PID_$i" "STACK_RABBIT_WRAPPER_PID_$i")
    done
    for v in "${vars[@]}"; do
        if [[ -n ${!v:-} ]]; then printf '%s=%s\n' "$v" "${!v}"; fi
    done >"$STACK_DIR/stack.env.tmp" && mv -f "$STACK_DIR/stack.env.tmp" "$STACK_DIR/stack.env"
}

# stack_load DIR: take over the stack in DIR from its stack.env (another shell's
# stack, e.g. for scripts/stack-ctl); the variables are set in this shell.
stack_load() {
    local k v dir=$1
    [[ -f $dir/stack.env ]] || { _stack_log "no stack in $dir"; return 1; }
    while IFS='=' read -r k v; do
        [[ $k =~ ^STACK_[A-Z0-9_]+$ ]] && printf -v "$k" %s "$v" && export "${k?}"
    done <"$dir/stack.env"
    [[ ${STACK_DIR:-} == "$dir" ]]
}

# Unset this shell's stack variables (not the tunables).
_stack_forget() {
    local v
    for v in $(compgen -v STACK_); do
        case $v in STACK_START_TIMEOUT | STACK_TMPDIR | STACK_PG_BIN | STACK_RABBIT_BIN) ;;
            *) unset "$v" ;;
        esac
    done
    unset STACK_RABBIT_NODES ERASURE_TEST_DATABASE_URL ERASURE_TEST_AMQP_URL ERASURE_TEST_AMQP_URLS \
        ERASURE_TEST_AMQPS_URL ERASURE_TEST_TLS_CA
}

# Start time (clock ticks since boot) of a pid, to tell it from a reused pid.
_stack_starttime() {
    local line f
    { read -r line </proc/"$1"/stat; } 2>/dev/null || return 1
    read -ra f <<<"${line##*) }"
    printf '%s\n' "${f[19]}"
}

# Tear down stacks whose owner shell died without stack_down (kill -9, OOM,
# a CI timeout): their dir has our uid and a stack.env naming a dead owner.
_stack_reap_stale() {
    local d
    for d in "$(_stack_base)"/erasure-stack.*; do
        [[ -d $d && ! -L $d && -O $d && -f $d/stack.env && -O $d/stack.env && $d != "${STACK_DIR:-}" ]] ||
            continue
        (
            _stack_forget
            stack_load "$d" && [[ -n ${STACK_OWNER_PID:-} ]] || exit 0
            if _stack_alive "$STACK_OWNER_PID" && [[ -z ${STACK_OWNER_START:-} ||
                    $(_stack_starttime "$STACK_OWNER_PID") == "$STACK_OWNER_START" ]]; then
                exit 0
            fi
            _stack_log "removing stale stack $d (its shell, pid $STACK_OWNER_PID, is gone)"
            stack_down
        )
    done
}

# Wait until 127.0.0.1:$1 accepts TCP connections while pid $2 lives.
_stack_wait_port() {
    local port=$1 pid=$2 deadline=$3
    while ((SECONDS < deadline)); do
        _stack_alive "$pid" || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

# _stack_tls_certs DIR: a throwaway CA and one server certificate for localhost
# and 127.0.0.1 in DIR (ca.pem, server.pem), with one copy of the key per server
# user (pg.key, rabbit.key: owned by it, 0600; PostgreSQL refuses a key others can
# read). The CA's key is deleted once it has signed.
_stack_tls_certs() {
    local d=$1
    mkdir -p "$d" && chmod 755 "$d" || return 1
    printf '%s\n' 'subjectAltName = DNS:localhost, IP:127.0.0.1' 'basicConstraints = critical, CA:FALSE' \
        'keyUsage = critical, digitalSignature' 'extendedKeyUsage = serverAuth' >"$d/server.ext"
    (
        umask 077
        openssl req -x509 -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 30 \
            -subj "/CN=erasure test CA $(basename "$STACK_DIR")" -keyout "$d/ca.key" -out "$d/ca.pem" &&
        openssl req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -subj /CN=localhost -keyout "$d/server.key" -out "$d/server.csr" &&
        openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -days 30 \
            -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" -extfile "$d/server.ext" \
            -out "$d/server.pem"
    ) >"$d/openssl.log" 2>&1 || return 1
    chmod 644 "$d/ca.pem" "$d/server.pem"
    cp "$d/server.key" "$d/pg.key" && cp "$d/server.key" "$d/rabbit.key" || return 1
    rm -f "$d/ca.key" "$d/server.key" "$d/server.csr"
    chmod 600 "$d/pg.key" "$d/rabbit.key"
    _stack_chown postgres: "$d/pg.key"
    _stack_chown rabbitmq: "$d/rabbit.key"
}

# --- public API ---------------------------------------------------------------

stack_install() {
    local -; set +e
    local missing=() sudo=()
    [[ "$(dpkg-query -W -f='${Status}' rabbitmq-server 2>/dev/null)" == "install ok installed" ]] ||
        missing+=(rabbitmq-server)
    [[ -x $STACK_PG_BIN/initdb ]] || missing+=(postgresql-15)
    command -v python3 >/dev/null || missing+=(python3)
    command -v setpriv >/dev/null || missing+=(util-linux)
    ((${#missing[@]} == 0)) && return 0

    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null || { _stack_log "need root to install: ${missing[*]}"; return 1; }
        sudo=(sudo)
    fi
    local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -y --no-upgrade
               -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
    _stack_log "installing ${missing[*]} (apt)"
    local p need_update=0
    for p in "${missing[@]}"; do
        apt-cache show "$p" >/dev/null 2>&1 || need_update=1
    done
    if ((need_update)); then "${apt[@]}" update >/dev/null || return 1; fi
    if ! "${apt[@]}" install "${missing[@]}" >/dev/null; then
        # stale package lists: refresh once and retry
        if ! { "${apt[@]}" update >/dev/null && "${apt[@]}" install "${missing[@]}" >/dev/null; }; then
            _stack_log "apt-get install ${missing[*]} failed"; return 1
        fi
    fi
}

stack_up() {
    local -; set +e
    if [[ -n ${STACK_DIR:-} && -d ${STACK_DIR:-} ]]; then
        _stack_log "a stack is already up in this shell ($STACK_DIR); call stack_down first"
        return 1
    fi
    local timeout=${STACK_START_TIMEOUT:-60} t0=${EPOCHREALTIME/[.,]/} deadline ports _STACK_CMD i
    deadline=$((SECONDS + timeout))
    local nodes=${STACK_RABBIT_NODES:-1}
    [[ $nodes =~ ^[1-9]$ ]] || { _stack_log "STACK_RABBIT_NODES must be 1 to 9, not '$nodes'"; return 1; }

    _stack_reap_stale

    STACK_DIR=$(mktemp -d "$(_stack_base)/erasure-stack.XXXXXX") || return 1
    export STACK_DIR STACK_RABBIT_NODES=$nodes
    chmod 711 "$STACK_DIR"    # the server users must traverse it
    STACK_OWNER_PID=$$ STACK_OWNER_START=$(_stack_starttime $$)
    ports=$(_stack_free_ports $((3 + 2 * nodes))) || { _stack_fail "could not pick free ports"; return 1; }
    read -r STACK_PG_PORT STACK_EPMD_PORT STACK_AMQPS_PORT ports <<<"$ports"
    export STACK_PG_PORT STACK_EPMD_PORT STACK_AMQPS_PORT
    local cluster
    cluster="erasure-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
    for ((i = 0; i < nodes; i++)); do
        local amqp dist
        read -r amqp dist ports <<<"$ports"
        export "$(_stack_nv AMQP_PORT $i)=$amqp" "$(_stack_nv RABBIT_DIST_PORT $i)=$dist"
        if ((i == 0)); then export STACK_RABBIT_NODE="$cluster@localhost"
        else export "STACK_RABBIT_NODE_$i=$cluster-$i@localhost"; fi
    done
    _stack_save
    # TLS: a throwaway CA and the servers' certificate.
    _stack_tls_certs "$STACK_DIR/tls" || { _stack_fail "openssl failed" "$STACK_DIR/tls/openssl.log"; return 1; }

    # ---- RabbitMQ first: it is the slow one, PostgreSQL starts while it boots.
    local r=$STACK_DIR/rabbit
    mkdir -p "$r/home" || { _stack_fail "mkdir $r failed"; return 1; }
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F >"$r/home/.erlang.cookie"
    chmod 400 "$r/home/.erlang.cookie"
    for ((i = 0; i < nodes; i++)); do
        _stack_rabbit_prepare $i || { _stack_fail "cannot prepare RabbitMQ node $i in $STACK_DIR"; return 1; }
    done

    # A private epmd on its own port: never shares (or leaves behind) the machine's default one.
    _stack_cmd rabbitmq /usr/bin/epmd -port "$STACK_EPMD_PORT" -address 127.0.0.1
    _stack_spawn "$r" "$r/log/epmd.log" STACK_EPMD_PID; export STACK_EPMD_PID
    _stack_save
    if ! _stack_wait_port "$STACK_EPMD_PORT" "$STACK_EPMD_PID" "$deadline"; then
        _stack_fail "epmd did not start on port $STACK_EPMD_PORT" "$r/log/epmd.log"; return 1
    fi
    for ((i = 0; i < nodes; i++)); do _stack_rabbit_spawn $i; done

    # ---- PostgreSQL
    local pg=$STACK_DIR/pg
    mkdir -p "$pg/sock" && chmod 700 "$pg" && chmod 755 "$pg/sock" && _stack_chown postgres: "$pg"
    _stack_cmd postgres "$STACK_PG_BIN/initdb" -D "$pg/data" -A trust -U postgres -E UTF8 --no-locale --no-sync
    if ! (cd "$pg" && "${_STACK_CMD[@]}" </dev/null >"$pg/initdb.log" 2>&1); then
        _stack_fail "initdb failed" "$pg/initdb.log"; return 1
    fi
    local durable=off
    [[ ${STACK_PG_DURABLE:-0} == 1 ]] && durable=on
    cat >>"$pg/data/postgresql.conf" <<CONF

# erasure-worker test stack
port = $STACK_PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$pg/sock'
max_connections = 300
fsync = $durable
synchronous_commit = ${STACK_PG_SYNCHRONOUS_COMMIT:-$durable}
full_page_writes = $durable
logging_collector = off
ssl = on
ssl_cert_file = '$STACK_DIR/tls/server.pem'
ssl_key_file = '$STACK_DIR/tls/pg.key'
CONF
    if [[ ${STACK_PG_STAT_STATEMENTS:-0} == 1 ]]; then
        printf '%s\n' "shared_preload_libraries = 'pg_stat_statements'" 'pg_stat_statements.track = all' \
            'pg_stat_statements.max = 10000' >>"$pg/data/postgresql.conf"
    fi
    # Members of erasure_tls_only connect over TLS or not at all (hostssl only): for tests of a
    # database that requires TLS. These lines come first, so they win over initdb's `trust` ones.
    local hba; hba=$(cat "$pg/data/pg_hba.conf") || { _stack_fail "cannot read pg_hba.conf"; return 1; }
    printf '%s\n' '# erasure-worker test stack: TLS only for members of erasure_tls_only' \
        'local     all +erasure_tls_only reject' 'hostnossl all +erasure_tls_only all reject' \
        '' "$hba" >"$pg/data/pg_hba.conf"
    _stack_pg_start "$deadline" || return 1
    "$STACK_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "postgres://postgres@127.0.0.1:$STACK_PG_PORT/postgres?sslmode=disable" \
        -c "CREATE ROLE erasure_tls_only NOLOGIN" </dev/null >"$pg/roles.log" 2>&1 ||
        { _stack_fail "cannot create the role erasure_tls_only" "$pg/roles.log"; return 1; }
    if [[ ${STACK_PG_STAT_STATEMENTS:-0} == 1 ]]; then
        "$STACK_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "postgres://postgres@127.0.0.1:$STACK_PG_PORT/postgres?sslmode=disable" \
            -c "CREATE EXTENSION pg_stat_statements" </dev/null >>"$pg/roles.log" 2>&1 ||
            { _stack_fail "cannot create the extension pg_stat_statements" "$pg/roles.log"; return 1; }
    fi
    export ERASURE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$STACK_PG_PORT/postgres"
    _stack_log "PostgreSQL 15 on 127.0.0.1:$STACK_PG_PORT (pid $STACK_PG_PID)"

    # ---- wait for RabbitMQ, then join the other nodes to node 0's cluster
    for ((i = 0; i < nodes; i++)); do _stack_rabbit_await $i "$deadline" || return 1; done
    for ((i = 1; i < nodes; i++)); do
        local node=$(_stack_nget RABBIT_NODE $i) ri=$(_stack_rabbit_dir $i)
        if ! { stack_rabbitmqctl_node $i -q stop_app && stack_rabbitmqctl_node $i -q join_cluster "$STACK_RABBIT_NODE" &&
                stack_rabbitmqctl_node $i -q start_app; } </dev/null >"$ri/log/join.log" 2>&1; then
            _stack_fail "RabbitMQ node $node could not join $STACK_RABBIT_NODE" "$ri/log/join.log" "$ri/log/rabbit.log"
            return 1
        fi
    done
    export ERASURE_TEST_AMQP_URL="amqp://guest:guest@127.0.0.1:$STACK_AMQP_PORT/%2f"
    ERASURE_TEST_AMQP_URLS=$ERASURE_TEST_AMQP_URL
    for ((i = 1; i < nodes; i++)); do
        ERASURE_TEST_AMQP_URLS+=" amqp://guest:guest@127.0.0.1:$(_stack_nget AMQP_PORT $i)/%2f"
    done
    export ERASURE_TEST_AMQP_URLS
    export ERASURE_TEST_AMQPS_URL="amqps://guest:guest@localhost:$STACK_AMQPS_PORT/%2f"
    export ERASURE_TEST_TLS_CA=$STACK_DIR/tls/ca.pem
    local ms=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 )) what="$STACK_RABBIT_NODE on 127.0.0.1:$STACK_AMQP_PORT (pid $STACK_RABBIT_PID)"
    ((nodes > 1)) && what="cluster of $nodes nodes, $STACK_RABBIT_NODE first (AMQP ports:$(for ((i = 0; i < nodes; i++)); do printf ' %s' "$(_stack_nget AMQP_PORT $i)"; done))"
    _stack_log "RabbitMQ 3.10 $what; stack up in $((ms / 1000)).$(printf %03d $((ms % 1000)))s"
}

# Directories and config files of node I; every node shares node 0's Erlang cookie.
_stack_rabbit_prepare() {
    local i=$1 r; r=$(_stack_rabbit_dir "$1")
    mkdir -p "$r/home" "$r/mnesia" "$r/log" || return 1
    if ((i > 0)); then
        cp "$STACK_DIR/rabbit/home/.erlang.cookie" "$r/home/.erlang.cookie" && chmod 400 "$r/home/.erlang.cookie" || return 1
    fi
    echo '[].' >"$r/enabled_plugins"
    echo '[].' >"$r/advanced.config"
    # Resolve from /etc/hosts first: spares an inet_gethost helper per Erlang VM.
    echo '{lookup, [file, native]}.' >"$r/inetrc"
    : >"$r/rabbitmq-env.conf"    # instead of /etc/rabbitmq/rabbitmq-env.conf
    cat >"$r/rabbitmq.conf" <<'CONF'
log.console = false
log.file.level = info
CONF
    if ((i == 0)); then
        cat >>"$r/rabbitmq.conf" <<CONF
listeners.ssl.1 = 127.0.0.1:$STACK_AMQPS_PORT
ssl_options.cacertfile = $STACK_DIR/tls/ca.pem
ssl_options.certfile = $STACK_DIR/tls/server.pem
ssl_options.keyfile = $STACK_DIR/tls/rabbit.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
CONF
    fi
    chmod 700 "$r" "$r/home"
    _stack_chown rabbitmq: "$r"
}

# Start node I in the background (the wrapper's pid in STACK_RABBIT_WRAPPER_PID[_I]).
# rabbitmq-server is a sh wrapper (it forwards TERM) running erl -> beam.smp,
# whose pid lands in RABBITMQ_PID_FILE early in the boot.
_stack_rabbit_spawn() {
    local i=$1 r _STACK_CMD pid; r=$(_stack_rabbit_dir "$1")
    rm -f "$r/rabbit.pid"
    _stack_rabbit_node_cmd "$i" "$STACK_RABBIT_BIN/rabbitmq-server"
    _stack_spawn "$r" "$r/log/stdout.log" pid
    export "$(_stack_nv RABBIT_WRAPPER_PID "$i")=$pid" "$(_stack_nv RABBIT_PID "$i")="
    _stack_save
}

# Wait until node I has booted (its beam.smp pid in STACK_RABBIT_PID[_I]).
_stack_rabbit_await() {
    local i=$1 deadline=$2 r pid ok=0 node; r=$(_stack_rabbit_dir "$1")
    node=$(_stack_nget RABBIT_NODE "$i")
    local rlogs=("$r/log/stdout.log" "$r/log/rabbit.log")
    while [[ ! -s $r/rabbit.pid ]]; do
        if ! _stack_alive "$(_stack_nget RABBIT_WRAPPER_PID "$i")" || ((SECONDS >= deadline)); then
            _stack_fail "RabbitMQ did not start (node $node)" "${rlogs[@]}"; return 1
        fi
        sleep 0.1
    done
    pid=$(<"$r/rabbit.pid")
    export "$(_stack_nv RABBIT_PID "$i")=$pid"
    _stack_save
    while ((SECONDS < deadline)) && _stack_alive "$pid"; do
        if stack_rabbitmqctl_node "$i" -q -t $((deadline - SECONDS + 1)) await_startup </dev/null >"$r/log/await.log" 2>&1; then
            ok=1; break
        fi
        sleep 0.5    # the node's distribution may not be up yet
    done
    if ((!ok)); then
        _stack_fail "RabbitMQ did not start (node $node)" "$r/log/await.log" "${rlogs[@]}"
        return 1
    fi
}

# Stop node I (rabbitmqctl stop, then TERM and KILL if it lingers).
_stack_rabbit_stop() {
    local i=$1 dir=$STACK_DIR r _STACK_CMD p; r=$(_stack_rabbit_dir "$1")
    local pid wrapper; pid=$(_stack_nget RABBIT_PID "$i") wrapper=$(_stack_nget RABBIT_WRAPPER_PID "$i")
    if _stack_owned "$pid" "$dir"; then
        _stack_rabbit_node_cmd "$i" "$STACK_RABBIT_BIN/rabbitmqctl" -n "$(_stack_nget RABBIT_NODE "$i")" -q stop
        (cd "$r" && timeout -k 5 30 "${_STACK_CMD[@]}" </dev/null >/dev/null 2>&1)
        _stack_wait_gone "$pid" 20
    fi
    for p in "$wrapper" "$pid"; do
        _stack_owned "$p" "$dir" && kill -TERM "$p" 2>/dev/null && _stack_wait_gone "$p" 10
        _stack_owned "$p" "$dir" && kill -KILL "$p" 2>/dev/null
    done
    return 0
}

# Start the postmaster (pg_ctl start would orphan it; it is stopped with pg_ctl stop).
_stack_pg_start() {
    local deadline=$1 pg=$STACK_DIR/pg _STACK_CMD
    _stack_cmd postgres "$STACK_PG_BIN/postgres" -D "$pg/data"
    _stack_spawn "$pg" "$pg/postgres.log" STACK_PG_PID; export STACK_PG_PID
    _stack_save
    until "$STACK_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$STACK_PG_PORT" -t 2 </dev/null; do
        if ! _stack_alive "$STACK_PG_PID" || ((SECONDS >= deadline)); then
            _stack_fail "PostgreSQL did not start on 127.0.0.1:$STACK_PG_PORT" "$pg/postgres.log"; return 1
        fi
        sleep 0.1
    done
}

# Stop the postmaster: MODE is pg_ctl's (fast, or immediate: no checkpoint, like a crash).
_stack_pg_stop() {
    local mode=${1:-fast} dir=$STACK_DIR _STACK_CMD
    _stack_owned "${STACK_PG_PID:-}" "$dir" || return 0
    _stack_cmd postgres "$STACK_PG_BIN/pg_ctl" -D "$dir/pg/data" stop -m "$mode" -w -t 30
    (cd "$dir/pg" && timeout -k 5 40 "${_STACK_CMD[@]}" </dev/null >/dev/null 2>&1)
    _stack_owned "$STACK_PG_PID" "$dir" && kill -QUIT "$STACK_PG_PID" 2>/dev/null && _stack_wait_gone "$STACK_PG_PID" 5
    _stack_owned "$STACK_PG_PID" "$dir" && kill -KILL "$STACK_PG_PID" 2>/dev/null
    _stack_wait_gone "$STACK_PG_PID" 5
    return 0
}

# ---- faults, for scripts/chaos (through scripts/stack-ctl) -------------------

# stack_pg_restart [fast|immediate]: stop PostgreSQL (immediate = a crash: no
# checkpoint, recovery from the WAL at start) and start it again.
stack_pg_restart() {
    local -; set +e
    local _STACK_CTL=1
    _stack_pg_stop "${1:-immediate}"
    _stack_pg_start $((SECONDS + ${STACK_START_TIMEOUT:-60}))
}

# stack_rabbit_stop I / stack_rabbit_start I: one node of the cluster.
stack_rabbit_stop() {
    local -; set +e
    local _STACK_CTL=1
    _stack_rabbit_stop "$1"
    export "$(_stack_nv RABBIT_PID "$1")=" "$(_stack_nv RABBIT_WRAPPER_PID "$1")="
    _stack_save
}

# A restarted node gets a fresh distribution port (its peers look it up in epmd): the
# old one can still be held by connections closing (TIME_WAIT), and RabbitMQ then
# refuses to boot (dist_port_already_used). Its AMQP port stays: clients know it.
_stack_rabbit_new_dist_port() {
    local port
    port=$(_stack_free_ports 1) || return 1
    export "$(_stack_nv RABBIT_DIST_PORT "$1")=$port"
}

stack_rabbit_start() {
    local -; set +e
    local _STACK_CTL=1
    _stack_rabbit_new_dist_port "$1" || return 1
    _stack_rabbit_spawn "$1"
    _stack_rabbit_await "$1" $((SECONDS + ${STACK_START_TIMEOUT:-60} * 2))
}

# stack_rabbit_restart_all: stop every node (the last one first), then start them
# all together (a cluster node waits for its peers at boot).
stack_rabbit_restart_all() {
    local -; set +e
    local _STACK_CTL=1
    local i n=${STACK_RABBIT_NODES:-1} deadline=$((SECONDS + ${STACK_START_TIMEOUT:-60} * 3))
    for ((i = n - 1; i >= 0; i--)); do stack_rabbit_stop $i; done
    for ((i = 0; i < n; i++)); do _stack_rabbit_new_dist_port $i && _stack_rabbit_spawn $i || return 1; done
    for ((i = 0; i < n; i++)); do _stack_rabbit_await $i "$deadline" || return 1; done
}

# stack_rabbitmqctl ARGS...  — rabbitmqctl for this stack's node.
stack_rabbitmqctl() { stack_rabbitmqctl_node 0 "$@"; }

# stack_rabbitmqctl_node I ARGS...  — rabbitmqctl for node I of this stack's cluster.
stack_rabbitmqctl_node() {
    [[ -n ${STACK_DIR:-} && -n ${STACK_RABBIT_NODE:-} ]] || { _stack_log "no stack is up"; return 1; }
    local i=$1 _STACK_CMD r; shift
    r=$(_stack_rabbit_dir "$i")
    _stack_rabbit_node_cmd "$i" "$STACK_RABBIT_BIN/rabbitmqctl" -n "$(_stack_nget RABBIT_NODE "$i")" "$@"
    if [[ -t 0 ]]; then
        # The Erlang VM resets a terminal, discarding what was typed ahead.
        (cd "$r" && "${_STACK_CMD[@]}" </dev/null)
    else
        (cd "$r" && "${_STACK_CMD[@]}")
    fi
}

# Log the failure and show the logs; tear the stack down unless a fault command
# (stack_pg_restart, stack_rabbit_*) failed, which leaves the stack to its owner.
_stack_fail() {
    local msg=$1; shift
    _stack_log "ERROR: $msg"
    _stack_tail "$@"
    [[ -n ${_STACK_CTL:-} ]] || stack_down
}

stack_down() {
    local -; set +e
    local dir=${STACK_DIR:-} _STACK_CMD traps i
    [[ -n $dir && -d $dir ]] || return 0
    # Finish the cleanup even if a second Ctrl-C/TERM/HUP arrives meanwhile.
    traps=$(trap -p HUP INT TERM)
    trap '' HUP INT TERM
    # scripts/stack-ctl may have restarted servers: their pids are in stack.env.
    [[ -f $dir/stack.env ]] && stack_load "$dir"

    # RabbitMQ: graceful stop, then the wrapper script (it forwards TERM), then KILL.
    for ((i = ${STACK_RABBIT_NODES:-1} - 1; i >= 0; i--)); do _stack_rabbit_stop $i; done

    _stack_pg_stop fast

    # epmd
    if _stack_owned "${STACK_EPMD_PID:-}" "$dir"; then
        kill -TERM "$STACK_EPMD_PID" 2>/dev/null && _stack_wait_gone "$STACK_EPMD_PID" 5
        _stack_owned "$STACK_EPMD_PID" "$dir" && kill -KILL "$STACK_EPMD_PID" 2>/dev/null
    fi

    # Sweep: anything still carrying this stack's marker (postgres backends after a
    # KILL, erl_child_setup, an `epmd -daemon` erl spawned on our port, ...).
    local f pid round
    for round in TERM KILL; do
        local left=()
        while read -r f; do
            pid=${f#/proc/}; pid=${pid%/environ}
            [[ $pid == "$$" || $pid == "${BASHPID:-}" ]] && continue
            _stack_owned "$pid" "$dir" && left+=("$pid")
        done < <(grep -lzxF "_ERASURE_STACK_OWNER=$dir" /proc/[0-9]*/environ 2>/dev/null)
        ((${#left[@]})) || break
        [[ $round == TERM ]] && _stack_log "cleaning up leftover pids ${left[*]}"
        kill -"$round" "${left[@]}" 2>/dev/null
        for pid in "${left[@]}"; do _stack_wait_gone "$pid" 5; done
    done

    rm -rf -- "$dir"
    _stack_forget
    trap - HUP INT TERM
    eval "$traps"
    return 0
}
