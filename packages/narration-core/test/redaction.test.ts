import { containsSecret, REDACTED, redactSecrets } from '@vramseal/narration-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Fake secrets are assembled from pieces so that no scanner mistakes this file for a leak.
const repeat = (s: string, n: number) => s.repeat(n);
const FAKE = {
  jwt: `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.${repeat('Qx7_', 8)}`,
  awsKeyId: `AKIA${'IOSFODNN7EXAMPLE'}`,
  awsSessionKeyId: `ASIA${repeat('Z9', 8)}`,
  googleKey: `AIza${repeat('Sy', 17)}x`,
  githubClassic: `ghp_${repeat('a1B2', 9)}`,
  githubOauth: `gho_${repeat('Zz09', 9)}`,
  githubFineGrained: `github_pat_${repeat('11ABCDEFG0', 3)}_${repeat('x', 30)}`,
  gitlab: `glpat-${repeat('Ab3-', 5)}`,
  slackBot: `xoxb-${'1234567890'}-${repeat('a1', 10)}`,
  slackWebhook: `https://hooks.slack.com/services/T000000/B000000/${repeat('X', 24)}`,
  openai: `sk-proj-${repeat('Ab9_', 10)}`,
  anthropic: `sk-ant-api03-${repeat('Qq1-', 10)}`,
  stripe: `sk_live_${repeat('4eC39Hq', 4)}`,
  huggingFace: `hf_${repeat('AbCdEfGh', 5)}`,
  npm: `npm_${repeat('a1b2c3', 6)}`,
  gcsHmacId: `GOOG1E${repeat('Q7ZK4', 11)}`,
  googleOauth: `ya29.a0Af${repeat('H6s-Mb_x', 5)}`,
  gitlabDeploy: `gldt-${repeat('Zx9_', 6)}`,
  gitlabRunner: `glrt-${repeat('t1_Q', 6)}`,
  slackApp: `xapp-1-A0${repeat('12345', 3)}-${repeat('ab12', 6)}`,
  stripeWebhook: `whsec_${repeat('Wh5ec', 6)}`,
};

describe('redactSecrets: each pattern redacts the secret and keeps the rest', () => {
  const cases: Array<[string, string, string]> = [
    // [name, input, secret that must disappear]
    ['bearer header', 'Authorization: Bearer abc.DEF-123_x', 'abc.DEF-123_x'],
    ['bearer in prose', 'retrying with bearer 0123456789abcdef now', '0123456789abcdef'],
    ['basic credentials', 'header Authorization: Basic dXNlcjpwYXNz', 'dXNlcjpwYXNz'],
    ['proxy-authorization', 'Proxy-Authorization: Negotiate YIIabc123', 'YIIabc123'],
    ['key=value', 'loaded api_key=abc123def from env', 'abc123def'],
    ['key: value', 'x-api-key: k-7788', 'k-7788'],
    ['camelCase apiKey', 'apiKey=zz9zz9', 'zz9zz9'],
    ['token=', 'session token=tok_abc;', 'tok_abc'],
    ['accessToken', 'accessToken = "at-123 456"', 'at-123 456'],
    ['secret in JSON', '{"client_secret":"s3cr3t-v@lue"}', 's3cr3t-v@lue'],
    ['escaped quote in JSON', '{"password":"a\\"b-c"}', 'b-c'],
    ['password single-quoted', "db.password = 'p@ss w0rd'", 'p@ss w0rd'],
    ['PASSWORD upper case', 'PASSWORD=Hunter2!', 'Hunter2!'],
    ['passphrase', 'passphrase: correct-horse', 'correct-horse'],
    ['credentials', 'credentials=aaa:bbb', 'aaa:bbb'],
    ['jwt', `got ${FAKE.jwt} back`, FAKE.jwt],
    ['url password', 'connect postgres://admin:s3cret@db:5432/app', 's3cret'],
    ['url password, https', 'GET https://user:p%40ss@example.com/x', 'p%40ss'],
    ['aws access key id', `key id ${FAKE.awsKeyId} used`, FAKE.awsKeyId],
    ['aws session key id', `(${FAKE.awsSessionKeyId})`, FAKE.awsSessionKeyId],
    ['google api key', `maps ${FAKE.googleKey}`, FAKE.googleKey],
    ['github classic token', `push with ${FAKE.githubClassic}`, FAKE.githubClassic],
    ['github oauth token', `oauth ${FAKE.githubOauth}.`, FAKE.githubOauth],
    ['github fine-grained', `pat ${FAKE.githubFineGrained}`, FAKE.githubFineGrained],
    ['gitlab token', `gitlab ${FAKE.gitlab}`, FAKE.gitlab],
    ['slack bot token', `slack ${FAKE.slackBot}`, FAKE.slackBot],
    ['slack webhook', `post to ${FAKE.slackWebhook}`, FAKE.slackWebhook.slice(8)],
    ['openai project key', `openai ${FAKE.openai}`, FAKE.openai],
    ['anthropic key', `anthropic ${FAKE.anthropic}`, FAKE.anthropic],
    ['stripe secret key', `stripe ${FAKE.stripe}`, FAKE.stripe],
    ['hugging face token', `hub login ${FAKE.huggingFace}`, FAKE.huggingFace],
    ['npm token', `//registry:_authToken ${FAKE.npm}`, FAKE.npm],
    ['github token glued to a word', `tokenghp_${'a1B2'.repeat(9)}`, 'a1B2'.repeat(9)],
    ['aws key id glued to a word', `MYKEY${FAKE.awsKeyId}`, FAKE.awsKeyId.slice(4)],
    ['hugging face token after underscore', `HF_TOKEN_${FAKE.huggingFace}`, FAKE.huggingFace],
    ['gcs hmac access id', `hmac ${FAKE.gcsHmacId} in use`, FAKE.gcsHmacId],
    ['google oauth access token', `gcloud ${FAKE.googleOauth}`, FAKE.googleOauth],
    ['gitlab deploy token', `deploy ${FAKE.gitlabDeploy}`, FAKE.gitlabDeploy],
    ['gitlab runner token', `runner ${FAKE.gitlabRunner}`, FAKE.gitlabRunner],
    ['slack app-level token', `socket ${FAKE.slackApp}`, FAKE.slackApp],
    ['stripe webhook secret', `verify ${FAKE.stripeWebhook}`, FAKE.stripeWebhook],
    // separators other than = and :
    ['Go-style :=', 'password := "hunter2"', 'hunter2'],
    ['Ruby/PHP-style =>', "{ :api_key => 'k-7788' }", 'k-7788'],
    ['JSON with a space before the colon', '{"token" : "t0k3n"}', 't0k3n'],
    // spellings
    ['pass=', 'user=app pass=hunter2 host=db', 'hunter2'],
    ['PASS upper case', 'PASS=hunter2', 'hunter2'],
    ['camelCase with any prefix', 'dbPassword=hunter2', 'hunter2'],
    ['camelCase token, JSON', '{"githubToken":"gt-1x"}', 'gt-1x'],
    ['camelCase secret =>', 'webhookSecret => s3cr3t', 's3cr3t'],
    [
      'AWS secret access key variable',
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG',
      'wJalrXUtnFEMI',
    ],
    ['double-encoded JSON', String.raw`body "{\"password\":\"hunter2 x\"}"`, 'hunter2'],
    // command-line flags
    ['--password value', 'ran db-cli --password hunter2 --verbose', 'hunter2'],
    ['--api-key "quoted value"', 'ran tool --api-key "my key 7" now', 'my key 7'],
    ['-token value', 'curl -token abc123', 'abc123'],
    // headers and other shapes
    ['cookie header', 'Cookie: session=abc123; theme=dark', 'abc123'],
    ['set-cookie header', 'Set-Cookie: sid=s3ss10n; Path=/; HttpOnly', 's3ss10n'],
    [
      'bearer with a letters-only token',
      'sent Bearer AbCdEfGhIjKlMnOpQrStUv',
      'AbCdEfGhIjKlMnOpQrStUv',
    ],
    ['url password containing @', 'GET https://user:p@ssw0rd@example.com/x', 'ssw0rd'],
    ['JWS with a non-JSON payload', 'tok eyJhbGciOiJIUzI1NiJ9.aGVsbG8.c2lnbmF0dXJl end', 'aGVsbG8'],
    [
      'JWE (five parts, empty key)',
      'jwe eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXYx.Y2lwaGVy.dGFn end',
      'Y2lwaGVy',
    ],
  ];

  it.each(cases)('%s', (_name, input, secret) => {
    const out = redactSecrets(input);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
    expect(containsSecret(input)).toBe(true);
  });

  it('keeps the key, scheme and surrounding words (exact outputs written by hand)', () => {
    expect(redactSecrets('Authorization: Bearer abc.DEF-123')).toBe(
      'Authorization: Bearer [REDACTED]',
    );
    expect(redactSecrets('loaded api_key=abc123 from env')).toBe(
      'loaded api_key=[REDACTED] from env',
    );
    expect(redactSecrets('connect postgres://admin:s3cret@db:5432/app')).toBe(
      'connect postgres://admin:[REDACTED]@db:5432/app',
    );
    expect(redactSecrets(`got ${FAKE.jwt} back`)).toBe('got [REDACTED] back');
  });

  it('keeps the quotes around a quoted value, so JSON stays valid', () => {
    expect(redactSecrets('{"client_secret":"s3 cr3t","n":1}')).toBe(
      '{"client_secret":"[REDACTED]","n":1}',
    );
    expect(redactSecrets("db.password = 'p@ss w0rd'")).toBe("db.password = '[REDACTED]'");
    expect(redactSecrets('ran tool --api-key "my key 7" now')).toBe(
      'ran tool --api-key "[REDACTED]" now',
    );
    expect(redactSecrets(String.raw`"{\"token\":\"t0k\"}"`)).toBe(
      String.raw`"{\"token\":\"[REDACTED]\"}"`,
    );
    // Found by the idempotency property: a quoted value glued to the next word.
    expect(redactSecrets("token:''token")).toBe("token:'[REDACTED]'token");
    expect(redactSecrets("token:'[REDACTED]'token")).toBe("token:'[REDACTED]'token");
  });

  it('redacts PEM private key blocks of every kind, including line breaks inside', () => {
    for (const kind of ['', 'RSA ', 'EC ', 'OPENSSH ', 'ENCRYPTED ', 'PGP ']) {
      const end = kind === 'PGP ' ? ' BLOCK' : '';
      const block = `-----BEGIN ${kind}PRIVATE KEY${end}-----\nMIIEvQIBADANBg\nkqhkiG9w0BAQEF\n-----END ${kind}PRIVATE KEY${end}-----`;
      const out = redactSecrets(`key file: ${block} (loaded)`);
      expect(out).not.toContain('MIIEvQIBADANBg');
      expect(out).not.toContain('kqhkiG9w0BAQEF');
      expect(out).toContain('(loaded)');
    }
  });

  it('redacts everything after a private key header that never ends', () => {
    const out = redactSecrets('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq and more key');
    expect(out).toBe(REDACTED);
  });

  it('redacts a PEM key written with escaped newlines inside JSON', () => {
    const json =
      '{"private_key":"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADAN\\n-----END PRIVATE KEY-----\\n"}';
    expect(redactSecrets(json)).not.toContain('MIIEvQIBADAN');
  });
});

describe('redactSecrets: near misses are left alone', () => {
  const nearMisses = [
    'bearer authentication failed for the upstream',
    'Bearer token expired; refreshing',
    'basic configuration loaded',
    'authorization failed for user 7',
    'see https://hooks.slack.com/services/ for setup',
    'monkey=banana',
    'keyboard: us-intl',
    'tokens_in=512 tokens_out=128',
    'max_tokens: 4096',
    'tokenizer=bpe',
    'the password rotation is scheduled for tomorrow',
    'secrets are stored in the vault',
    'eyJhbGciOiJIUzI1NiJ9 is only a header',
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQY\n-----END PUBLIC KEY-----',
    '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----',
    'fetch https://example.com:8443/models/llama',
    'clone https://user@example.com/repo.git',
    `AKIA${'ABCDEFGHIJKLMNO'} has 15 characters after the prefix`,
    `AKIA${'ABCDEFGHIJKLMNOPQ'} has 17`,
    'ghp_short is not a token',
    'sk-learn is a library',
    `task-${'0123456789abcdefghijklmnop'} is a task id, not an sk- key`,
    `risk_live_${'0123456789abcdefgh'} is not a Stripe key`,
    'hf_hub_download fetched the weights',
    'npm_config_cache is set',
    'xoxb-123 is too short',
    'glpat-short',
    'sk_live_short',
    'AIzaShort',
    'a plain sentence about sealing shard 3 on GPU0 in 412 ms.',
    // near misses of the separators, spellings, flags and shapes above
    'bypass=true compass=north passing=3 passes=2',
    'password_policy=strict token_count=3 tokenCount=3 keyId=abc',
    'maxTokens=4096 numTokens: 5',
    'firstPass=done',
    'tool --password --verbose',
    'use --token-file /etc/token for it',
    're-pass tests and non-token input',
    'cookies are nice; cookie-policy=strict',
    'bearer of internationalization',
    'Bearer abcdefghijklmnopqrs has 19 letters',
    'GOOGLE_CLOUD_PROJECT is set',
    'version ya29.1 released',
    'glab-cli-v2 installed',
    'whsec_short',
    'xapp-1-short',
    'eyJhbGciOiJIUzI1NiJ9. Then the next sentence.',
    'the password = ',
  ];

  it.each(nearMisses)('%s', (text) => {
    expect(redactSecrets(text)).toBe(text);
    expect(containsSecret(text)).toBe(false);
  });
});

describe('redactSecrets: properties', () => {
  const fragments = [
    'token',
    'key',
    'secret',
    'password',
    '=',
    ':',
    ' ',
    '"',
    "'",
    '\\',
    '//',
    '@',
    '.',
    '-',
    '_',
    'Bearer ',
    'eyJ',
    'abc123',
    'x://',
    '-----BEGIN PRIVATE KEY-----',
    '-----END PRIVATE KEY-----',
    'ghp_',
    'a1B2'.repeat(9),
    'AKIA',
    'ABCDEFGHIJ123456',
    '\n',
    // the separators, spellings and shapes of the wider rules
    'Key',
    'Token',
    'pass',
    'Cookie: ',
    ';',
    '=>',
    ':=',
    '--',
    '\\"',
    'GOOG',
    'ya29.',
    'xapp-1-',
  ];
  const messy = fc.array(fc.constantFrom(...fragments), { maxLength: 40 }).map((p) => p.join(''));

  it('is idempotent: redacting twice is the same as once', () => {
    fc.assert(
      fc.property(fc.oneof(messy, fc.string({ maxLength: 200 })), (text) => {
        const once = redactSecrets(text);
        expect(redactSecrets(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('removes a provider token wherever it sits between other words', () => {
    const tokens = Object.values(FAKE).filter((t) => !t.startsWith('https://'));
    fc.assert(
      fc.property(messy, fc.constantFrom(...tokens), messy, (before, token, after) => {
        expect(redactSecrets(`${before} ${token} ${after}`)).not.toContain(token);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('redactSecrets: linear time on adversarial input', () => {
  const MB = 1024 * 1024;
  const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
  const adversarial: Record<string, string> = {
    'JWT prefixes': fill('eyJ-'),
    'JWT, two segments then junk': fill('eyJaa.eyJbb-'),
    'unterminated quotes after keywords': fill('token="'),
    'keyword, separator, spaces': fill('password=   '),
    'URL userinfo look-alikes': fill('a://a:'),
    'bearer and spaces': fill('bearer '),
    'token prefixes': fill('ghp_aaaa '),
    'a long token run': `ghp_${'a'.repeat(MB)}`,
    'repeated AWS prefixes': fill('AKIA'),
    'repeated separated prefixes': fill('glpat-'),
    'hugging face prefixes and short bodies': fill('hf_abc'),
    'private key headers': fill('-----BEGIN PRIVATE KEY-----'),
    'ANSI-free control soup': fill('\u0000\u001b['),
    'flags without values': fill('--password '),
    'flag prefixes': fill('--a-b-c-d-e-token'),
    'camelCase keys and escaped quotes': fill('aKey=\\"'),
    'Go-style separators and open quotes': fill('token:="'),
    'cookie lists': fill('Cookie: a;'),
    'GOOG prefixes': fill('GOOG'),
    'JWT header and dots': fill('eyJa..'),
    'URL userinfo with @': fill('a://a:@@'),
    'bearer and 19 letters': fill('bearer aaaaaaaaaaaaaaaaaaa!'),
    'authorization headers, scheme and no value': fill('Authorization: Basic '),
  };

  it.each(Object.entries(adversarial))(
    '%s (1 MB) redacts in well under 100 ms (median of 5 runs)',
    (_name, text) => {
      const times: number[] = [];
      for (let run = 0; run < 5; run++) {
        const start = performance.now();
        redactSecrets(text);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      expect(times[2]).toBeLessThan(100);
    },
  );
});
