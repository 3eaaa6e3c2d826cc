#!/usr/bin/env bash
# Usage: OLD=/path/to/old/checkout NEW=/path/to/new/checkout [P=8] [CASES="sched:yield_many ..."] bash benches/before_after.sh
# Rows go to $OUT/raw.tsv: side, case, wall|cpu, runtime time, tokio time.
# Before/after, interleaved at the finest grain: for each case, P pairs of
# (old, new) invocations of the micro-benchmark binaries, the order flipping
# each pair; each invocation runs runtime beside tokio for 5 rounds.
set -u
OLD=${OLD:?the old tree, built: cargo build --release -p runtime-benches --bin sched --bin timers}
NEW=${NEW:?the new tree, built likewise}
P=${P:-8}
out=${OUT:-/tmp/before_after}; mkdir -p $out; : > $out/raw.tsv
run() { # side bin case
  dir=$OLD; [ $1 = new ] && dir=$NEW
  $dir/target/release/$2 --runtimes runtime,tokio --case $3 --rounds 5 2>/dev/null |
    awk -v side=$1 -v c=$3 'BEGIN{t="wall"} /^CPU time/{t="cpu"} $0 ~ "^\\| "c" " {gsub(/ /,""); split($0,a,"|"); print side"\t"c"\t"t"\t"a[3]"\t"a[4]}' >> $out/raw.tsv
}
CASES=${CASES:-sched:spawn_many sched:yield_many sched:ping_pong sched:chained_spawn sched:remote_spawn timers:sleeps_spread timers:insert_cancel timers:insert_cancel_parallel timers:interval_1ms timers:intervals_1ms_x1000}
for bc in $CASES; do
  b=${bc%%:*}; c=${bc#*:}
  for i in $(seq 1 $P); do
    if [ $((i % 2)) = 1 ]; then run old $b $c; run new $b $c; else run new $b $c; run old $b $c; fi
  done
  echo "$c done $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
done
