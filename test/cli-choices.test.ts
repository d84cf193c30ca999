import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkChoice } from '../src/cli/choices.js';
import { closeMatches, similarity } from '../src/cli/close-matches.js';

// difflib's answers, from Python 3.11: SequenceMatcher(None, a, b).ratio() and get_close_matches(w, c, cutoff=0.7).
describe("az's invalid-choice check (core/parser.py _check_value)", () => {
  it("matches difflib's ratio and get_close_matches, ties to the greater string", () => {
    assert.equal(similarity('true', 'ture'), 0.75);
    assert.equal(similarity('get', 'gett'), 6 / 7);
    assert.equal(similarity('', ''), 1);
    assert.deepEqual(closeMatches('utf-16', ['utf-8', 'utf-16le', 'utf-16be', 'ascii'], 3, 0.7), ['utf-16le', 'utf-16be', 'utf-8']);
    assert.deepEqual(closeMatches('jsn', ['json', 'jsonc', 'yaml', 'yamlc', 'table', 'tsv', 'none'], 3, 0.7), ['json', 'jsonc']);
    // Case-sensitive, as difflib: 'True1' is 0.6667 from 'true'.
    assert.deepEqual(closeMatches('True1', ['true', 'false'], 3, 0.7), []);
    // autojunk (a word of 200 characters or more) as SequenceMatcher's.
    assert.equal(Math.round(similarity(`${'ab'.repeat(149)}c`, 'ab'.repeat(150)) * 1e4) / 1e4, 0.995);
  });

  it('takes any case and answers in the choice\'s spelling; else az\'s message, its suggestion and exit 2', () => {
    assert.equal(checkChoice('coffer keyvault update', '--bypass', 'azureservices', ['AzureServices', 'None']), 'AzureServices');
    assert.throws(
      () => checkChoice('coffer keyvault update', '--enable-rbac-authorization', 'flase', ['true', 'false']),
      (err: Error & { exitCode?: number; details?: string }) =>
        err.exitCode === 2 && err.message === "coffer keyvault update: 'flase' is not a valid value for '--enable-rbac-authorization'. Allowed values: true, false." && err.details === "Did you mean 'false' ?",
    );
    assert.throws(() => checkChoice('coffer', '--output', 'yes', ['true', 'false']), (err: Error & { details?: string }) => err.details === undefined);
  });
});
