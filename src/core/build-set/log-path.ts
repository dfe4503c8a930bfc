/** Where a local build's log is kept under the server's data_dir: written by `quarters build`, served by the API. */

/** The log's path relative to data_dir: logs/NAMESPACE/ITERATION/ARCH/PKGBASE.log (the driver's own logs in the directory of the same name). */
export function buildLogPath(namespace: string, iteration: number, arch: string, pkgbase: string): string {
  return `logs/${namespace}/${iteration}/${arch}/${pkgbase}.log`;
}
