import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expandFileArguments } from '../src/cli/file-args.js';
import { cliHome, cliRunners } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// `@file` arguments as az 2.45 reads them before it parses a command line,
// compared with az's own _expand_file_prefixed_files run by Debian's python3.

/** What azure-cli-core makes of `args`. */
function azExpanded(args: string[]): string[] {
  const script = 'import json, sys\nfrom azure.cli.core.commands import _expand_file_prefixed_files\nprint(json.dumps(_expand_file_prefixed_files(json.loads(sys.argv[1]))))';
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, JSON.stringify(args)], { encoding: 'utf8' })) as string[];
}

describe('@file arguments, as az reads them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-file-args-'));
  const file = (name: string, bytes: Buffer | string) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };
  const utf16 = (text: string, bom: boolean, bigEndian = false) => {
    const le = Buffer.from(text, 'utf16le');
    const body = bigEndian ? Buffer.from(le).swap16() : le;
    return Buffer.concat([bom ? Buffer.from(bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]) : Buffer.alloc(0), body]);
  };

  it("reads each file as az does: UTF-8 (BOM dropped), UTF-16 by its BOM, else base64; trailing newlines dropped; an unreadable one left as it is", () => {
    const files = {
      text: file('text.txt', 'p@ss word\n\n'),
      crlf: file('crlf.txt', 'line one\r\nline two\r\n'),
      bom: file('bom.txt', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a": "é"}\n')])),
      le: file('le.txt', utf16('grüße ✓', true)),
      be: file('be.txt', utf16('grüße ✓', true, true)),
      bare16: file('bare16.txt', utf16('plain', false)),
      binary: file('binary.bin', Buffer.from([0xd8, 0x00, 0xff, 0x00, 0x80])),
      odd: file('odd.bin', Buffer.from([0xff, 0xfe, 0x41])),
      empty: file('empty.txt', ''),
      cutUtf8: file('cut-utf8.txt', Buffer.from([0x61, 0x62, 0x63, 0xe2, 0x82])),
      loneSurrogate: file('lone.txt', Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x00, 0xd8, 0x62, 0x00])),
      cutLead: file('cut-lead.txt', Buffer.from([0xe2, 0x82, 0x61, 0x62, 0x63])),
      surrogatesBoth: file('surrogates.bin', Buffer.from([0x00, 0xd8, 0x00, 0xd8, 0xd8, 0x00, 0xd8, 0x00, 0x41, 0x41])),
    };
    mkdirSync(join(dir, 'a-directory'));
    const args = [
      ...Object.values(files).map((f) => `@${f}`),
      `--value=@${files.text}`,
      `note=@${files.crlf}`,
      `a=b=@${files.text}`,
      `x@${files.text}`,
      '@',
      `@${join(dir, 'missing.txt')}`,
      `@${join(dir, 'a-directory')}`,
      '--name',
      'plain',
    ];
    assert.deepEqual(expandFileArguments(args), azExpanded(args));
  });

  it('@- reads standard input', () => {
    assert.deepEqual(expandFileArguments(['--value', '@-'], () => Buffer.from('from stdin\n')), ['--value', 'from stdin']);
  });

  describe('through the CLI', () => {
    let server: TestServer;
    let home: string;
    const { cli, json, signIn } = cliRunners(() => home);
    before(async () => {
      server = await startTestServer();
      home = cliHome();
      await signIn(server);
      await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
      await cli('keyvault', 'create', '-n', 'file-args-vault', '-g', 'rg', '-o', 'none');
    });
    after(() => server?.stop());

    it('keyvault secret set --value @file stores the file, and --tags k=@file a tag from one', async () => {
      const secret = file('secret.json', '{"username": "app", "password": "s3cret"}\n');
      const note = file('note.txt', 'rotated quarterly\n');
      await cli('keyvault', 'secret', 'set', '--vault-name', 'file-args-vault', '-n', 'from-file', '--value', `@${secret}`, '--tags', `note=@${note}`, '-o', 'none');
      const shown = await json('keyvault', 'secret', 'show', '--vault-name', 'file-args-vault', '-n', 'from-file');
      assert.equal(shown.value, '{"username": "app", "password": "s3cret"}');
      assert.equal(shown.tags.note, 'rotated quarterly');
      // A name that is no file stays as it is: the value is the text given.
      await cli('keyvault', 'secret', 'set', '--vault-name', 'file-args-vault', '-n', 'not-a-file', '--value', '@no-such-file', '-o', 'none');
      assert.equal((await json('keyvault', 'secret', 'show', '--vault-name', 'file-args-vault', '-n', 'not-a-file')).value, '@no-such-file');
    });
  });
});
