import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFilter } from '../src/authorization/odata-filter.js';

// The $filter subset of the role definition and assignment lists
// (src/authorization/odata-filter.ts).

const ROLE_FILTERS = ['rolename', 'type', 'atscopeandbelow()'];
const ASSIGNMENT_FILTERS = ['atscope()', 'assignedto(v)', 'principalid'];

test('the filters az and the SDKs send are read term by term', () => {
  assert.deepEqual(parseFilter(undefined, ROLE_FILTERS), { eq: new Map(), calls: new Map() });
  assert.deepEqual(parseFilter("roleName eq 'Key Vault Secrets User'", ROLE_FILTERS).eq, new Map([['rolename', 'Key Vault Secrets User']]));
  const both = parseFilter("roleName eq 'It''s mine' and type eq 'CustomRole'", ROLE_FILTERS);
  assert.deepEqual(both.eq, new Map([['rolename', "It's mine"], ['type', 'CustomRole']]));
  assert.deepEqual(parseFilter('atScopeAndBelow()', ROLE_FILTERS).calls, new Map([['atscopeandbelow', '']]));
  const assigned = parseFilter(" atScope() AND assignedTo('0F1E2D3C-0000-4000-8000-000000000001') ", ASSIGNMENT_FILTERS);
  assert.deepEqual(assigned.calls, new Map([['atscope', ''], ['assignedto', '0F1E2D3C-0000-4000-8000-000000000001']]));
  assert.deepEqual(parseFilter("principalId EQ 'abc'", ASSIGNMENT_FILTERS).eq, new Map([['principalid', 'abc']]), 'operators in any case, as names');
  assert.deepEqual(parseFilter("assignedTo(  'abc'  )", ASSIGNMENT_FILTERS).calls, new Map([['assignedto', 'abc']]));
});

test('a term inside a quoted value is not read as a term', () => {
  const f = parseFilter("roleName eq 'x'' and type eq ''BuiltInRole'", ROLE_FILTERS);
  assert.deepEqual(f.eq, new Map([['rolename', "x' and type eq 'BuiltInRole"]]), 'one role name, no type');
  assert.equal(parseFilter("roleName eq 'atScopeAndBelow()'", ROLE_FILTERS).calls.size, 0);
});

test('anything else is refused with a 400', () => {
  const refused: Array<[string, string[]]> = [
    ["roleName eq 'a' or type eq 'CustomRole'", ROLE_FILTERS],
    ["roleName eq 'a' type eq 'CustomRole'", ROLE_FILTERS],
    ["roleName eq 'a' and roleName eq 'b'", ROLE_FILTERS],
    ["roleName eq 'unterminated", ROLE_FILTERS],
    ["roleName ne 'a'", ROLE_FILTERS],
    ["atScopeAndBelow('x')", ROLE_FILTERS],
    ['atScope()', ROLE_FILTERS],
    ['assignedTo()', ASSIGNMENT_FILTERS],
    ["principalId eq 'a' and", ASSIGNMENT_FILTERS],
    ["description eq 'a'", ASSIGNMENT_FILTERS],
    [`roleName eq '${'x'.repeat(1100)}'`, ROLE_FILTERS],
  ];
  for (const [f, allowed] of refused) {
    assert.throws(() => parseFilter(f, allowed), (e: { status?: number; message?: string }) => e.status === 400 && /is not supported/.test(e.message ?? ''), f);
  }
});
