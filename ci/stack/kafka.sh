# shellcheck shell=bash
# Component "kafka": Apache Kafka in KRaft mode, one node that is both broker
# (PLAINTEXT 127.0.0.1:9092) and controller (127.0.0.1:9093), run from the Maven
# Central jars listed in ci/stack/kafka-pom.xml with the machine's Java.
#
# Layout: .local/kafka/{server.properties,log4j2.properties,cluster.id,data/,log/server.log},
# pid in .local/run/kafka.pid; jars in $CACHE/kafka-<version>/libs.

KAFKA_AREA=$LOCAL/kafka
KAFKA_DATA=$KAFKA_AREA/data
KAFKA_LOG=$KAFKA_AREA/log/server.log
KAFKA_PID=$RUN/kafka.pid
KAFKA_MAIN=kafka.Kafka

kafka_where() { echo "$KAFKA_BROKERS, controller $KAFKA_HOST:$KAFKA_CONTROLLER_PORT"; }
kafka_log() { echo "$KAFKA_LOG"; }

# kafka_tool CLASS ARGS...: run a Kafka command-line tool from the cached jars.
kafka_tool() {
	local class=$1
	shift
	java -Xmx256m -XX:TieredStopAtLevel=1 -Xshare:auto \
		-Dlog4j2.configurationFile="$KAFKA_AREA/tools-log4j2.properties" \
		-cp "$KAFKA_LIBS/*" "$class" "$@"
}

# kafka_answers: the broker answers a metadata request with a controller and
# itself (ci/stack/kafka_ping.py: milliseconds, where a JVM tool takes seconds).
kafka_answers() {
	port_open "$KAFKA_HOST" "$KAFKA_PORT" || return 1
	if command -v python3 >/dev/null 2>&1; then
		python3 "$STACK_DIR/kafka_ping.py" "$KAFKA_BROKERS" 5 >/dev/null 2>&1
		return
	fi
	timeout 60 java -Xmx128m -XX:TieredStopAtLevel=1 \
		-Dlog4j2.configurationFile="$KAFKA_AREA/tools-log4j2.properties" \
		-cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand \
		--bootstrap-server "$KAFKA_BROKERS" --list >/dev/null 2>&1
}

kafka_pid() {
	local pid
	pid=$(pid_from "$KAFKA_PID") || return 1
	pid_alive "$pid" "$KAFKA_MAIN" || return 1
	printf '%s' "$pid"
}

kafka_status() {
	[[ -f $KAFKA_LIBS/.complete ]] || return 1
	kafka_pid >/dev/null && kafka_answers
}

# kafka_fetch: copy the broker's jars from Maven Central into the cache, once.
kafka_fetch() {
	[[ -f $KAFKA_LIBS/.complete ]] && return 0
	if ! command -v mvn >/dev/null 2>&1; then
		apt_install kafka maven || return
	fi
	local pom_version
	pom_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$STACK_DIR/kafka-pom.xml")
	if [[ $pom_version != "$KAFKA_VERSION" ]]; then
		fail kafka "" "ci/stack/kafka-pom.xml has kafka.version $pom_version but ci/stack/common.sh has KAFKA_VERSION $KAFKA_VERSION"
		return
	fi
	local tmp=$KAFKA_LIBS.tmp.$$ mvnlog=$CACHE/kafka-$KAFKA_VERSION/mvn.log
	mkdir -p "$tmp"
	say kafka "fetching Kafka $KAFKA_VERSION jars with Maven into $KAFKA_LIBS (log $mvnlog)"
	if ! mvn -B -q -f "$STACK_DIR/kafka-pom.xml" dependency:copy-dependencies \
		-DoutputDirectory="$tmp" >"$mvnlog" 2>&1; then
		rm -rf "$tmp"
		fail kafka "$mvnlog" "mvn dependency:copy-dependencies failed"
		return
	fi
	rm -rf "$KAFKA_LIBS"
	mv "$tmp" "$KAFKA_LIBS"
	date -u +%FT%TZ >"$KAFKA_LIBS/.complete"
}

kafka_config() {
	mkdir -p "$KAFKA_AREA/log" "$KAFKA_DATA" "$RUN"
	cat >"$KAFKA_AREA/server.properties" <<EOF
# Written by ci/stack/kafka.sh on every start; edit that file, not this one.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA

auto.create.topics.enable=true
delete.topic.enable=true
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Fewer internal partitions than the default 50: one small machine.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
num.network.threads=3
num.io.threads=4
log.retention.hours=168
EOF
	cat >"$KAFKA_AREA/log4j2.properties" <<'EOF'
# Written by ci/stack/kafka.sh: the broker logs to stdout, which is .local/kafka/log/server.log.
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d{ISO8601}{UTC}Z] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
	cat >"$KAFKA_AREA/tools-log4j2.properties" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
EOF
}

# kafka_format: format the storage directory on first start.
kafka_format() {
	[[ -f $KAFKA_DATA/meta.properties ]] && return 0
	local id
	if [[ ! -s $KAFKA_AREA/cluster.id ]]; then
		id=$(kafka_tool kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG") ||
			{
				fail kafka "$KAFKA_LOG" "kafka-storage random-uuid failed"
				return
			}
		echo "$id" >"$KAFKA_AREA/cluster.id"
	fi
	id=$(<"$KAFKA_AREA/cluster.id")
	say kafka "formatting storage $KAFKA_DATA (cluster id $id)"
	kafka_tool kafka.tools.StorageTool format --ignore-formatted -t "$id" \
		-c "$KAFKA_AREA/server.properties" >>"$KAFKA_LOG" 2>&1 ||
		fail kafka "$KAFKA_LOG" "kafka-storage format failed"
}

kafka_start() {
	need_java kafka || return
	kafka_fetch || return
	kafka_config
	local pid
	if pid=$(kafka_pid); then
		# Maybe busy (a loaded machine) or still recovering: wait before a restart.
		say kafka "running (pid $pid) but not answering; waiting up to ${KAFKA_START_TIMEOUT}s before restarting it"
		local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
		while ((SECONDS < deadline)); do
			kafka_answers && return 0
			pid_alive "$pid" "$KAFKA_MAIN" || break
			sleep 2
		done
		stop_pid kafka "$pid" 30
	fi
	rm -f "$KAFKA_PID"
	local port
	for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
		if port_open "$KAFKA_HOST" "$port"; then
			fail kafka "" "port $KAFKA_HOST:$port is taken by another process: $(ss -ltnpH "sport = :$port" 2>/dev/null | head -1)"
			return
		fi
	done
	rotate_log "$KAFKA_LOG"
	kafka_format || return
	say kafka "starting Kafka $KAFKA_VERSION on $KAFKA_BROKERS (log $KAFKA_LOG)"
	# setsid: its own process group, so `make down` stops it and nothing else.
	# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS is a list of JVM flags
	setsid nohup java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
		-Dlog4j2.configurationFile="$KAFKA_AREA/log4j2.properties" \
		-Dkafka.logs.dir="$KAFKA_AREA/log" \
		-cp "$KAFKA_LIBS/*" "$KAFKA_MAIN" "$KAFKA_AREA/server.properties" \
		>>"$KAFKA_LOG" 2>&1 </dev/null 9>&- &
	pid=$!
	echo "$pid" >"$KAFKA_PID"
	say kafka "waiting up to ${KAFKA_START_TIMEOUT}s for a metadata answer (pid $pid)"
	local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
	while ((SECONDS < deadline)); do
		if ! pid_alive "$pid"; then
			rm -f "$KAFKA_PID"
			fail kafka "$KAFKA_LOG" "the broker exited during startup"
			return
		fi
		kafka_answers && return 0
		sleep 1
	done
	fail kafka "$KAFKA_LOG" "no metadata answer from $KAFKA_BROKERS within ${KAFKA_START_TIMEOUT}s (pid $pid still running)"
}

kafka_stop() {
	local pid
	pid=$(kafka_pid) || {
		rm -f "$KAFKA_PID"
		return 0
	}
	stop_pid kafka "$pid" 60
	rm -f "$KAFKA_PID"
}
