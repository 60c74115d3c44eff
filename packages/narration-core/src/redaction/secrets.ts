/**
 * Secret redaction for free text. Each rule is one regular expression built to run in linear
 * time on any input, adversarial included:
 *
 * - no nested quantifiers, and every repetition is over a character class, so a failed attempt
 *   can only backtrack within one run of that class;
 * - every rule that could start again inside its own match is anchored with a lookbehind that
 *   forbids starting in the middle of a run of token characters, so each run is scanned from
 *   one start only (the alphanumeric-token rule needs no anchor: see there);
 * - quoted values and URL parts are bounded ({0,512}), so a missing closing quote costs at most
 *   512 steps per keyword, not a rescan of the rest of the input;
 * - the private-key rule always succeeds once it starts (it ends at the END line or at the end
 *   of the input), so it never rescans.
 *
 * A cheap literal pre-check skips all of it for the common case of text without any trigger.
 */

export const REDACTED = '[REDACTED]';

/** A named rule: a cheap literal trigger, what it finds, and how the match is rewritten. */
interface RedactionRule {
  readonly name: string;
  /** Every match contains this; text without it skips the rule. */
  readonly trigger: RegExp;
  readonly pattern: RegExp;
  readonly replacement: string;
}

// PEM private key blocks (RFC 7468 section 2), PKCS#1/#8, OpenSSH, EC, encrypted and PGP blocks.
// An unterminated block is redacted to the end of the text: everything after a private-key
// header is key material.
const PEM_PRIVATE_KEY: RedactionRule = {
  name: 'pem-private-key',
  trigger: /-----BEGIN /,
  pattern:
    /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|$)/g,
  replacement: REDACTED,
};

// Userinfo password in a URL (RFC 3986 section 3.2.1 deprecates it; people still do it):
// scheme://user:password@host -> scheme://user:[REDACTED]@host
// The password runs to the last "@" before the path, so an unencoded "@" inside it is not left
// behind. Each attempt stops at the next "/", so attempts never overlap more than one authority.
const URL_PASSWORD: RedactionRule = {
  name: 'url-password',
  trigger: /:\/\//,
  pattern:
    /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^\s:@/?#]{0,256}:)[^\s/?#]{1,256}@/g,
  replacement: `$1${REDACTED}@`,
};

// An Authorization / Proxy-Authorization header value (RFC 9110 section 11.6.2), with or
// without an auth scheme in front of the credentials. The scheme is kept; it is not secret.
const AUTHORIZATION_HEADER: RedactionRule = {
  name: 'authorization-header',
  trigger: /authorization/i,
  pattern:
    /(?<![A-Za-z0-9-])((?:proxy-)?authorization["']?[ \t]*[:=][ \t]*["']?(?:[A-Za-z]{1,20}[ \t]{1,4})?)[^\s"',;]+/gi,
  replacement: `$1${REDACTED}`,
};

// Bearer (RFC 6750 section 2.1, b64token) and Basic (RFC 7617) credentials in free text.
// A credential is 8+ characters with a digit or a b64token symbol in it, or 20+ letters (an
// opaque all-letter token), so prose like "bearer authentication failed" is left alone.
const BEARER_OR_BASIC: RedactionRule = {
  name: 'bearer-token',
  trigger: /bearer|basic/i,
  pattern:
    /(?<![A-Za-z0-9])(bearer|basic)([ \t]+)(?=[A-Za-z0-9._~+/-]*[0-9._~+/-]|[A-Za-z]{20})[A-Za-z0-9._~+/-]{8,}=*/gi,
  replacement: `$1$2${REDACTED}`,
};

// JSON Web Tokens in compact form: a JWS (RFC 7515 section 7.1, header.payload.signature) or a
// JWE (RFC 7516 section 7.1, five parts, the second empty with "dir"). The header is a JSON
// object, so it starts with "eyJ" (base64url of '{"'); the other parts may be anything base64url
// (a JWS payload need not be JSON, a JWE's parts are ciphertext), so they are not required to.
const JWT: RedactionRule = {
  name: 'jwt',
  trigger: /eyJ/,
  pattern:
    /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}/g,
  replacement: REDACTED,
};

// Provider token formats whose prefix identifies them. Lengths follow the providers' documented
// formats; a shorter lookalike (a near miss) is left alone.
//
// Tokens whose body cannot contain their own prefix's separator ("_" or ".") are found anywhere,
// even glued to a preceding word ("tokenghp_..."): bodies of different matches never overlap, so
// the unbounded scan stays linear. (GOOG ids are upper-case runs: an attempt either takes the
// whole run or fails within 20 characters.)
const ALPHANUMERIC_TOKEN: RedactionRule = {
  name: 'provider-token',
  trigger: /A(?:KI|SI|BI|CC|GP|ID|IP|NP|NV|PK|RO|SC)A|GOOG|ya29\.|gh[pousr]_|hf_|npm_|whsec_/,
  pattern: new RegExp(
    [
      // AWS access key ids (long-term AKIA, temporary ASIA, and the other IAM unique-id kinds)
      '(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}(?![A-Z0-9])',
      // Google Cloud Storage HMAC access ids (GOOG1... for service accounts), and Google OAuth
      // access tokens (ya29.)
      'GOOG[A-Z0-9]{20,}',
      'ya29\\.[A-Za-z0-9_-]{20,}',
      // GitHub personal/OAuth/user-to-server/server-to-server/refresh tokens
      'gh[pousr]_[A-Za-z0-9]{36,}',
      // Hugging Face access tokens (model downloads), npm tokens, Stripe webhook secrets
      'hf_[A-Za-z0-9]{30,}',
      'npm_[A-Za-z0-9]{36,}',
      'whsec_[A-Za-z0-9]{24,}',
    ].join('|'),
    'g',
  ),
  replacement: REDACTED,
};

// Tokens whose body may contain "_" or "-" must start a word: otherwise "glpat-glpat-glpat-..."
// would rescan the rest of the run from every prefix (quadratic). Bodies are bounded as well.
const SEPARATED_TOKEN: RedactionRule = {
  name: 'provider-token',
  trigger: /AIza|github_pat_|gl[a-z]{2,5}-|xox[a-z]-|xapp-|hooks\.slack|sk-|[sr]k_/,
  pattern: new RegExp(
    [
      '(?<![A-Za-z0-9_-])(?:',
      [
        // Google API keys
        'AIza[A-Za-z0-9_-]{35}',
        // GitHub fine-grained personal access tokens
        'github_pat_[A-Za-z0-9_]{22,255}',
        // GitLab personal, deploy, runner, pipeline-trigger, feed, CI-job, OAuth-app, SCIM,
        // incoming-mail and agent tokens
        'gl(?:pat|dt|rt|ptt|ft|cbt|oas|soat|imt|agent)-[A-Za-z0-9_-]{20,255}',
        // Slack bot/user/app/config tokens, app-level tokens, and incoming-webhook URLs
        'xox[abposre]-[A-Za-z0-9-]{10,255}',
        'xapp-[0-9]-[A-Za-z0-9-]{10,255}',
        'hooks\\.slack\\.com/services/[A-Za-z0-9/_-]{10,255}',
        // OpenAI / Anthropic style secret keys (sk-..., sk-proj-..., sk-ant-...)
        'sk-[A-Za-z0-9_-]{20,255}',
        // Stripe secret and restricted keys
        '(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,255}',
      ].join('|'),
      ')(?![A-Za-z0-9_-])',
    ].join(''),
    'g',
  ),
  replacement: REDACTED,
};

// The value of a key/value pair: double-quoted (JSON), single-quoted, double-quoted inside an
// already JSON-encoded string (\"...\"), or a bare word. Quoted forms are bounded, so a missing
// closing quote costs at most 512 steps per keyword. The opening quote is captured ($2, $3, $4)
// so the replacement keeps the quotes: JSON stays valid, and redacting again changes nothing.
const QUOTED_VALUE = String.raw`(")(?:[^"\\\r\n]|\\.){0,512}"|(')(?:[^'\\\r\n]|\\.){0,512}'`;
const PAIR_VALUE = String.raw`(?:${QUOTED_VALUE}|(\\")[^"]{0,512}\\"|[^\s"',;&]+)`;
const PAIR_REPLACEMENT = `$1$2$3$4${REDACTED}$2$3$4`;
// Between key and value: an optional closing quote (escaped too), then =, :, := (Go) or =>
// (Ruby, PHP), with optional blanks around.
const PAIR_SEPARATOR = String.raw`\\?["']?[ \t]*(?::=|=>|[:=])[ \t]*`;
const SECRET_WORD = 'key|token|secret|password|passwd|passphrase|pass|pwd|credentials?';
/** In any case: it also triggers the camelCase rule ("dbPassword" holds "pass"). */
const SECRET_WORD_TRIGGER = /key|token|secret|pass|pwd|credential/i;

// key/token/secret/password = value. The keyword must start a word or follow `_`/`-`/`.`
// (api_key, x-api-key, db.password), or carry one of a few known prefixes (apikey,
// accesstoken): "monkey=1", "bypass=1" and "tokens_in=5" are not secrets.
const KEY_VALUE: RedactionRule = {
  name: 'key-value',
  trigger: SECRET_WORD_TRIGGER,
  pattern: new RegExp(
    `(?<![A-Za-z0-9])((?:api|access|secret|private|client|auth|session|refresh|id)?[_.-]?(?:${SECRET_WORD})${PAIR_SEPARATOR})${PAIR_VALUE}`,
    'gi',
  ),
  replacement: PAIR_REPLACEMENT,
};

// camelCase names with any prefix: dbPassword=, githubToken:, userSecret =>. Case-sensitive, so
// the capital letter marks the word boundary ("monkey=1" has none). "Pass" is left out here:
// firstPass / renderPass are rarely secrets.
const CAMEL_KEY_VALUE: RedactionRule = {
  name: 'key-value',
  trigger: SECRET_WORD_TRIGGER,
  pattern: new RegExp(
    `(?<=[a-z0-9])((?:Key|Token|Secret|Password|Passwd|Passphrase|Pwd|Credentials?)${PAIR_SEPARATOR})${PAIR_VALUE}`,
    'g',
  ),
  replacement: PAIR_REPLACEMENT,
};

// Command-line flags with the value after a space: --password hunter2, -token abc,
// --db-password "x". A value starting with "-" is the next flag, not a secret.
const FLAG_VALUE: RedactionRule = {
  name: 'flag-value',
  trigger: SECRET_WORD_TRIGGER,
  pattern: new RegExp(
    String.raw`(?<![^\s"'=])(--?(?:[A-Za-z0-9]{1,20}[_-]){0,4}(?:${SECRET_WORD})[ \t]+)(?:${QUOTED_VALUE}|[^\s"'-][^\s"']*)`,
    'gi',
  ),
  replacement: `$1$2$3${REDACTED}$2$3`,
};

// Cookie / Set-Cookie header values (RFC 6265 section 4): session cookies are credentials. The
// whole cookie list is redacted; the header name is kept.
const COOKIE_HEADER: RedactionRule = {
  name: 'cookie-header',
  trigger: /cookie/i,
  pattern:
    /(?<![A-Za-z0-9-])((?:set-)?cookie["']?[ \t]*[:=][ \t]*["']?)[^\s"',;]+(?:;[ \t]*[^\s"',;]+)*/gi,
  replacement: `$1${REDACTED}`,
};

/** Applied in this order: blocks first, then the specific formats, then the generic pairs. */
const RULES: readonly RedactionRule[] = [
  PEM_PRIVATE_KEY,
  URL_PASSWORD,
  AUTHORIZATION_HEADER,
  BEARER_OR_BASIC,
  JWT,
  ALPHANUMERIC_TOKEN,
  SEPARATED_TOKEN,
  COOKIE_HEADER,
  KEY_VALUE,
  CAMEL_KEY_VALUE,
  FLAG_VALUE,
];

// Every rule above needs its trigger to match, so text that no trigger matches skips all of them.
// The prefilter is built from the rules' own triggers, in two scans: the case-insensitive ones,
// then the case-sensitive ones. Measured on 80-90 character sentences: two scans cost ~80-210 ns,
// against more for one case-insensitive alternation of everything (/i on the literals makes V8 try
// far more start positions).
const [ANY_CASE_TRIGGER, EXACT_CASE_TRIGGER] = [true, false].map((anyCase) => {
  const triggers = RULES.filter((rule) => rule.trigger.flags.includes('i') === anyCase);
  const sources = new Set(triggers.map((rule) => `(?:${rule.trigger.source})`));
  return new RegExp([...sources].join('|'), anyCase ? 'i' : '');
}) as [RegExp, RegExp];

function mayContainSecret(text: string): boolean {
  return ANY_CASE_TRIGGER.test(text) || EXACT_CASE_TRIGGER.test(text);
}

/**
 * Returns `text` with every secret it recognises replaced by `[REDACTED]`. Linear time; safe on
 * untrusted input of any size. Idempotent: redacting twice gives the same text as once.
 */
export function redactSecrets(text: string): string {
  if (!mayContainSecret(text)) return text;
  let out = text;
  for (const rule of RULES) {
    if (rule.trigger.test(out)) out = out.replace(rule.pattern, rule.replacement);
  }
  return out;
}

/** True when `text` still contains something `redactSecrets` would remove. */
export function containsSecret(text: string): boolean {
  return redactSecrets(text) !== text;
}
