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

export class Redactor {
  private readonly secrets: Array<{ value: string; mask: string }> = [];

  /** Registers a secret; its token after an auth scheme, and fragments of 12+ chars (a key split on "."), are masked too. */
  addSecret(secret: string | null | undefined): void {
    if (!secret) return;
    // "Bearer <token>" from -H: the bare token is the secret too, should a server echo it without the scheme.
    const token = /^[A-Za-z-]+\s+(\S{8,})$/.exec(secret.trim())?.[1];
    const mask = keyFingerprint(token ?? secret.trim()) ?? '…';
    const fragments = secret.split(/[.\s]/).filter((part) => part.length >= 12);
    const variants = new Set([secret, secret.trim(), ...(token ? [token] : []), ...fragments]);
    for (const value of variants) {
      if (value.length >= 4 && !this.secrets.some((s) => s.value === value)) this.secrets.push({ value, mask });
    }
    // Longest first, so a whole key is masked before its fragments.
    this.secrets.sort((a, b) => b.value.length - a.value.length);
  }

  redact(text: string): string {
    let out = text;
    for (const { value, mask } of this.secrets) {
      if (out.includes(value)) out = out.split(value).join(mask);
    }
    return out
      .replace(KEY_LIKE, (match) => keyFingerprint(match) ?? '…')
      .replace(BEARER, (_match, prefix: string, token: string) => `${prefix}${keyFingerprint(token) ?? '…'}`)
      .replace(URL_PASSWORD, '$1***@');
  }
}
