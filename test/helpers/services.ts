// Tests that need a system service (PostgreSQL, Redis) run a private one from the Debian package's
// binaries. On a machine without the package (a fresh machine with only Node) those tests are
// skipped with the reason and the install command in their name, so `npm test` works there. CI
// installs the packages (.ci/run) and sets ALIGNKIT_REQUIRE_SERVICES=1: there a missing package
// fails the run instead of skipping, so the services' tests can never silently drop out of CI.

/** '' when `installed`; otherwise the skip reason to append to a suite's name, or a thrown error
 *  when ALIGNKIT_REQUIRE_SERVICES=1. */
export function serviceSkipReason(debianPackage: string, installed: boolean): string {
  if (installed) return '';
  const reason = `${debianPackage} is not installed: apt-get install -y ${debianPackage}`;
  if (process.env.ALIGNKIT_REQUIRE_SERVICES === '1') throw new Error(`${reason} (ALIGNKIT_REQUIRE_SERVICES=1 forbids skipping)`);
  console.warn(`skipping the tests that need ${debianPackage}: ${reason}`);
  return ` [SKIPPED: ${reason}]`;
}
