/**
 * A copy of a tree with its owners moved into or out of the guests' id range (guest-ids.ts): what a
 * container in a user namespace can stack as its root, since overlayfs cannot be an idmapped root and
 * util-linux (2.38) cannot make idmapped lower layers.
 *
 * GNU tar copies it, with an owner and group map of every id the tree uses: it keeps hard links,
 * sparse files, ACLs and xattrs (file capabilities included, set after the owner so the chown does
 * not drop them), and setuid bits, which a chown in place would clear.
 */
import { describeEnd, runProcess } from '../../common/child-process.js';
import { GUEST_ID_COUNT } from '../guest-ids.js';

/**
 * 'into': host id N becomes base + N (ids of 65536 and above are refused: the guest cannot have them).
 * 'out of': base + N becomes N, other ids stay (nspawn's mount points in a layer are the host root's).
 */
export type IdShift = { into: number } | { outOf: number };

// $1 source, $2 destination (existing, empty), $3 'into' or 'out-of', $4 base, $5 a scratch directory for the maps.
const COPY_SHIFTED = `set -eu -o pipefail
for kind in U G; do
  find "$1" -xdev -printf "%$kind\\n" | sort -un | awk -v how="$3" -v base="$4" -v count=${GUEST_ID_COUNT} -v kind="$kind" '
    how == "into" && $1 >= count { print "the tree has " (kind == "U" ? "uid" : "gid") " " $1 ", beyond the guest ids 0-" count - 1 > "/dev/stderr"; exit 3 }
    how == "into" { print "+" $1 " :" $1 + base; next }
    $1 >= base && $1 < base + count { print "+" $1 " :" $1 - base }
  ' >"$5/$kind.map"
done
tar -C "$1" --numeric-owner --xattrs --xattrs-include='*' --acls --one-file-system --sparse --owner-map="$5/U.map" --group-map="$5/G.map" -cf - . |
  tar -C "$2" --numeric-owner --xattrs --xattrs-include='*' --acls -xpf -
`;

/** The command that copies `source` into the existing empty directory `destination` with its owners shifted (`scratch` holds the id maps). */
export function copyShiftedCommand(source: string, destination: string, shift: IdShift, scratch: string): string[] {
  const [how, base] = 'into' in shift ? ['into', shift.into] : ['out-of', shift.outOf];
  return ['bash', '-c', COPY_SHIFTED, 'copy-shifted', source, destination, how, String(base), scratch];
}

/** Copies `source` into the existing empty directory `destination` with its owners shifted; throws Error saying why not. */
export async function copyShifted(source: string, destination: string, shift: IdShift, scratch: string): Promise<void> {
  const [file, ...args] = copyShiftedCommand(source, destination, shift, scratch);
  const result = await runProcess(file!, args, { capture: true });
  const [how, base] = 'into' in shift ? ['into', shift.into] : ['out of', shift.outOf];
  if (result.exitCode !== 0) throw new Error(`cannot copy ${source} with its owners shifted ${how} the guests' ids at ${base} (${describeEnd(result)}): ${result.stderr.trim().split('\n').slice(-3).join('; ')}`);
}
