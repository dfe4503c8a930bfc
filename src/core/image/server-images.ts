/** When the server builds an image of a build set: which configured images apply, and for which architectures. Pure. */

/** Whether a build set name matches a pattern of `[[images]] namespaces` (`*`: any characters). */
export function matchesNamePattern(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
  return regex.test(name);
}

/** The architectures of an iteration whose builds are all built (each has at least one build): its repository is complete there. */
export function completeArchitectures(builds: readonly { arch: string; state: string }[]): string[] {
  const byArch = new Map<string, boolean>();
  for (const b of builds) byArch.set(b.arch, (byArch.get(b.arch) ?? true) && b.state === 'built');
  return [...byArch].filter(([, complete]) => complete).map(([arch]) => arch).sort();
}
