#!/usr/bin/env bash
# bench/job-mount.sh [ROUNDS] [DISK_MIB] (root): what a job mount adds to prepare and cleanup, median
# ms of ROUNDS. Without a disk limit: the workspace directory bound onto itself nosuid,nodev and build/
# bound at the build directory; with one (limits.disk_mib = DISK_MIB): a sparse image, mkfs.ext4 and a
# loop mount instead of the first bind. The same commands src/executor/job-mount.ts and job-disk.ts run.
set -euo pipefail
rounds=${1:-21}
size=${2:-10240}
dir=$(mktemp -d)
trap 'umount --lazy "$dir/b" "$dir/m" 2>/dev/null || true; rm -rf "$dir"' EXIT
now() { date +%s%N; }
since() { echo $((($(now) - $1) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for _ in $(seq "$rounds"); do
  mkdir -p "$dir/m" "$dir/b"
  start=$(now)
  mount --bind -o bind,nosuid,nodev "$dir/m" "$dir/m"
  mkdir -p "$dir/m/build" && mount --bind "$dir/m/build" "$dir/b"
  echo "bind-create $(since "$start")"
  start=$(now)
  umount --lazy "$dir/b" "$dir/m" && rm -rf "$dir/m" "$dir/b"
  echo "bind-remove $(since "$start")"

  mkdir -p "$dir/m" "$dir/b"
  start=$(now)
  truncate -s "${size}M" "$dir/img"
  mkfs.ext4 -q -F -O ^has_journal -m 0 -E lazy_itable_init=1,nodiscard "$dir/img"
  mount -t ext4 -o loop,nosuid,nodev,noatime,noinit_itable "$dir/img" "$dir/m"
  mkdir -p "$dir/m/build" && mount --bind "$dir/m/build" "$dir/b"
  echo "disk-create $(since "$start")"
  start=$(now)
  umount --lazy "$dir/b" "$dir/m" && rm -rf "$dir/m" "$dir/b" "$dir/img"
  echo "disk-remove $(since "$start")"
done >"$dir/times"

echo "job mount, median of $rounds rounds (disk: $size MiB), load average $(cut -d' ' -f1-3 /proc/loadavg):"
for what in bind-create bind-remove disk-create disk-remove; do
  echo "  $what: $(grep "^$what " "$dir/times" | cut -d' ' -f2 | median) ms"
done
