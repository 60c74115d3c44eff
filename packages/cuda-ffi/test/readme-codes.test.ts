import { readFileSync } from 'node:fs';
import { CUDA_FFI_ERROR_CODES } from '@vramseal/cuda-ffi';
import { expect, it } from 'vitest';

it('the README error table lists exactly CUDA_FFI_ERROR_CODES', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const errors = readme.slice(readme.indexOf('## Errors'), readme.indexOf('## Build notes'));
  const documented = [...errors.matchAll(/^\| `([A-Z_]+)` /gm)].map((match) => match[1]);
  expect(documented).toEqual([...CUDA_FFI_ERROR_CODES]);
});
