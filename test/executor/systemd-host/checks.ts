/**
 * What the systemd-host VM checks: one title per check, shared by the program that runs in the VM
 * (guest.ts) and the host test that boots it (../systemd-host.test.ts).
 */
export const CHECKS = {
  systemd: 'systemd is PID 1 in the VM and machined answers on the bus',
  container: 'a build step runs in a container: its hostname is the machine name, not the VM\'s, and its PID 1 is not systemd',
  registered: 'the container is registered with machined while the step runs',
  limits: 'the step\'s processes run in the machine\'s scope, which has MemoryMax and CPUQuota from [limits]',
  output: 'the step writes into the project directory and its output reaches the job log',
  failure: 'a failing step exits with BUILD_FAILURE_EXIT_CODE and fails the job',
  cleanup: 'after the job\'s cleanup no machine is registered and no process, mount or workspace is left',
  sigterm: 'SIGTERM to run mid-build stops the container: run exits with BUILD_FAILURE_EXIT_CODE, the machine and its processes are gone, cleanup removes the rest',
  killed: 'after kill -9 of the executor and its runner mid-build, the container runs on in its scope, still registered',
  stale: 'cleanup --stale terminates the machine of the killed job and removes its workspace; nothing is left',
} as const;
