/**
 * The name of a prebuilt addon's folder: platform, CPU architecture and, on Linux, the C library
 * (`linux-x64-glibc`, `linux-arm64-musl`, `darwin-arm64`). The addon links cudart statically, so a
 * linux-x64 glibc build loads on any such machine; musl (Alpine) and other architectures (Grace
 * Hopper's linux-arm64) each need their own build.
 */
export function prebuildTag(): string {
  tag ??= `${process.platform}-${process.arch}${process.platform === 'linux' ? `-${linuxLibc()}` : ''}`;
  return tag;
}

let tag: string | undefined;

/** glibc reports its version in process.report's header; musl does not. (A report takes ~4 ms: once.) */
function linuxLibc(): 'glibc' | 'musl' {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } };
  return report?.header?.glibcVersionRuntime === undefined ? 'musl' : 'glibc';
}
