#!/usr/bin/env bash
# A real Neo4j 5.26 Community server on loopback, built from its jars on Maven Central
# (tools/neo4j/pom.xml), for machines without Docker (these machines, CI).
#
#   scripts/neo4j.sh install        resolve the jars into tools/neo4j/lib (needs java + mvn)
#   eval "$(scripts/neo4j.sh start)" start (installing first if needed), wait for Bolt,
#                                   and set HCSP_GRAPH_URI / HCSP_NEO4J_URI and credentials
#   scripts/neo4j.sh stop | status | env
#   scripts/neo4j.sh import DIR     run DIR/import.sh (from `hcsp ingest --neo4j-csv DIR`)
#                                   with the server stopped, then start it again
#   scripts/neo4j.sh admin ARGS...  neo4j-admin (e.g. `admin database info neo4j`)
#
# Settings (environment): HCSP_NEO4J_HOME (data, logs, conf; default .neo4j here),
# HCSP_NEO4J_LIB (the jars; default tools/neo4j/lib),
# HCSP_NEO4J_PASSWORD (default hcsp-dev-password, as docker-compose.yml), NEO4J_HEAP (2g),
# NEO4J_PAGECACHE (1g), HCSP_NEO4J_BOLT_PORT (7687), HCSP_NEO4J_HTTP_PORT (7474).
# Only `export` lines go to stdout; everything else to stderr, so `eval` is safe.
set -euo pipefail
HERE="${BASH_SOURCE[0]%/*}"; [ "$HERE" = "${BASH_SOURCE[0]}" ] && HERE=.
ROOT="$(cd "$HERE/.." && pwd)"  # builtins only: the checks below run with any PATH
TOOLS="$ROOT/tools/neo4j"
LIB="${HCSP_NEO4J_LIB:-$TOOLS/lib}"
N4_HOME="${HCSP_NEO4J_HOME:-$ROOT/.neo4j}"
PASSWORD="${HCSP_NEO4J_PASSWORD:-hcsp-dev-password}"
HEAP="${NEO4J_HEAP:-2g}"
PAGECACHE="${NEO4J_PAGECACHE:-1g}"
BOLT_PORT="${HCSP_NEO4J_BOLT_PORT:-7687}"
HTTP_PORT="${HCSP_NEO4J_HTTP_PORT:-7474}"
PIDFILE="$N4_HOME/run/hcsp-neo4j.pid"
LOG="$N4_HOME/logs/console.log"
START_TIMEOUT="${HCSP_NEO4J_START_TIMEOUT:-180}"

say() { echo "neo4j.sh: $*" >&2; }
die() { echo "neo4j.sh: error: $1" >&2; [ -n "${2:-}" ] && echo "what to do: $2" >&2; exit 1; }

need_java() {
  command -v java >/dev/null || die "java is not installed (Neo4j 5.26 needs Java 17 or 21)" \
    "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless), or use docker compose"
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  case "$v" in
    17|21) ;;
    *) die "Neo4j 5.26 runs on Java 17 or 21; \`java\` here is version ${v:-unknown}" \
         "put a JDK 17 or 21 first on PATH (or set JAVA_HOME and PATH to it)" ;;
  esac
}

pom_hash() { sha256sum "$TOOLS/pom.xml" | cut -c1-16; }

installed() { [ -f "$LIB/.resolved" ] && [ "$(cat "$LIB/.resolved")" = "$(pom_hash)" ]; }

install() {
  need_java
  if installed; then say "Neo4j jars already in $LIB"; return 0; fi
  command -v mvn >/dev/null || die "Maven (mvn) is not installed; it resolves Neo4j's jars" \
    "install Maven 3.8+ (Debian: apt-get install maven), or use docker compose"
  say "resolving Neo4j 5.26 Community and Neo4j Browser from Maven Central into $LIB ..."
  mkdir -p "$LIB" && rm -f "$LIB"/*.jar "$LIB/.resolved"  # jars of another pom version go
  if ! (cd "$TOOLS" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$LIB" \
          -DincludeScope=runtime >&2); then
    die "Maven could not resolve tools/neo4j/pom.xml" "check that Maven Central is reachable"
  fi
  pom_hash > "$LIB/.resolved"
  say "installed $(ls "$LIB"/*.jar | wc -l) jars ($(du -sh "$LIB" | cut -f1))"
}

java_cp() { echo "$N4_HOME/plugins/*:$N4_HOME/conf/*:$LIB/*"; }

# neo4j-admin with this home and conf; stdout/stderr as the tool prints them.
admin() {
  installed || install
  NEO4J_HOME="$N4_HOME" NEO4J_CONF="$N4_HOME/conf" \
    java -Xmx"${NEO4J_ADMIN_HEAP:-1g}" -cp "$(java_cp)" org.neo4j.cli.AdminTool "$@"
}

write_conf() {
  mkdir -p "$N4_HOME"/{conf,data,logs,run,plugins,import,bin}
  cat > "$N4_HOME/conf/neo4j.conf" <<EOF
# Written by scripts/neo4j.sh on every start; edit the script (or its variables), not this.
server.default_listen_address=127.0.0.1
server.bolt.listen_address=127.0.0.1:$BOLT_PORT
server.bolt.advertised_address=127.0.0.1:$BOLT_PORT
server.http.listen_address=127.0.0.1:$HTTP_PORT
server.http.advertised_address=127.0.0.1:$HTTP_PORT
server.https.enabled=false
dbms.security.auth_enabled=true
dbms.usage_report.enabled=false
# A 2-core, 24 GB machine shared with the embedded engine and the tests.
server.memory.heap.initial_size=512m
server.memory.heap.max_size=$HEAP
server.memory.pagecache.size=$PAGECACHE
server.jvm.additional=-XX:+UseG1GC
EOF
  # neo4j-admin on PATH for DIR/import.sh: export PATH="$N4_HOME/bin:$PATH"
  printf '#!/usr/bin/env bash\nexec %q admin "$@"\n' "$ROOT/scripts/neo4j.sh" \
    > "$N4_HOME/bin/neo4j-admin"
  chmod +x "$N4_HOME/bin/neo4j-admin"
}

running_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null && grep -q CommunityEntryPoint "/proc/$pid/cmdline" 2>/dev/null
  then echo "$pid"; return 0; fi
  return 1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A Bolt handshake: the server answers with the protocol version it agrees to (non-zero).
bolt_answers() {
  python3 - "$BOLT_PORT" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"\x60\x60\xb0\x17" + b"\x00\x08\x08\x05" + b"\x00\x00\x04\x04" + b"\x00" * 8)
v = s.recv(4)
sys.exit(0 if len(v) == 4 and v != b"\x00" * 4 else 1)
EOF
}

print_env() {
  local uri="bolt://127.0.0.1:$BOLT_PORT"
  echo "export HCSP_GRAPH_URI=$uri"
  echo "export HCSP_NEO4J_URI=$uri"
  echo "export HCSP_NEO4J_USER=neo4j"
  echo "export HCSP_NEO4J_PASSWORD=$(printf %q "$PASSWORD")"
}

start() {
  need_java
  installed || install
  if pid="$(running_pid)"; then
    say "already running (pid $pid), Bolt on 127.0.0.1:$BOLT_PORT"
    print_env; return 0
  fi
  for p in "$BOLT_PORT" "$HTTP_PORT"; do
    port_busy "$p" && die "port $p on 127.0.0.1 is taken by another process" \
      "stop it (a Neo4j from docker compose?), or set HCSP_NEO4J_BOLT_PORT/HCSP_NEO4J_HTTP_PORT"
  done
  write_conf
  if [ ! -d "$N4_HOME/data/dbms" ]; then
    # The password must be set before the first start.
    admin dbms set-initial-password "$PASSWORD" >&2 \
      || die "could not set the initial password (message above)" \
        "HCSP_NEO4J_PASSWORD needs 8 characters or more"
  fi
  say "starting Neo4j (heap $HEAP, page cache $PAGECACHE), home $N4_HOME ..."
  # shellcheck disable=SC2086
  nohup java -Xms512m -Xmx"$HEAP" -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow \
    -XX:+DisableExplicitGC -Djdk.nio.maxCachedBufferSize=262144 \
    -Dio.netty.tryReflectionSetAccessible=true -Dfile.encoding=UTF-8 \
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
    -cp "$(java_cp)" org.neo4j.server.CommunityEntryPoint \
    --home-dir="$N4_HOME" --config-dir="$N4_HOME/conf" </dev/null >"$LOG" 2>&1 &
  local pid=$! t0=$SECONDS
  echo "$pid" > "$PIDFILE"
  until grep -q "Started\." "$N4_HOME/logs/neo4j.log" 2>/dev/null && bolt_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$LOG" "$N4_HOME/logs/neo4j.log" >&2 2>/dev/null || true
      rm -f "$PIDFILE"
      die "Neo4j exited while starting (logs above, all of them in $N4_HOME/logs)"
    fi
    if (( SECONDS - t0 > START_TIMEOUT )); then
      kill "$pid" 2>/dev/null || true
      die "Bolt did not answer within ${START_TIMEOUT}s" "see $N4_HOME/logs/neo4j.log"
    fi
    sleep 1
  done
  say "started in $(( SECONDS - t0 ))s (pid $pid): Bolt bolt://127.0.0.1:$BOLT_PORT," \
      "Browser http://127.0.0.1:$HTTP_PORT/browser/ (user neo4j)"
  print_env
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then say "not running"; rm -f "$PIDFILE"; return 0; fi
  kill "$pid"
  for _ in $(seq 120); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; say "stopped (pid $pid)"; return 0; }
    sleep 0.5
  done
  say "did not stop in 60s; killing pid $pid"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    if bolt_answers; then say "running (pid $pid), Bolt answers on 127.0.0.1:$BOLT_PORT"
    else say "running (pid $pid), Bolt not answering yet"; fi
    return 0
  fi
  say "not running$(installed || echo '; not installed either (scripts/neo4j.sh install)')"
  return 3
}

import_dir() {
  local dir="${1:-}" was_running=0
  [ -n "$dir" ] && [ -f "$dir/import.sh" ] || die "no import.sh in '${dir}'" \
    "write the files first: hcsp ingest DUMP --neo4j-csv DIR"
  installed || install
  write_conf
  running_pid >/dev/null && { was_running=1; stop; }
  say "importing $dir into database neo4j (replacing it) ..."
  if ! PATH="$N4_HOME/bin:$PATH" bash "$dir/import.sh" >&2; then
    [ "$was_running" = 1 ] && start >/dev/null
    die "neo4j-admin import failed (its messages above)" \
      "check the files in $dir; rewrite them with hcsp ingest DUMP --neo4j-csv $dir"
  fi
  # Started again whether or not it ran before: the next step (hcsp graph migrate) needs it.
  [ "$was_running" = 1 ] || say "starting the server for \`hcsp graph migrate\`"
  start
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  env) print_env ;;
  admin) shift; admin "$@" ;;
  import) shift; import_dir "$@" ;;
  *) echo "usage: scripts/neo4j.sh install|start|stop|restart|status|env|import DIR|admin ARGS" >&2
     exit 2 ;;
esac
