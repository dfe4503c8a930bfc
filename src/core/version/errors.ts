/** Version text a flavour cannot read; the message says what is wrong with which text. */
export class InvalidVersionError extends Error {
  constructor(readonly text: string, readonly reason: string) {
    super(`invalid version '${text}': ${reason}`);
    this.name = 'InvalidVersionError';
  }
}
