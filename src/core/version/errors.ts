/** The part of a version an error is about, where it is about one. */
export type VersionPart = 'epoch' | 'upstream' | 'release';

/** Version text a flavour cannot read; the message says what is wrong with which text. */
export class InvalidVersionError extends Error {
  constructor(
    readonly text: string,
    readonly reason: string,
    /** Which part is wrong (so that a recipe parser can point at the line that holds it); null for the whole text. */
    readonly part: VersionPart | null = null,
  ) {
    super(`invalid version '${text}': ${reason}`);
    this.name = 'InvalidVersionError';
  }
}
