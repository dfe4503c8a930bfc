/** Which of qemu's accelerators runs the VMs: KVM where the host virtualizes in hardware, else TCG (qemu's emulator, many times slower). */
import { existsSync, readdirSync } from 'node:fs';

export interface Accelerator {
  name: 'kvm' | 'tcg';
  /** Why this one, for the job log. */
  why: string;
}

/**
 * `choice` "kvm" or "tcg" is taken as it is; "auto" takes KVM where /dev/kvm is backed by hardware
 * virtualization (kvm_intel, kvm_amd). A /dev/kvm is not always enough: some hosts (nested sandboxes
 * with kvm_pvm) offer one that only runs guest kernels built for it, and a stock kernel crawls there.
 */
export function chooseAccelerator(choice: 'auto' | 'kvm' | 'tcg' = 'auto'): Accelerator {
  if (choice !== 'auto') return { name: choice, why: 'qemu.accelerator' };
  if (!existsSync('/dev/kvm')) return { name: 'tcg', why: 'no /dev/kvm' };
  if (existsSync('/sys/module/kvm_intel') || existsSync('/sys/module/kvm_amd')) return { name: 'kvm', why: '/dev/kvm with hardware virtualization' };
  const modules = existsSync('/sys/module') ? readdirSync('/sys/module').filter((name) => name.startsWith('kvm')) : [];
  return { name: 'tcg', why: `/dev/kvm is not hardware KVM here (loaded: ${modules.join(', ') || 'no kvm module'})` };
}

/** qemu's arguments for it. */
export function acceleratorArguments(accelerator: Accelerator): string[] {
  return accelerator.name === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
}
