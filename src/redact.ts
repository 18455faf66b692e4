// The key never leaves the process: everything written to stdout, stderr or --out passes
// through a Redactor that knows the key and replaces it with its masked fingerprint.

/** "cpk_…3f9a": the prefix up to its underscore and the last four characters. */
export function keyFingerprint(key: string | null | undefined): string | null {
  if (!key) return null;
  const prefix = /^[a-z]{2,4}_/i.exec(key)?.[0] ?? '';
  // Short keys would be half revealed by four characters: show only the length.
  if (key.length < 16) return `${prefix}…(${key.length} chars)`;
  return `${prefix}…${key.slice(-4)}`;
}

// Chutes key shapes (cpk_ API keys, cak_ OAuth tokens) and any Bearer token, wherever they appear.
const KEY_LIKE = /\bc[pa]k_[A-Za-z0-9._-]{8,}/g;
const BEARER = /\b(Bearer\s+)([A-Za-z0-9._~+/=-]{8,})/gi;
// A password in a URL's userinfo (a proxy URL, a mistyped --base-url): "http://user:***@host".
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)([^\s/@]+)@/gi;

/** A run this long copied out of a secret is masked wherever it appears (a server echoing part of the key). */
export const PARTIAL_RUN = 10;

/** Runs with fewer distinct characters than this (e.g. "0000000000") are too common to mean the key. */
const MIN_DISTINCT_IN_RUN = 4;

export class Redactor {
  private readonly secrets: Array<{ value: string; mask: string }> = [];
  /** Every PARTIAL_RUN-long substring of every secret of 16+ chars that is not low-entropy. */
  private readonly grams = new Set<string>();
  private gramPattern: RegExp | null = null;
  private readonly longSecrets: string[] = [];

  /** Registers a secret; its token after an auth scheme, and fragments of 12+ chars (a key split on "."), are masked too. */
  addSecret(secret: string | null | undefined): void {
    if (!secret) return;
    // "Bearer <token>" from -H: the bare token is the secret too, should a server echo it without the scheme.
    const token = /^[A-Za-z-]+\s+(\S{8,})$/.exec(secret.trim())?.[1];
    const mask = keyFingerprint(token ?? secret.trim()) ?? '…';
    const fragments = secret.split(/[.\s]/).filter((part) => part.length >= 12);
    // The trimmed key, never the raw one: masking a pasted key's trailing newline would eat a line break.
    const variants = new Set([secret.trim(), ...(token ? [token] : []), ...fragments]);
    for (const value of variants) {
      if (value.length >= 4 && !this.secrets.some((s) => s.value === value)) this.secrets.push({ value, mask });
    }
    // Longest first, so a whole key is masked before its fragments.
    this.secrets.sort((a, b) => b.value.length - a.value.length);
    const whole = (token ?? secret).trim();
    if (whole.length >= 16 && !this.longSecrets.includes(whole)) {
      this.longSecrets.push(whole);
      for (let i = 0; i + PARTIAL_RUN <= whole.length; i++) {
        const gram = whole.slice(i, i + PARTIAL_RUN);
        if (new Set(gram).size >= MIN_DISTINCT_IN_RUN) this.grams.add(gram);
      }
      const escaped = [...this.grams].map((gram) => gram.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
      this.gramPattern = escaped.length > 0 ? new RegExp(escaped.join('|'), 'g') : null;
    }
  }

  /** Masks maximal runs of PARTIAL_RUN+ characters that were copied out of a secret. */
  private maskPartialRuns(text: string): string {
    if (this.gramPattern === null || text.length < PARTIAL_RUN) return text;
    // One native regex scan finds the starts; only a hit is extended (text is mostly hit-free).
    const pattern = this.gramPattern;
    pattern.lastIndex = 0;
    let out = '';
    let copied = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const start = match.index;
      let end = start + PARTIAL_RUN;
      while (end < text.length && this.longSecrets.some((secret) => secret.includes(text.slice(start, end + 1)))) end++;
      out += `${text.slice(copied, start)}…`;
      copied = end;
      pattern.lastIndex = end;
    }
    return copied === 0 ? text : out + text.slice(copied);
  }

  redact(text: string): string {
    let out = text;
    for (const { value, mask } of this.secrets) {
      if (out.includes(value)) out = out.split(value).join(mask);
    }
    return this.maskPartialRuns(out)
      .replace(KEY_LIKE, (match) => keyFingerprint(match) ?? '…')
      .replace(BEARER, (_match, prefix: string, token: string) => `${prefix}${keyFingerprint(token) ?? '…'}`)
      .replace(URL_PASSWORD, '$1***@');
  }
}
