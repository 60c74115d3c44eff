// Cucumber runs from this folder (pnpm --filter @vramseal/features test). Step definitions and the
// World come from @vramseal/bdd-world, loaded through tsx so they run from TypeScript source.
export default {
  paths: ['*.feature'],
  import: ['support/steps.ts'],
  format: ['progress', 'junit:../reports/junit/cucumber.xml', 'html:../reports/cucumber.html'],
  strict: true,
};
