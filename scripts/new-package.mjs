// One-off scaffolder kept for the next package: writes the publishable package.json shape every
// @vramseal package shares. Usage: node scripts/new-package.mjs <name> "<one-line job>"
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

const [name, description] = process.argv.slice(2);
if (!name || !description) {
  console.error('usage: node scripts/new-package.mjs <name> "<one-line job>"');
  process.exit(2);
}
const dir = `packages/${name}`;
if (existsSync(`${dir}/package.json`)) {
  console.error(`${dir}/package.json exists; refusing to overwrite`);
  process.exit(1);
}
mkdirSync(`${dir}/src`, { recursive: true });
mkdirSync(`${dir}/test`, { recursive: true });
const pkg = {
  name: `@vramseal/${name}`,
  version: '0.1.0',
  description,
  license: 'Apache-2.0',
  type: 'module',
  repository: {
    type: 'git',
    url: 'git+https://github.com/vramseal/vramseal.git',
    directory: dir,
  },
  engines: { node: '>=20.19' },
  exports: {
    '.': {
      '@vramseal/source': './src/index.ts',
      types: './dist/index.d.ts',
      default: './dist/index.js',
    },
    './package.json': './package.json',
  },
  main: './dist/index.js',
  types: './dist/index.d.ts',
  files: ['dist', 'README.md', 'CHANGELOG.md'],
  sideEffects: false,
  scripts: {
    build: 'tsc -p tsconfig.build.json',
    typecheck: 'tsc -p tsconfig.json --noEmit',
    test: 'vitest run',
    bench: 'node --conditions=@vramseal/source --import tsx bench/index.ts',
  },
  dependencies: {},
  devDependencies: {},
};
writeFileSync(`${dir}/package.json`, `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  `${dir}/tsconfig.json`,
  `${JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { noEmit: true }, include: ['src', 'test', 'bench', 'vitest.config.ts'] }, null, 2)}\n`,
);
writeFileSync(
  `${dir}/tsconfig.build.json`,
  `${JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist', customConditions: [] }, include: ['src'] }, null, 2)}\n`,
);
writeFileSync(
  `${dir}/vitest.config.ts`,
  `import { packageTestConfig } from '../../vitest.shared.js';\n\nexport default packageTestConfig('${name}');\n`,
);
writeFileSync(`${dir}/src/index.ts`, 'export {};\n');
console.log(`created ${dir}`);
