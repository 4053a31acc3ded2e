import { checksumMatches, migrationChecksum, targetSchema } from './migration-runner';

describe('migration checksums (as prisma-engines schema-connector/src/checksum.rs)', () => {
  it('is the zero-padded lower-case sha256 hex of the script (Prisma’s own test vector)', () => {
    expect(migrationChecksum('hello')).toBe(
      '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    );
    expect(migrationChecksum('abcd')).toHaveLength(64);
  });

  it('hashes the script as written: CRLF and LF files get different checksums', () => {
    expect(migrationChecksum('a\r\nb')).not.toBe(migrationChecksum('a\nb'));
  });

  it('matches regardless of line endings, as Prisma does on comparison', () => {
    // The cases of Prisma's script_matches_checksum_is_line_ending_agnostic test.
    const groups = [
      ['ab\ncd\nef\ngh\rab', 'ab\r\ncd\r\nef\r\ngh\rab'],
      ['ab\ncd\nef\ngh\rab\n', 'ab\r\ncd\r\nef\r\ngh\rab\r\n'],
    ];
    for (const group of groups) {
      for (const script of group) {
        for (const other of group)
          expect(checksumMatches(script, migrationChecksum(other))).toBe(true);
      }
    }
  });

  it('does not match another script', () => {
    expect(checksumMatches('abc', migrationChecksum('abcd'))).toBe(false);
    expect(checksumMatches('abc\n', migrationChecksum('abc'))).toBe(false);
  });

  it('accepts records written by old engines that did not zero-pad bytes (prisma-engines#1887)', () => {
    const digest = Buffer.from(migrationChecksum('hello'), 'hex');
    const legacy = Array.from(digest, (b) => b.toString(16)).join('');
    expect(legacy.length).toBeLessThan(64);
    expect(checksumMatches('hello', legacy)).toBe(true);
    expect(checksumMatches('hello!', legacy)).toBe(false);
  });
});

describe('targetSchema', () => {
  it('reads ?schema= like Prisma, else public', () => {
    expect(targetSchema('postgresql://u@h:5432/db?schema=ledger')).toBe('ledger');
    expect(targetSchema('postgresql://u@h:5432/db')).toBe('public');
    expect(targetSchema('host=/tmp dbname=x')).toBe('public');
  });
});
